//! The engine's error type: every failure names the file, tensor or field at fault.

use std::path::PathBuf;

/// Everything that can go wrong in the engine.
///
/// Each variant carries enough context (a path, a tensor name, a request field) for a writer or
/// a developer to fix the cause without reading code. [`Error::code`] gives a stable
/// machine-readable code for the app's `{ code, message }` errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("model folder {0} does not exist or is not a folder")]
    ModelDirMissing(PathBuf),

    #[error("{path}: file missing")]
    FileMissing { path: PathBuf },

    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("{path}: field `{field}`: {reason}")]
    Config { path: PathBuf, field: &'static str, reason: String },

    #[error("{path}: damaged or not a model weights file: {reason}")]
    CorruptWeights { path: PathBuf, reason: String },

    #[error("tensor `{name}` is missing from the checkpoint (looked in {files})")]
    MissingTensor { name: String, files: String },

    #[error("tensor `{name}` in {path} has shape {actual:?}, expected {expected:?}")]
    TensorShape { name: String, path: PathBuf, expected: Vec<usize>, actual: Vec<usize> },

    #[error("{dir}: no tokenizer found: need tokenizer.json, or vocab.json + merges.txt + tokenizer_config.json")]
    TokenizerMissing { dir: PathBuf },

    #[error("{path}: cannot build the tokenizer: {reason}")]
    Tokenizer { path: PathBuf, reason: String },

    #[error("the tokenizer has no mask token `{token}` (config mask_token_id {id})")]
    NoMaskToken { token: String, id: u32 },

    #[error("text cannot be tokenised: {0}")]
    Encode(String),

    #[error("request field `{field}`: {reason}")]
    InvalidRequest { field: String, reason: String },

    #[error("the request needs {needed} tokens of masks and pinned text, but the model's context holds {limit}")]
    ContextOverflow { needed: usize, limit: usize },

    #[error("device `{requested}` is not available: {reason}")]
    Device { requested: String, reason: String },

    #[error("model `{repo}`: {reason}")]
    Hub { repo: String, reason: String },

    #[error("{path} in the model cache is damaged ({reason}): download it again")]
    DamagedModel { path: PathBuf, reason: String },

    #[error("cancelled")]
    Cancelled,

    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

impl Error {
    /// An I/O failure on `path` (a missing file becomes [`Error::FileMissing`]).
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::FileMissing { path }
        } else {
            Error::Io { path, source }
        }
    }

    /// A request or settings field that cannot be honoured.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidRequest { field: field.into(), reason: reason.into() }
    }
}

/// Shorthand used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
