//! Documents on disk: reading one, knowing whether it changed outside the app, saving it
//! without ever overwriting an outside edit unasked.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::files::{io_error, write_atomic};
use crate::shared::SHARED;

/// Largest document the editor opens (a novel is ~1 MB of text), as a file's length.
pub const MAX_BYTES: u64 = SHARED.max_text_bytes as u64;

/// A document as read from disk.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnDisk {
    pub text: String,
    /// The fingerprint of the bytes read: what a later save or check compares against.
    pub base: String,
}

/// How the file on disk stands against the version the editor loaded or last saved.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskState {
    Same,
    /// Another program wrote it.
    Changed,
    /// It was moved or deleted.
    Missing,
}

/// The SHA-256 of a file's bytes, in hex.
pub fn fingerprint(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Only `.md`, `.markdown` and `.txt` documents: the editor is for text.
pub fn check_kind(path: &Path) -> CommandResult<()> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !path.is_absolute() || !matches!(ext.as_deref(), Some("md" | "txt" | "markdown")) {
        return Err(CommandError::new(
            ErrorCode::InvalidPath,
            format!("{}: Dream Writer opens and saves .md and .txt documents.", path.display()),
        ));
    }
    Ok(())
}

/// Refuses text beyond [`MAX_BYTES`] before any work is done on it.
pub fn check_text_size(text: &str) -> CommandResult<()> {
    if text.len() as u64 > MAX_BYTES {
        return Err(CommandError::new(
            ErrorCode::TooLarge,
            format!("The text is {} bytes; the limit is {MAX_BYTES}.", text.len()),
        ));
    }
    Ok(())
}

fn read_bytes(path: &Path) -> CommandResult<Vec<u8>> {
    let len = std::fs::metadata(path).map_err(|e| io_error(path, "open", &e))?.len();
    if len > MAX_BYTES {
        return Err(CommandError::new(
            ErrorCode::TooLarge,
            format!("{} is {len} bytes; the limit is {MAX_BYTES}.", path.display()),
        ));
    }
    std::fs::read(path).map_err(|e| io_error(path, "open", &e))
}

pub fn read(path: &Path) -> CommandResult<OnDisk> {
    check_kind(path)?;
    let bytes = read_bytes(path)?;
    let base = fingerprint(&bytes);
    let text = String::from_utf8(bytes)
        .map_err(|_| CommandError::new(ErrorCode::NotText, format!("{} is not UTF-8 text.", path.display())))?;
    Ok(OnDisk { text, base })
}

/// Whether the file still holds the bytes whose fingerprint is `base`.
pub fn disk_state(path: &Path, base: &str) -> DiskState {
    match std::fs::metadata(path) {
        Err(_) => DiskState::Missing,
        Ok(m) if m.len() > MAX_BYTES => DiskState::Changed,
        Ok(_) => match std::fs::read(path) {
            Ok(bytes) if fingerprint(&bytes) == base => DiskState::Same,
            Ok(_) => DiskState::Changed,
            Err(_) => DiskState::Missing,
        },
    }
}

/// Saves `text` to `path` and returns its new fingerprint. Unless `overwrite`, the file must
/// still be what the editor loaded or last saved (`base`; `None` for a file the writer is
/// creating): an outside edit, or the file vanishing, is a `changed_on_disk` error for the
/// writer to decide on, never overwritten silently.
pub fn save(path: &Path, text: &str, base: Option<&str>, overwrite: bool) -> CommandResult<String> {
    check_kind(path)?;
    check_text_size(text)?;
    if !overwrite {
        let state = match base {
            Some(base) => disk_state(path, base),
            None if path.exists() => DiskState::Changed,
            None => DiskState::Same,
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match state {
            DiskState::Same => {}
            DiskState::Changed => {
                return Err(CommandError::new(
                    ErrorCode::ChangedOnDisk,
                    format!("{name} was changed by another program since you opened it."),
                ))
            }
            DiskState::Missing => {
                return Err(CommandError::new(
                    ErrorCode::ChangedOnDisk,
                    format!("{name} was moved or deleted since you opened it."),
                ))
            }
        }
    }
    write_atomic(path, text.as_bytes())?;
    Ok(fingerprint(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_save_and_disk_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("story.md");
        let base = save(&path, "Once — upon a time ✨\n", None, false).unwrap();
        let read = read(&path).unwrap();
        assert_eq!(read, OnDisk { text: "Once — upon a time ✨\n".into(), base: base.clone() });
        assert_eq!(disk_state(&path, &base), DiskState::Same);
        let base = save(&path, "Second draft", Some(&base), false).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary files left");

        // Another program appends a line: the next save refuses unless told to overwrite.
        std::fs::write(&path, "Second draft\nTheir line").unwrap();
        assert_eq!(disk_state(&path, &base), DiskState::Changed);
        let e = save(&path, "Mine", Some(&base), false).unwrap_err();
        assert_eq!(e.code, ErrorCode::ChangedOnDisk);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "Second draft\nTheir line");
        save(&path, "Mine", Some(&base), true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "Mine");

        std::fs::remove_file(&path).unwrap();
        assert_eq!(disk_state(&path, &base), DiskState::Missing);
        assert_eq!(save(&path, "x", Some(&base), false).unwrap_err().code, ErrorCode::ChangedOnDisk);
        // Creating a file over one that appeared in the meantime asks too.
        std::fs::write(&path, "theirs").unwrap();
        assert_eq!(save(&path, "x", None, false).unwrap_err().code, ErrorCode::ChangedOnDisk);
    }

    #[test]
    fn only_absolute_text_documents() {
        assert_eq!(check_kind(Path::new("notes.md")).unwrap_err().code, ErrorCode::InvalidPath);
        assert_eq!(check_kind(Path::new("/etc/passwd")).unwrap_err().code, ErrorCode::InvalidPath);
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("x.txt");
        std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
        assert_eq!(read(&bin).unwrap_err().code, ErrorCode::NotText);
        let e = read(&dir.path().join("missing.md")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Io);
        assert!(e.message.ends_with("it does not exist."), "{}", e.message);
    }
}
