//! Fetching a repo's files from the Hub (or a mirror) into the standard Hugging Face cache
//! layout, done here rather than by hf-hub because hf-hub turns the server's `ETag` and
//! `X-Repo-Commit` headers into paths unchecked: a hostile mirror could write outside the
//! cache. Here nothing a server says becomes a path until it has passed a strict check (a
//! commit is 40 hex digits, an ETag 40 or 64, a file name a plain relative name); mirrors must
//! be https (plain http only on loopback, for tests), and so must every redirect.
//!
//! Layout (shared with the Python tools): `models--OWNER--NAME/blobs/<etag>`,
//! `snapshots/<commit>/<file>` links to the blob, `refs/main` holds the commit. A download in
//! progress is `blobs/<etag>.incomplete` and resumes with an HTTP range; an LFS file (64-hex
//! ETag, the weights) is checked against its SHA-256 and any other (config, tokenizer) against
//! its git blob SHA-1 before it is renamed into place. No file may grow past the size the
//! repository lists for it (or a stated maximum when the listing gives none), and a read that
//! stalls ends with an error. Dropping the future (a cancel) stops the transfer at once and
//! leaves the partial file to resume.

use std::path::{Component, Path, PathBuf};

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{redirect, StatusCode, Url};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use tokio::io::AsyncWriteExt;

use super::{blocking, DownloadProgress, ProgressFn};
use crate::error::{Error, HubError, Result};

/// The largest repo listing accepted (the real ones are a few kB).
const MAX_INFO_BYTES: usize = 4 << 20;

/// The most a file may grow to when neither the listing nor the server states its size:
/// weights (Dream 7B in one bf16 file is 15.2 GB) and anything else (a config or tokenizer is
/// a few MB).
const MAX_UNLISTED_WEIGHTS_BYTES: u64 = 32 << 30;
const MAX_UNLISTED_FILE_BYTES: u64 = crate::tokenizer::MAX_TOKENIZER_BYTES;

/// How long a read may wait for the server's next bytes before the download stops.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `url` points at this machine (where plain http is allowed, for tests).
fn loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn secure(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && loopback(url))
}

