//! A request as the app or `dream infill --request` receives it: parsed and prepared on the
//! built-in demo model, or refused with a typed error.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static DEMO: OnceLock<dream_engine::Dream> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let demo = DEMO.get_or_init(|| dream_engine::demo::demo(&dream_engine::candle_core::Device::Cpu).unwrap());
    if let Ok(request) = serde_json::from_slice::<dream_engine::InfillRequest>(data) {
        let _ = demo.prepare(&request);
    }
});
