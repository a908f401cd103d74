//! Errors as the UI receives them: `{ code, message }`, in plain words.

use serde::Serialize;

#[derive(Debug, Serialize, PartialEq)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CommandError { code, message: message.into() }
    }
}

impl From<dream_engine::Error> for CommandError {
    fn from(e: dream_engine::Error) -> Self {
        CommandError { code: e.code(), message: e.to_string() }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
