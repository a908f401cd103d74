//! Writing a file so that it is always either the old or the new content, and stays the file it
//! was: same permissions, a symlink stays a link, no folder conjured up.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CommandError, CommandResult, ErrorCode};

/// The end of every temporary file's name: what a crash can leave, and what the next save of
/// the same file removes.
const TMP_SUFFIX: &str = ".dream-writer-tmp";

/// An I/O failure in plain words, naming the file (never a bare "os error 20").
pub fn io_error(path: &Path, action: &str, e: &std::io::Error) -> CommandError {
    use std::io::ErrorKind::*;
    let why = match e.kind() {
        NotFound => "it does not exist".to_string(),
        PermissionDenied => "permission denied".to_string(),
        AlreadyExists => "it already exists".to_string(),
        NotADirectory => "a part of the path is not a folder".to_string(),
        IsADirectory => "it is a folder".to_string(),
        StorageFull => "the disk is full".to_string(),
        ReadOnlyFilesystem => "the disk is read-only".to_string(),
        InvalidData => "it is not readable text".to_string(),
        _ => {
            // The OS text without its "(os error N)" tail.
            let text = e.to_string();
            text.split(" (os error").next().unwrap_or(&text).to_lowercase()
        }
    };
    CommandError::new(ErrorCode::Io, format!("Could not {action} {}: {why}.", path.display()))
}

/// Where writing `path` must go: the file itself, or the file a symlink points at (so the
/// link stays a link).
fn write_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut target = path.to_owned();
    // Follow a chain of links, as the OS would, up to its own limit.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&target)?;
                target = match target.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            _ => return Ok(target),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Temporary files an earlier, interrupted write of `name` left in `dir`.
fn leftovers(dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(&prefix) && n.ends_with(TMP_SUFFIX) && n.len() > prefix.len() + TMP_SUFFIX.len()
        })
        .map(|e| e.path())
        .collect()
}

/// Writes `bytes` to `path` atomically: into a temporary file created exclusively under an
/// unpredictable name beside the target, flushed to disk, given the target's permissions, then
/// renamed over it, and the folder flushed so the rename survives a power cut. A crash leaves
/// the old or the new file, never half of one; the temporary file is removed on failure, and
/// leftovers of a killed earlier write are removed by the next write of the same file. The
/// folder must exist: it is never created here.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CommandResult<()> {
    let err = |e: std::io::Error| io_error(path, "save", &e);
    let target = write_target(path).map_err(err)?;
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return Err(CommandError::new(ErrorCode::InvalidPath, format!("{} is not a file path.", path.display())));
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    if !dir.is_dir() {
        return Err(CommandError::new(
            ErrorCode::FolderMissing,
            format!("Could not save {}: the folder {} does not exist.", path.display(), dir.display()),
        ));
    }
    let name = name.to_string_lossy().into_owned();
    for old in leftovers(dir, &name) {
        let _ = std::fs::remove_file(old);
    }
    let existing = std::fs::metadata(&target).ok();
    let prefix: OsString = format!(".{name}.").into();
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TMP_SUFFIX).rand_bytes(12);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A new document gets the usual rw-rw-rw- less the umask, not tempfile's private 0600.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // Dropped (and so removed) on every early return below.
    let mut tmp = builder.tempfile_in(dir).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    if let Some(meta) = &existing {
        tmp.as_file().set_permissions(meta.permissions()).map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(&target).map_err(|e| err(e.error))?;
    sync_dir(dir).map_err(err)
}

