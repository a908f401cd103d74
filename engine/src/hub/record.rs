//! What was verified when a snapshot was downloaded: each file's size and SHA-256, kept
//! beside the cache's own folders (`models--OWNER--NAME/dream-writer-verified/<commit>.json`,
//! which the Python tools ignore). Every load compares sizes against it (cheap: a truncated
//! blob is caught before it fails to parse); [`verify`] re-hashes everything (a flipped bit).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::download::sha256_file;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    size: u64,
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    files: BTreeMap<String, Entry>,
}

/// A file of a cached model that does not match what was verified.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Damage {
    pub file: String,
    pub reason: String,
}

/// The record of snapshot `dir` (`…/snapshots/<commit>`).
fn record_path(dir: &Path) -> Option<PathBuf> {
    let commit = dir.file_name()?;
    let repo_dir = dir.parent()?.parent()?;
    Some(repo_dir.join("dream-writer-verified").join(commit).with_extension("json"))
}

fn read(dir: &Path) -> Option<Record> {
    let bytes = std::fs::read(record_path(dir)?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The snapshot's files (its top-level entries; a checkpoint is flat).
fn files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            out.push((name.to_owned(), path.clone()));
        }
    }
    out.sort();
    Ok(out)
}

/// The SHA-256 a cached file's blob is named by (the Hub's LFS files), if it is.
fn named_sha(path: &Path) -> Option<String> {
    let blob = std::fs::canonicalize(path).ok()?;
    let name = blob.file_name()?.to_str()?;
    (name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())).then(|| name.to_owned())
}

/// The SHA-256 of `file`, where it is known without reading it: recorded when its snapshot was
/// downloaded, or the name of the Hub blob it is. (Hashing gigabytes to credit a model's words
/// is not worth a load's time.)
pub(crate) fn known_sha256(file: &Path) -> Option<String> {
    let dir = file.parent()?;
    let name = file.file_name()?.to_str()?;
    read(dir).and_then(|r| r.files.get(name).map(|e| e.sha256.clone())).or_else(|| named_sha(file))
}

/// Records every file of a freshly downloaded and checked snapshot.
pub(crate) fn write(dir: &Path) -> Result<()> {
    let mut record = Record::default();
    for (name, path) in files(dir)? {
        let size = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
        // LFS blobs were just checked against the SHA-256 they are named by.
        let sha256 = match named_sha(&path) {
            Some(sha) => sha,
            None => sha256_file(&path)?,
        };
        record.files.insert(name, Entry { size, sha256 });
    }
    let Some(path) = record_path(dir) else { return Ok(()) };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let json = serde_json::to_vec_pretty(&record).map_err(|source| Error::WriteJson { path: path.clone(), source })?;
    std::fs::write(&path, json).map_err(|e| Error::io(&path, e))
}

/// The cheap check run on every load: each recorded file still has its recorded size.
pub(crate) fn check_sizes(dir: &Path) -> Result<()> {
    let Some(record) = read(dir) else { return Ok(()) };
    for (name, entry) in &record.files {
        let path = dir.join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size != entry.size {
            return Err(Error::DamagedModel {
                path,
                reason: format!("it is {size} bytes, {} when it was downloaded", entry.size),
            });
        }
    }
    Ok(())
}

/// Re-hashes every file of snapshot `dir` against the record (or, without one, the SHA-256
/// an LFS blob is named by) and lists what does not match.
pub fn verify(dir: &Path) -> Result<Vec<Damage>> {
    let record = read(dir).unwrap_or_default();
    let mut damage = Vec::new();
    for (name, path) in files(dir)? {
        let recorded = record.files.get(&name);
        let Some(expected) = recorded.map(|e| e.sha256.clone()).or_else(|| named_sha(&path)) else { continue };
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if let Some(e) = recorded.filter(|e| e.size != size) {
            damage.push(Damage { file: name, reason: format!("{size} bytes, {} expected", e.size) });
            continue;
        }
        let actual = sha256_file(&path)?;
        if actual != expected {
            damage.push(Damage { file: name, reason: format!("SHA-256 {actual}, {expected} expected") });
        }
    }
    Ok(damage)
}

/// Removes the snapshot's damaged files (blob and link), and the small files nothing can
/// check, so that the next download fetches them again.
pub(crate) fn remove_damaged(dir: &Path) -> Result<Vec<String>> {
    let bad: Vec<String> = verify(dir)?.into_iter().map(|d| d.file).collect();
    let record = read(dir).unwrap_or_default();
    let mut removed = Vec::new();
    for (name, path) in files(dir)? {
        let unverifiable = !record.files.contains_key(&name) && named_sha(&path).is_none();
        if bad.contains(&name) || unverifiable {
            if let Ok(blob) = std::fs::canonicalize(&path) {
                let _ = std::fs::remove_file(blob);
            }
            let _ = std::fs::remove_file(&path);
            removed.push(name);
        }
    }
    Ok(removed)
}
