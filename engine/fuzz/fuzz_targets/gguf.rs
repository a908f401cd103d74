//! A GGUF file: any bytes load as a model or give a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = std::env::temp_dir().join(format!("dream-fuzz-{}.gguf", std::process::id()));
    std::fs::write(&file, data).unwrap();
    let _ = dream_engine::Dream::load(&file, &dream_engine::candle_core::Device::Cpu, None);
});
