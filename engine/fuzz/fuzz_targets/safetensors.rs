//! model.safetensors: a copy of the fixture checkpoint with this file replaced by the input loads or
//! gives a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("dream-fuzz-safetensors-{}", std::process::id()));
    if !dir.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let fixture = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/dream-tiny"));
        for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"] {
            std::fs::copy(fixture.join(f), dir.join(f)).unwrap();
        }
    }
    std::fs::write(dir.join("model.safetensors"), data).unwrap();
    let _ = dream_engine::Dream::load(&dir, &dream_engine::candle_core::Device::Cpu, None);
});
