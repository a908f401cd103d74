//! The commands the UI may invoke.

use serde::Serialize;

use crate::error::CommandError;

/// What the engine in this build can do.
#[derive(Debug, Serialize)]
pub struct EngineInfo {
    pub version: &'static str,
    pub cuda: bool,
    pub metal: bool,
}

#[tauri::command]
pub fn engine_info() -> Result<EngineInfo, CommandError> {
    Ok(EngineInfo {
        version: env!("CARGO_PKG_VERSION"),
        cuda: dream_engine::candle_core::utils::cuda_is_available(),
        metal: dream_engine::candle_core::utils::metal_is_available(),
    })
}
