//! Getting a model: a local folder, or a Hugging Face Hub repo id resolved through the standard
//! Hugging Face cache (`HF_HOME`, shared with Python tools), downloaded into it when it is not
//! complete there (resumable, cancellable, checked; `HF_ENDPOINT` respected, https only), and
//! never from the network when `HF_HUB_OFFLINE=1`. hf-hub is kept for its `Cache` alone (where
//! the cache is, as Python's tools find it); the download is the `download` module's, which
//! trusts no string a server sends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hf_hub::Cache;

use crate::error::{Error, HubError, Result};

mod download;
mod record;

pub(crate) use download::sha256_file;
pub use download::{check_endpoint, is_repo_id};
pub use record::Damage;

/// Where models come from when no mirror is set.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The official Dream checkpoints.
pub const KNOWN_MODELS: [&str; 2] = ["Dream-org/Dream-v0-Instruct-7B", "Dream-org/Dream-v0-Base-7B"];

/// Where `--model` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    Local(PathBuf),
    Hub(String),
}

impl ModelSource {
    /// An existing path is a local folder; otherwise `owner/name` is a Hub repo id.
    ///
    /// ```
    /// use dream_engine::hub::ModelSource;
    /// assert_eq!(ModelSource::parse("Dream-org/Dream-v0-Base-7B"), ModelSource::Hub("Dream-org/Dream-v0-Base-7B".into()));
    /// assert!(matches!(ModelSource::parse("/no/such/dir"), ModelSource::Local(_)));
    /// ```
    pub fn parse(spec: &str) -> Self {
        let path = Path::new(spec);
        let parts: Vec<&str> = spec.split('/').collect();
        let repo_like = parts.len() == 2
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
            && !spec.starts_with('.');
        if path.exists() || !repo_like {
            ModelSource::Local(path.to_owned())
        } else {
            ModelSource::Hub(spec.to_owned())
        }
    }
}

/// Download progress of one file.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DownloadProgress {
    pub file: String,
    pub downloaded: u64,
    pub total: u64,
    /// Fetched whole again: the resumed file did not verify (bad bytes from an earlier try).
    pub again: bool,
}

/// A callback told about download progress.
pub type ProgressFn = Arc<dyn Fn(&DownloadProgress) + Send + Sync>;

/// Whether `HF_HUB_OFFLINE` asks for no network access.
pub fn offline_from_env() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// The Hugging Face cache the Python tools use: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn cache_from_env() -> Cache {
    match std::env::var_os("HF_HUB_CACHE") {
        Some(dir) if !dir.is_empty() => Cache::new(dir.into()),
        _ => Cache::from_env(),
    }
}

