//! Documents on disk: open, save atomically, autosave, reopen the last one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CommandError, CommandResult};

/// Largest document the editor opens (a novel is ~1 MB of text).
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Where it is saved; `None` for a new, unsaved document.
    pub path: Option<PathBuf>,
    pub text: String,
}

/// Only absolute `.md`/`.txt`/`.markdown` paths: the commands are not a general file API.
pub fn check_path(path: &Path) -> CommandResult<()> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !path.is_absolute() {
        return Err(CommandError::new("invalid_path", format!("{} is not an absolute path", path.display())));
    }
    if !matches!(ext.as_deref(), Some("md" | "txt" | "markdown")) {
        return Err(CommandError::new("invalid_path", format!("{}: only .md and .txt documents", path.display())));
    }
    Ok(())
}

pub fn open(path: &Path) -> CommandResult<Document> {
    check_path(path)?;
    let io = |e: std::io::Error| CommandError::new("io", format!("{}: {e}", path.display()));
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_BYTES {
        return Err(CommandError::new(
            "too_large",
            format!("{} is {len} bytes; the limit is {MAX_BYTES}", path.display()),
        ));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CommandError::new("not_text", format!("{} is not UTF-8 text", path.display())))?;
    Ok(Document { path: Some(path.to_owned()), text })
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames it over
/// `path`: a crash leaves either the old or the new file, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CommandResult<()> {
    let io = |e: std::io::Error| CommandError::new("io", format!("{}: {e}", path.display()));
    let dir =
        path.parent().ok_or_else(|| CommandError::new("invalid_path", format!("{} has no folder", path.display())))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

pub fn save(path: &Path, text: &str) -> CommandResult<()> {
    check_path(path)?;
    check_text_size(text)?;
    write_atomic(path, text.as_bytes())
}

/// The autosave of the document being edited, kept in the app's data dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Autosave {
    pub document: Document,
    /// Unix seconds.
    pub saved_at: u64,
}

fn autosave_path(data_dir: &Path) -> PathBuf {
    data_dir.join("autosave.json")
}

/// Refuses text beyond [`MAX_BYTES`] before any work is done on it.
pub fn check_text_size(text: &str) -> CommandResult<()> {
    if text.len() as u64 > MAX_BYTES {
        return Err(CommandError::new(
            "too_large",
            format!("the text is {} bytes; the limit is {MAX_BYTES}", text.len()),
        ));
    }
    Ok(())
}

pub fn autosave(data_dir: &Path, document: &Document) -> CommandResult<()> {
    check_text_size(&document.text)?;
    let saved_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let json = serde_json::to_vec(&Autosave { document: document.clone(), saved_at }).expect("autosave serialises");
    write_atomic(&autosave_path(data_dir), &json)
}

/// The last autosaved document, if any.
pub fn last(data_dir: &Path) -> Option<Autosave> {
    let text = std::fs::read_to_string(autosave_path(data_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_open_and_autosave_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("story.md");
        save(&path, "Once — upon a time ✨\n").unwrap();
        assert_eq!(open(&path).unwrap().text, "Once — upon a time ✨\n");
        // Overwrite leaves no temporary files behind.
        save(&path, "Second draft").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let doc = Document { path: Some(path.clone()), text: "unsaved words".into() };
        autosave(dir.path(), &doc).unwrap();
        assert_eq!(last(dir.path()).unwrap().document, doc);
    }

    #[test]
    fn only_absolute_text_documents() {
        assert_eq!(check_path(Path::new("notes.md")).unwrap_err().code, "invalid_path");
        assert_eq!(check_path(Path::new("/etc/passwd")).unwrap_err().code, "invalid_path");
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("x.txt");
        std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
        assert_eq!(open(&bin).unwrap_err().code, "not_text");
        assert_eq!(open(&dir.path().join("missing.md")).unwrap_err().code, "io");
    }
}
