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
        CommandError { code: e.code(), message: plain(&e.to_string()) }
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
        let e =
            dream_engine::Error::Io { path: "/m/config.json".into(), source: std::io::Error::from_raw_os_error(20) };
        let c = CommandError::from(e);
        assert!(!c.message.contains("os error"), "{}", c.message);
        assert!(c.message.starts_with("/m/config.json: cannot read: Not a directory"), "{}", c.message);
    }
}
