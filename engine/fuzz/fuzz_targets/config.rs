//! config.json: any bytes give a config or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dream_engine::DreamConfig::from_json_str(&String::from_utf8_lossy(data), std::path::Path::new("config.json"));
});