/// The files a complete checkpoint needs in a snapshot, or the first missing one.
fn snapshot_complete(dir: &Path) -> std::result::Result<(), String> {
    if !dir.join("config.json").is_file() {
        return Err("config.json".into());
    }
    if crate::tokenizer::tokenizer_files(dir).is_none() {
        return Err("tokenizer.json (or vocab.json + merges.txt + tokenizer_config.json)".into());
    }
    match crate::checkpoint::weights::weight_files(dir) {
        Ok(files) => match files.iter().find(|f| !f.is_file()) {
            Some(f) => Err(f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
            None => Ok(()),
        },
        Err(_) => Err("model.safetensors (or model.safetensors.index.json)".into()),
    }
}

/// The snapshot folder of `repo` in `cache` if it holds a complete checkpoint; otherwise the
/// name of the first file it lacks.
pub fn cached_snapshot(cache: &Cache, repo: &str) -> std::result::Result<PathBuf, String> {
    let repo_dir = repo_folder(cache, repo).ok_or_else(|| "config.json".to_string())?;
    // `refs/main` names the snapshot; it is used as a path only when it is a commit hash.
    let commit = std::fs::read_to_string(repo_dir.join("refs/main")).unwrap_or_default();
    let commit = commit.trim();
    if !download::is_commit(commit) {
        return Err("config.json".into());
    }
    let dir = repo_dir.join("snapshots").join(commit);
    snapshot_complete(&dir).map(|()| dir)
}

/// The cache folder of `repo` (`models--OWNER--NAME`), for a well-formed repo id.
fn repo_folder(cache: &Cache, repo: &str) -> Option<PathBuf> {
    is_repo_id(repo).then(|| cache.path().join(format!("models--{}", repo.replace('/', "--"))))
}

/// Where and how Hub models are fetched.
#[derive(Debug, Clone)]
pub struct HubOptions {
    pub cache: Cache,
    /// Never touch the network; use only what the cache holds.
    pub offline: bool,
    /// A mirror of the Hub (`HF_ENDPOINT`), e.g. `https://hf-mirror.com`.
    pub endpoint: Option<String>,
    /// Fetch again every cached file that does not verify (and the small files nothing can
    /// check) before using the snapshot.
    pub redownload: bool,
    /// How long a download waits for the server's next bytes before it stops with an error.
    pub stall_timeout: std::time::Duration,
}

impl HubOptions {
    /// The cache, offline mode and endpoint the Python tools would use.
    pub fn from_env() -> Self {
        HubOptions {
            cache: cache_from_env(),
            offline: offline_from_env(),
            endpoint: std::env::var("HF_ENDPOINT").ok().filter(|e| !e.is_empty()),
            redownload: false,
            stall_timeout: download::DEFAULT_STALL_TIMEOUT,
        }
    }
}

/// Resolves `source` to a checkpoint folder: a local folder as is; a Hub repo from the cache
/// when complete there, else (unless offline) downloaded into it.
pub async fn resolve(source: &ModelSource, options: &HubOptions, progress: Option<ProgressFn>) -> Result<PathBuf> {
    let (cache, offline) = (&options.cache, options.offline);
    let repo = match source {
        ModelSource::Local(path) => {
            return if path.exists() { Ok(path.clone()) } else { Err(Error::ModelDirMissing(path.clone())) };
        }
        ModelSource::Hub(repo) => repo,
    };
    let (in_cache, wanted, redownload) = (cache.clone(), repo.clone(), options.redownload);
    let found = blocking(move || {
        Ok(match cached_snapshot(&in_cache, &wanted) {
            Ok(dir) if redownload && !offline => {
                // Re-hashes every file: what does not match is fetched again.
                let removed = record::remove_damaged(&dir)?;
                tracing::info!("fetching again: {removed:?}");
                Err(removed.first().cloned().unwrap_or_default())
            }
            Ok(dir) => {
                // Cheap on every load: a truncated file is named here, not as a parse error.
                record::check_sizes(&dir)?;
                Ok(dir)
            }
            Err(missing) => Err(missing),
        })
    })
    .await?;
    let missing = match found {
        Ok(dir) => return Ok(dir),
        Err(missing) => missing,
    };
    if offline {
        return Err(Error::Hub {
            repo: repo.clone(),
            reason: HubError::Offline { cache: cache.path().to_owned(), missing },
        });
    }
    download(repo, options, progress).await
}

/// [`resolve`] with `options` (often [`HubOptions::from_env`]), on a private runtime; a
/// download stops at once with [`Error::Cancelled`] when `cancel` is set (the partial file
/// resumes next time).
pub fn resolve_blocking(
    spec: &str,
    options: &HubOptions,
    progress: Option<ProgressFn>,
    cancel: &AtomicBool,
) -> Result<PathBuf> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("<tokio runtime>", e))?;
    let source = ModelSource::parse(spec);
    rt.block_on(async {
        let cancelled = async {
            while !cancel.load(Ordering::Relaxed) {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            resolved = resolve(&source, options, progress) => resolved,
            () = cancelled => Err(Error::Cancelled),
        }
    })
}