/// A Hub endpoint: https, or http on loopback; no credentials, query or fragment.
///
/// ```
/// use dream_engine::hub::check_endpoint;
/// assert!(check_endpoint("https://hf-mirror.com").is_ok());
/// assert!(check_endpoint("http://127.0.0.1:8080").is_ok());
/// assert!(check_endpoint("http://hf-mirror.com").is_err());
/// ```
pub fn check_endpoint(endpoint: &str) -> std::result::Result<Url, String> {
    let url = Url::parse(endpoint.trim_end_matches('/')).map_err(|e| format!("`{endpoint}` is not an address: {e}"))?;
    if !secure(&url) {
        return Err(format!("`{endpoint}` must be an https:// address (plain http only for this machine)"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{endpoint}` must be a plain address, without user, query or fragment"));
    }
    Ok(url)
}

/// `owner/name`, each part letters, digits, `-`, `_` or `.`, not starting with a dot.
///
/// ```
/// use dream_engine::hub::is_repo_id;
/// assert!(is_repo_id("Dream-org/Dream-v0-Base-7B"));
/// assert!(!is_repo_id("../etc") && !is_repo_id("a/b/c") && !is_repo_id("a/.."));
/// ```
pub fn is_repo_id(repo: &str) -> bool {
    let parts: Vec<&str> = repo.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 96
                && !p.starts_with('.')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

fn is_hex(s: &str, lens: &[usize]) -> bool {
    lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A commit hash as the cache names folders by it: 40 hex digits.
pub(crate) fn is_commit(s: &str) -> bool {
    is_hex(s, &[40])
}

/// An ETag as the Hub sends it (`"…"`, maybe weak): a git SHA-1 (40 hex) or, for LFS files,
/// the content's SHA-256 (64 hex). Anything else is refused.
fn etag(raw: &str) -> Option<String> {
    let tag = raw.trim().trim_start_matches("W/").trim_matches('"').to_ascii_lowercase();
    is_hex(&tag, &[40, 64]).then_some(tag)
}

/// A file name inside a repo: relative, only plain components, no backslashes or drive letters.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains(['\\', ':', '\0'])
        && Path::new(name).components().all(|c| matches!(c, Component::Normal(_)))
}

#[derive(Deserialize)]
struct Info {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
    /// With `?blobs=true`: the file's size (for an LFS file, its pointer's).
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    lfs: Option<Lfs>,
}

#[derive(Deserialize)]
struct Lfs {
    size: u64,
}

/// A connection to one repo on one endpoint.
pub(crate) struct Remote {
    /// Follows redirects, but never to plain http elsewhere than loopback.
    http: reqwest::Client,
    /// Follows none: the first answer to a `resolve` URL carries the Hub's own headers.
    head: reqwest::Client,
    endpoint: Url,
    repo: String,
    stall: Duration,
}

/// The files of a repo at one commit, with the size the Hub lists for each (when it does).
pub(crate) struct Listing {
    pub commit: String,
    pub files: Vec<String>,
    pub sizes: HashMap<String, u64>,
}

impl Remote {
    /// A connection whose reads give up after `stall` without a byte.
    pub fn new(endpoint: &str, repo: &str, stall: Duration) -> Result<Self> {
        let hub_err = |reason| Error::Hub { repo: repo.to_owned(), reason };
        let endpoint = check_endpoint(endpoint).map_err(|e| hub_err(HubError::BadMirror(e)))?;
        if !is_repo_id(repo) {
            return Err(hub_err(HubError::NotARepoId));
        }
        let policy = redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if !secure(attempt.url()) {
                let to = attempt.url().to_string();
                attempt.error(format!("refused a redirect to {to} (not https)"))
            } else {
                attempt.follow()
            }
        });
        let build = |policy| {
            reqwest::Client::builder()
                .redirect(policy)
                .connect_timeout(Duration::from_secs(20))
                .read_timeout(stall)
                .user_agent(concat!("dream-writer/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| hub_err(HubError::Http(e)))
        };
        Ok(Remote {
            http: build(policy)?,
            head: build(redirect::Policy::none())?,
            endpoint,
            repo: repo.to_owned(),
            stall,
        })
    }

    fn err(&self, reason: HubError) -> Error {
        Error::Hub { repo: self.repo.clone(), reason }
    }

    fn url(&self, tail: &str) -> Result<Url> {
        Url::parse(&format!("{}/{tail}", self.endpoint.as_str().trim_end_matches('/')))
            .map_err(|e| self.err(HubError::BadAddress(e)))
    }

    fn unreachable(&self, e: reqwest::Error) -> Error {
        let host = self.endpoint.host_str().unwrap_or("the Hub").to_owned();
        self.err(if e.is_timeout() && !e.is_connect() {
            HubError::Stalled { host, seconds: self.stall.as_secs_f64() }
        } else if e.is_connect() || e.is_timeout() {
            HubError::Unreachable { host }
        } else {
            HubError::Http(e)
        })
    }

    /// The repo's current commit and file names, every one checked.
    pub async fn list(&self) -> Result<Listing> {
        let url = self.url(&format!("api/models/{}/revision/main?blobs=true", self.repo))?;
        let mut response = self.http.get(url).send().await.map_err(|e| self.unreachable(e))?;
        if !response.status().is_success() {
            let what = "cannot list the repository".into();
            return Err(self.err(HubError::Answered { what, status: response.status() }));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_INFO_BYTES {
                return Err(self.err(HubError::ListingTooLarge(MAX_INFO_BYTES)));
            }
        }
        let info: Info = serde_json::from_slice(&body).map_err(|e| self.err(HubError::BadListing(e)))?;
        if !is_commit(&info.sha) {
            return Err(self.err(HubError::BadCommit(info.sha)));
        }
        let mut files = Vec::with_capacity(info.siblings.len());
        let mut sizes = HashMap::new();
        for s in info.siblings {
            if !is_plain_name(&s.rfilename) {
                return Err(self.err(HubError::UnsafeName(s.rfilename)));
            }
            if let Some(size) = s.lfs.map(|l| l.size).or(s.size) {
                sizes.insert(s.rfilename.clone(), size);
            }
            files.push(s.rfilename);
        }
        Ok(Listing { commit: info.sha.to_ascii_lowercase(), files, sizes })
    }

    /// Downloads `file` at `commit` into `repo_dir` (the cache's `models--OWNER--NAME`), unless
    /// its blob is there already; returns its path in the snapshot. `listed` is the size the
    /// repository's listing gives: the file may not grow past it.
    pub async fn fetch(
        &self,
        repo_dir: &Path,
        commit: &str,
        file: &str,
        listed: Option<u64>,
        progress: Option<&ProgressFn>,
    ) -> Result<PathBuf> {
        if !is_commit(commit) || !is_plain_name(file) {
            return Err(self.err(HubError::UnsafeStore { file: file.into(), commit: commit.into() }));
        }
        let url = self.url(&format!("{}/resolve/{commit}/{file}", self.repo))?;
        let head = self.head.head(url.clone()).send().await.map_err(|e| self.unreachable(e))?;
        let header = |name: &str| head.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if !(head.status().is_success() || head.status().is_redirection()) {
            return Err(self.err(HubError::Answered { what: file.into(), status: head.status() }));
        }
        let raw = header("x-linked-etag").or_else(|| header("etag")).unwrap_or_default();
        let etag = etag(&raw).ok_or_else(|| self.err(HubError::BadEtag { file: file.into(), etag: raw.clone() }))?;
        let linked = header("x-linked-size").and_then(|s| s.parse().ok());
        let cap = match (listed, linked) {
            (Some(bytes), _) => Cap { bytes, by: Stated::Listing },
            (None, Some(bytes)) => Cap { bytes, by: Stated::Server },
            (None, None) if file.ends_with(".safetensors") => {
                Cap { bytes: MAX_UNLISTED_WEIGHTS_BYTES, by: Stated::Nobody }
            }
            (None, None) => Cap { bytes: MAX_UNLISTED_FILE_BYTES, by: Stated::Nobody },
        };
        let target = match header("location") {
            Some(location) => {
                url.join(&location).map_err(|source| self.err(HubError::BadRedirect { file: file.into(), source }))?
            }
            None => url,
        };
        if !secure(&target) {
            return Err(self.err(HubError::InsecureRedirect { file: file.into(), to: target.to_string() }));
        }
        let blobs = repo_dir.join("blobs");
        tokio::fs::create_dir_all(&blobs).await.map_err(|e| Error::io(&blobs, e))?;
        let blob = blobs.join(&etag);
        if !tokio::fs::metadata(&blob).await.is_ok_and(|m| m.is_file()) {
            self.download(&target, &blob, &etag, cap, file, progress).await?;
        }
        let (repo_dir, commit) = (repo_dir.to_owned(), commit.to_owned());
        let pointer = repo_dir.join("snapshots").join(&commit).join(file);
        blocking(move || {
            link(&repo_dir, &blob, &pointer)?;
            let refs = repo_dir.join("refs");
            std::fs::create_dir_all(&refs).map_err(|e| Error::io(&refs, e))?;
            std::fs::write(refs.join("main"), commit).map_err(|e| Error::io(refs.join("main"), e))?;
            Ok(pointer)
        })
        .await
    }

    /// Downloads `file` into `blob`, resuming a partial file, checked against its ETag. A
    /// resumed file that fails its check may hold bad bytes from before (a mirror that sent
    /// wrong ones, then stalled): it is discarded and fetched whole once, in the same try.
    async fn download(
        &self,
        url: &Url,
        blob: &Path,
        etag: &str,
        cap: Cap,
        file: &str,
        progress: Option<&ProgressFn>,
    ) -> Result<()> {
        let part = blob.with_extension("incomplete");
        let resumed = self.write_part(url, &part, cap, file, progress, false).await?;
        let mut checked = verify(&part, etag, file).await;
        if checked.is_err() && resumed {
            tracing::warn!("{file}: the resumed download did not verify; fetching it whole again");
            let _ = tokio::fs::remove_file(&part).await;
            self.write_part(url, &part, cap, file, progress, true).await?;
            checked = verify(&part, etag, file).await;
        }
        if let Err(e) = checked {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
        tokio::fs::rename(&part, blob).await.map_err(|e| Error::io(blob, e))
    }

    /// Writes `file` into `part`, continuing what it holds where the server allows; returns
    /// whether it continued. `again` says it is the whole fetch after a resumed one failed.
    async fn write_part(
        &self,
        url: &Url,
        part: &Path,
        cap: Cap,
        file: &str,
        progress: Option<&ProgressFn>,
        again: bool,
    ) -> Result<bool> {
        let mut have = tokio::fs::metadata(part).await.map(|m| m.len()).unwrap_or(0);
        let mut request = self.http.get(url.clone());
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let mut response = request.send().await.map_err(|e| self.unreachable(e))?;
        let resumed = response.status() == StatusCode::PARTIAL_CONTENT
            && response
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|r| r.starts_with(&format!("bytes {have}-")));
        if !response.status().is_success() {
            return Err(self.err(HubError::Answered { what: file.into(), status: response.status() }));
        }
        if !resumed {
            have = 0;
        }
        // The body's own length can only lower the limit; progress shows a total only when a
        // size was stated.
        let cap = match response.content_length().map(|n| n + have) {
            Some(bytes) if bytes < cap.bytes => Cap { bytes, by: Stated::Server },
            _ => cap,
        };
        let total = if cap.by == Stated::Nobody { 0 } else { cap.bytes };
        let mut out = tokio::fs::OpenOptions::new()
            .create(true)
            .append(resumed)
            .write(true)
            .truncate(!resumed)
            .open(part)
            .await
            .map_err(|e| Error::io(part, e))?;
        let report = |downloaded: u64| {
            if let Some(cb) = progress {
                cb(&DownloadProgress { file: file.to_owned(), downloaded, total, again });
            }
        };
        report(have);
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(e))? {
            out.write_all(&chunk).await.map_err(|e| Error::io(part, e))?;
            have += chunk.len() as u64;
            if have > cap.bytes {
                drop(out);
                let _ = tokio::fs::remove_file(part).await;
                let stated = match cap.by {
                    Stated::Listing => "the repository lists",
                    Stated::Server => "the server announced",
                    Stated::Nobody => "such a file may have when no size is stated",
                };
                return Err(self.err(HubError::TooLarge { file: file.into(), bytes: cap.bytes, stated }));
            }
            report(have);
        }
        out.flush().await.map_err(|e| Error::io(part, e))?;
        out.sync_all().await.map_err(|e| Error::io(part, e))?;
        Ok(resumed)
    }
}

/// [`check_etag`] on the blocking pool (it reads the whole file: gigabytes for the weights).
async fn verify(part: &Path, etag: &str, file: &str) -> Result<()> {
    let (part, etag, file) = (part.to_owned(), etag.to_owned(), file.to_owned());
    blocking(move || check_etag(&part, &etag, &file)).await
}

/// Whether the downloaded `part` is what the Hub's ETag names: an LFS file's SHA-256, or any
/// other file's git blob SHA-1.
fn check_etag(part: &Path, etag: &str, file: &str) -> Result<()> {
    let (kind, actual) = match etag.len() {
        64 => ("SHA-256", sha256_file(part)?),
        _ => ("git SHA-1", git_blob_sha1(part)?),
    };
    if actual == etag {
        return Ok(());
    }
    Err(Error::CorruptWeights {
        path: PathBuf::from(file),
        reason: format!("{kind} {actual} does not match the Hub's {etag}; the file was removed, download it again"),
    })
}

/// The most a download may write, and who stated it.
#[derive(Clone, Copy)]
struct Cap {
    bytes: u64,
    by: Stated,
}

/// Where a download's size limit comes from.
#[derive(Clone, Copy, PartialEq)]
enum Stated {
    /// The repository's listing (`?blobs=true`).
    Listing,
    /// The server's `X-Linked-Size` or `Content-Length`.
    Server,
    /// Nobody: the stated maximum for the kind of file.
    Nobody,
}

/// A file's git blob SHA-1 (`sha1("blob <len>\0" + content)`, what the Hub reports as the ETag
/// of a file not stored in LFS), in hex.
fn git_blob_sha1(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {len}\0").as_bytes());
    std::io::copy(&mut f, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// The SHA-256 of a file, in hex.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Points the snapshot's `pointer` at `blob` (a relative symlink, as the Python tools make;
/// a copy where symlinks are not allowed).
fn link(repo_dir: &Path, blob: &Path, pointer: &Path) -> Result<()> {
    let dir = pointer.parent().ok_or_else(|| Error::io(pointer, std::io::Error::other("no folder")))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let _ = std::fs::remove_file(pointer);
    #[cfg(unix)]
    {
        // From the pointer's folder (snapshots/<commit>/…) up to the repo folder, then blobs/.
        let depth = dir.strip_prefix(repo_dir).map_or(2, |p| p.components().count());
        let mut relative = PathBuf::new();
        for _ in 0..depth {
            relative.push("..");
        }
        relative.push("blobs");
        relative.push(blob.file_name().unwrap_or_default());
        std::os::unix::fs::symlink(&relative, pointer).map_err(|e| Error::io(pointer, e))
    }
    #[cfg(not(unix))]
    {
        let _ = repo_dir;
        std::fs::copy(blob, pointer).map(|_| ()).map_err(|e| Error::io(pointer, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_strings_are_checked_before_they_become_paths() {
        assert_eq!(
            etag("\"0123456789abcdef0123456789abcdef01234567\"").as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert!(etag("W/\"../../../../tmp/evil\"").is_none());
        assert!(etag("\"abc\"").is_none());
        assert!(is_commit("0123456789abcdef0123456789abcdef01234567"));
        assert!(!is_commit("../../../../../../tmp/x"));
        for bad in ["../x", "/etc/passwd", "a/../../b", "C:\\x", "a\\b", ""] {
            assert!(!is_plain_name(bad), "{bad}");
        }
        assert!(is_plain_name("model-00001-of-00004.safetensors") && is_plain_name("sub/dir/file.json"));
        assert!(check_endpoint("http://10.0.0.1").is_err());
        assert!(check_endpoint("https://user:pw@hf.co").is_err());
        assert!(check_endpoint("file:///etc").is_err());
    }
}
