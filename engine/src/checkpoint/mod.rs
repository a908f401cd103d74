//! One way in for a model on disk: a checkpoint folder in the Hugging Face layout, or a `.gguf`
//! file. The engine's loader, `dream bench` and the app's memory estimate all open models here.

pub mod gguf;
pub(crate) mod gguf_header;
pub mod quantize;
pub(crate) mod read;
pub mod weights;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};

use crate::checkpoint::gguf::{is_gguf, GgufFile};
use crate::checkpoint::weights::{weight_files, Weights};
use crate::error::{Error, Result};
use crate::model::config::DreamConfig;
use crate::tokenizer::DreamTokenizer;

/// An opened model: its config, and where its weights are (read only when asked for).
///
/// ```
/// # fn main() -> dream_engine::Result<()> {
/// use dream_engine::checkpoint::Checkpoint;
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
/// let ckpt = Checkpoint::open(&dir)?;
/// assert_eq!(ckpt.config().vocab_size, 1000);
/// // f32 weights: four bytes each.
/// assert_eq!(ckpt.weights_bytes(candle_core::DType::F32), ckpt.config().parameter_count() as u64 * 4);
/// # Ok(()) }
/// ```
pub enum Checkpoint {
    Folder { dir: PathBuf, config: DreamConfig, files: Vec<PathBuf> },
    Gguf { file: GgufFile, config: DreamConfig },
}

impl Checkpoint {
    /// Opens `path`: a `.gguf` file, or a folder with `config.json` and safetensors weights.
    pub fn open(path: &Path) -> Result<Self> {
        if is_gguf(path) {
            let file = GgufFile::open(path)?;
            let config = file.config()?;
            return Ok(Checkpoint::Gguf { file, config });
        }
        if !path.is_dir() {
            return Err(Error::ModelDirMissing(path.to_owned()));
        }
        let config = DreamConfig::from_file(&path.join("config.json"))?;
        Ok(Checkpoint::Folder { dir: path.to_owned(), files: weight_files(path)?, config })
    }

    pub fn config(&self) -> &DreamConfig {
        match self {
            Checkpoint::Folder { config, .. } | Checkpoint::Gguf { config, .. } => config,
        }
    }

    /// Bytes the weights take once loaded to compute in `dtype` (a GGUF file's quantized
    /// matrices stay as stored).
    pub fn weights_bytes(&self, dtype: DType) -> u64 {
        match self {
            Checkpoint::Folder { config, .. } => config.parameter_count() as u64 * dtype.size_in_bytes() as u64,
            Checkpoint::Gguf { file, .. } => file.weights_bytes(dtype),
        }
    }

    /// The tokenizer: the folder's files, or the one inside a GGUF file (else tokenizer files
    /// beside it).
    pub fn tokenizer(&self) -> Result<DreamTokenizer> {
        match self {
            Checkpoint::Folder { dir, config, .. } => DreamTokenizer::from_dir(dir, config),
            Checkpoint::Gguf { file, config } => match file.tokenizer(config) {
                Ok(t) => Ok(t),
                Err(in_file) => match file.path.parent().filter(|d| crate::tokenizer::tokenizer_files(d).is_some()) {
                    Some(dir) => DreamTokenizer::from_dir(dir, config),
                    None => Err(in_file),
                },
            },
        }
    }

    /// The weights, to compute in `dtype` on `device` (read tensor by tensor as the model is
    /// built).
    pub fn weights(self, dtype: DType, device: &Device) -> Result<Weights> {
        match self {
            Checkpoint::Folder { files, .. } => Weights::from_safetensors(&files, dtype, device),
            Checkpoint::Gguf { file, .. } => Ok(Weights::from_gguf(file, dtype, device)),
        }
    }
}
