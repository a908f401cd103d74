//! Errors as the UI receives them: `{ code, message }`.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl From<dream_engine::Error> for CommandError {
    fn from(e: dream_engine::Error) -> Self {
        CommandError { code: e.code(), message: e.to_string() }
    }
}
