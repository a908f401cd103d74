//! Errors as the UI receives them: `{ code, message }`, in plain words.

use dream_engine::Error;
use serde::Serialize;

/// What kind of failure it was, for the UI to act on (the message is for the writer).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // From the engine.
    ModelFileMissing,
    Io,
    BadConfig,
    BadWeights,
    BadTokenizer,
    Encode,
    InvalidRequest,
    ContextOverflow,
    Device,
    Hub,
    DamagedModel,
    Cancelled,
    Compute,
    OutOfMemory,
    // From the app.
    Busy,
    Internal,
    NoModel,
    UnknownModel,
    InvalidSettings,
    InvalidPath,
    InvalidDocument,
    NotChosen,
    NotText,
    TooLarge,
    ChangedOnDisk,
    FolderMissing,
}

impl ErrorCode {
    fn of(e: &Error) -> Self {
        match e {
            Error::ModelDirMissing(_) | Error::FileMissing { .. } | Error::DemoBaseMissing { .. } => {
                ErrorCode::ModelFileMissing
            }
            Error::Io { .. } | Error::DiskFull { .. } | Error::WriteJson { .. } => ErrorCode::Io,
            Error::Json { .. } | Error::Config { .. } => ErrorCode::BadConfig,
            Error::CorruptWeights { .. }
            | Error::MissingTensor { .. }
            | Error::TensorShape { .. }
            | Error::NonFiniteWeights { .. } => ErrorCode::BadWeights,
            Error::TokenizerMissing { .. }
            | Error::Tokenizer { .. }
            | Error::NoMaskToken { .. }
            | Error::ChatTemplate { .. } => ErrorCode::BadTokenizer,
            Error::Encode(_) => ErrorCode::Encode,
            Error::InvalidRequest { .. } => ErrorCode::InvalidRequest,
            Error::ContextOverflow { .. } => ErrorCode::ContextOverflow,
            Error::Device { .. } => ErrorCode::Device,
            Error::Hub { .. } => ErrorCode::Hub,
            Error::DamagedModel { .. } => ErrorCode::DamagedModel,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::Candle(_) | Error::NonFiniteOutput { .. } => ErrorCode::Compute,
            Error::OutOfMemory { .. } => ErrorCode::OutOfMemory,
        }
    }
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize, PartialEq)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError { code, message: message.into() }
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        CommandError { code: ErrorCode::of(&e), message: plain(&e.to_string()) }
    }
}

/// An engine message without the OS's "(os error 20)" tails, which mean nothing to a writer.
fn plain(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" (os error ") {
        out.push_str(&rest[..at]);
        rest = rest[at..].find(')').map_or("", |end| &rest[at + end + 1..]);
    }
    out.push_str(rest);
    out
}

pub type CommandResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_error_numbers_are_left_out() {
        let e = Error::Io { path: "/m/config.json".into(), source: std::io::Error::from_raw_os_error(20) };
        let c = CommandError::from(e);
        assert_eq!(c.code, ErrorCode::Io);
        assert!(!c.message.contains("os error"), "{}", c.message);
        assert!(c.message.starts_with("/m/config.json: cannot read: Not a directory"), "{}", c.message);
    }

    /// A GPU that runs out of memory is said as such, with what was needed and the way out,
    /// not as a failed computation.
    #[test]
    fn running_out_of_gpu_memory_is_its_own_error_in_plain_words() {
        let driver =
            dream_engine::candle_core::Error::Msg("DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")".into());
        let e = dream_engine::memory::out_of_memory(
            Error::Candle(driver),
            &dream_engine::candle_core::Device::Cpu,
            17 << 30,
        );
        let c = CommandError::from(e);
        assert_eq!(c.code, ErrorCode::OutOfMemory);
        assert!(c.message.contains("ran out of memory: this needs about 17.0 GiB"), "{}", c.message);
        assert!(c.message.contains("Q4_K"), "{}", c.message);
    }
}