/// Downloads every file a checkpoint needs into the cache and returns its snapshot folder.
async fn download(repo: &str, options: &HubOptions, progress: Option<ProgressFn>) -> Result<PathBuf> {
    let hub_err = |reason| Error::Hub { repo: repo.to_owned(), reason };
    let endpoint = options.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
    let remote = download::Remote::new(endpoint, repo, options.stall_timeout)?;
    let repo_dir = repo_folder(&options.cache, repo).ok_or_else(|| hub_err(HubError::NotARepoId))?;
    let listing = remote.list().await?;
    let has = |f: &str| listing.files.iter().any(|s| s == f);
    let mut files: Vec<String> = vec!["config.json".into()];
    use crate::tokenizer::BPE_LAYOUT;
    files.extend(crate::tokenizer::layout(has).iter().map(|f| f.to_string()));
    // tokenizer_config.json holds the chat template in either layout (an Instruct model's).
    // Nothing else is fetched: the sampling defaults are the writer's settings, not the
    // checkpoint's generation_config.json.
    if has(BPE_LAYOUT[2]) && !files.iter().any(|f| f == BPE_LAYOUT[2]) {
        files.push(BPE_LAYOUT[2].into());
    }
    let index = "model.safetensors.index.json";
    files.push(if has(index) { index.into() } else { "model.safetensors".into() });
    let dir = repo_dir.join("snapshots").join(&listing.commit);
    let mut i = 0;
    while i < files.len() {
        let file = files[i].clone();
        let listed = listing.sizes.get(&file).copied();
        let path = remote.fetch(&repo_dir, &listing.commit, &file, listed, progress.as_ref()).await?;
        if file == index {
            for shard in crate::checkpoint::weights::weight_files(&dir)? {
                files.push(shard.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            }
        }
        debug_assert!(path.starts_with(&dir));
        i += 1;
    }
    snapshot_complete(&dir).map_err(|m| hub_err(HubError::Incomplete(m)))?;
    // Every LFS file was checked against its SHA-256 as it arrived (download.rs); the record
    // keeps what was verified for later loads (hashing the files that are not LFS blobs).
    let recorded = dir.clone();
    blocking(move || record::write(&recorded)).await?;
    Ok(dir)
}

/// Runs file work that blocks (hashing gigabytes, writing, renaming) on the runtime's blocking
/// pool, so a download never stalls the async threads it shares with the app's commands.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // The runtime is shutting down.
        Err(_) => Err(Error::Cancelled),
    }
}

/// Re-hashes every file of a model in the cache (a Hub repo id, or a snapshot folder) against
/// what was verified when it was downloaded; returns the folder and what does not match.
pub fn verify_cached(spec: &str) -> Result<(PathBuf, Vec<Damage>)> {
    let dir = match ModelSource::parse(spec) {
        ModelSource::Local(dir) if dir.is_dir() => dir,
        ModelSource::Local(dir) => return Err(Error::ModelDirMissing(dir)),
        ModelSource::Hub(repo) => cached_snapshot(&cache_from_env(), &repo)
            .map_err(|missing| Error::Hub { repo: repo.clone(), reason: HubError::NotCached(missing) })?,
    };
    let damage = record::verify(&dir)?;
    Ok((dir, damage))
}

/// The SHA-256 of each weight file of the model at `path` (a checkpoint folder or a `.gguf`
/// file), in order, where every one is known without reading them (see [`verify_cached`]'s
/// record); empty otherwise.
pub fn weights_sha256(path: &Path) -> Vec<String> {
    let files = if crate::checkpoint::gguf::is_gguf(path) {
        Ok(vec![path.to_owned()])
    } else {
        crate::checkpoint::weights::weight_files(path)
    };
    let known: Option<Vec<String>> = files.ok().and_then(|f| f.iter().map(|f| record::known_sha256(f)).collect());
    known.unwrap_or_default()
}

/// Re-hashes every file of snapshot folder `dir` (see [`verify_cached`]).
pub fn verify_folder(dir: &Path) -> Result<Vec<Damage>> {
    record::verify(dir)
}