/// Moves a file the app cannot use (corrupt, or from a version it does not understand) aside
/// as `NAME.unreadable-<unix seconds>`, so that nothing the writer had is overwritten, and
/// says where in plain words.
pub fn set_aside(path: &Path, why: &str) -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let aside = path.with_file_name(format!("{name}.unreadable-{secs}"));
    match std::fs::rename(path, &aside) {
        Ok(()) => format!("{} could not be used ({why}); it was kept as {}.", path.display(), aside.display()),
        Err(e) => format!("{} could not be used ({why}) nor moved aside ({e}).", path.display()),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows has no directory handles to flush; its rename is durable on NTFS.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions_and_new_files_follow_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("diary.md");
        std::fs::write(&private, "old").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&private, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&private).unwrap(), "new");
        assert_eq!(std::fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o600);

        let fresh = dir.path().join("fresh.md");
        write_atomic(&fresh, b"x").unwrap();
        // As any program's new file (rw-rw-rw- less the umask), not tempfile's private 0600.
        let plain = dir.path().join("plain.md");
        std::fs::write(&plain, "x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&fresh), mode(&plain));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/story.md");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("story.md");
        std::os::unix::fs::symlink("real/story.md", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(names(dir.path()), ["real", "story.md"]);
        assert_eq!(names(&dir.path().join("real")), ["story.md"]);
    }

    #[test]
    fn never_creates_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(&dir.path().join("no/such/story.md"), b"x").unwrap_err();
        assert_eq!(e.code, ErrorCode::FolderMissing);
        assert!(e.message.contains("does not exist"), "{}", e.message);
        assert!(!dir.path().join("no").exists());
    }

    #[test]
    fn leftovers_of_a_killed_write_go_with_the_next_save_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("story.md");
        let crash = dir.path().join(format!(".story.md.Ab3dE9xYz012{TMP_SUFFIX}"));
        let other = dir.path().join(format!(".notes.md.Ab3dE9xYz012{TMP_SUFFIX}"));
        let unrelated = dir.path().join(".story.md.swp");
        for f in [&crash, &other, &unrelated] {
            std::fs::write(f, "x").unwrap();
        }
        write_atomic(&path, b"text").unwrap();
        assert!(!crash.exists());
        assert!(other.exists() && unrelated.exists(), "only this document's leftovers are removed");
        assert_eq!(names(dir.path()), [".notes.md.Ab3dE9xYz012.dream-writer-tmp", ".story.md.swp", "story.md"]);
    }

    /// A child process saves two versions in a loop and is killed (SIGKILL) at random points,
    /// a few hundred times: the file is always one whole version, and the next save removes
    /// what the killed ones left.
    #[test]
    fn killed_during_saves_the_file_is_always_old_or_new() {
        let a = vec![b'a'; 512 * 1024];
        let b = vec![b'b'; 300 * 1024];
        if let Some(path) = std::env::var_os("DREAM_WRITER_SAVE_LOOP") {
            // The child: save until killed.
            loop {
                write_atomic(Path::new(&path), &a).unwrap();
                write_atomic(Path::new(&path), &b).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("story.md");
        write_atomic(&path, &a).unwrap();
        let exe = std::env::current_exe().unwrap();
        let mut seed: u64 = 0x5eed;
        let mut interrupted = 0;
        for _ in 0..300 {
            let mut child = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "files::tests::killed_during_saves_the_file_is_always_old_or_new",
                    "--test-threads=1",
                ])
                .env("DREAM_WRITER_SAVE_LOOP", &path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            std::thread::sleep(std::time::Duration::from_micros(2000 + (seed >> 33) % 18000));
            child.kill().unwrap();
            child.wait().unwrap();
            let now = std::fs::read(&path).unwrap();
            assert!(now == a || now == b, "a torn file of {} bytes", now.len());
            interrupted += usize::from(names(dir.path()).len() > 1);
        }
        assert!(interrupted > 0, "no kill landed inside a save: the harness tested nothing");
        write_atomic(&path, b"final").unwrap();
        assert_eq!(names(dir.path()), ["story.md"], "leftovers removed by the next save");
    }

    #[test]
    fn plain_words_for_io_errors() {
        let e = std::io::Error::from_raw_os_error(20);
        let msg = io_error(Path::new("/a/b.md"), "open", &e).message;
        assert!(!msg.contains("os error"), "{msg}");
        assert!(msg.starts_with("Could not open /a/b.md"), "{msg}");
    }
}
