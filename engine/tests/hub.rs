//! Model lookup in a fake Hugging Face cache laid out on disk exactly as hf-hub and the Python
//! tools write it: `models--OWNER--NAME/{refs/main, snapshots/SHA/...}`.
mod common;

use std::sync::atomic::AtomicBool;

use std::path::{Path, PathBuf};

use dream_engine::hub::{cache_from_env, cached_snapshot, resolve_blocking, HubOptions, ModelSource};
use dream_engine::{Dream, Error};
use hf_hub::Cache;

const REPO: &str = "Dream-org/Dream-v0-Base-7B";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// Lays out the fixture checkpoint as a cached snapshot (blobs + symlinks, like hf-hub).
fn fake_cache(hub: &Path, files: &[&str]) -> PathBuf {
    let repo = hub.join("models--Dream-org--Dream-v0-Base-7B");
    let snapshot = repo.join("snapshots").join(SHA);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), SHA).unwrap();
    for (i, f) in files.iter().enumerate() {
        let blob = repo.join("blobs").join(format!("etag{i}"));
        std::fs::copy(common::fixture_dir().join(f), &blob).unwrap();
        std::os::unix::fs::symlink(&blob, snapshot.join(f)).unwrap();
    }
    snapshot
}

const ALL: &[&str] = &["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"];

#[test]
fn a_complete_snapshot_is_found_and_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = fake_cache(tmp.path(), ALL);
    let dir = cached_snapshot(&Cache::new(tmp.path().to_owned()), REPO).unwrap();
    assert_eq!(dir, snapshot);
    let dream = Dream::load(&dir, &candle_core::Device::Cpu, None).unwrap();
    assert_eq!(dream.config.mask_token_id, 997);
}

#[test]
fn an_incomplete_snapshot_names_what_it_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    fake_cache(tmp.path(), &["config.json", "tokenizer.json"]);
    let missing = cached_snapshot(&Cache::new(tmp.path().to_owned()), REPO).unwrap_err();
    assert!(missing.contains("model.safetensors"), "{missing}");
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(cached_snapshot(&Cache::new(empty.path().to_owned()), REPO).unwrap_err(), "config.json");
}

#[test]
fn lfs_blobs_are_checked_against_their_sha256() {
    use sha2::{Digest, Sha256};
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = fake_cache(tmp.path(), &["config.json"]);
    // Store the weights as the Hub does: a blob named by its SHA-256, linked from the snapshot.
    let bytes = std::fs::read(common::fixture_dir().join("model.safetensors")).unwrap();
    let sha = format!("{:x}", Sha256::digest(&bytes));
    let blob = tmp.path().join("models--Dream-org--Dream-v0-Base-7B/blobs").join(&sha);
    std::fs::write(&blob, &bytes).unwrap();
    std::os::unix::fs::symlink(&blob, snapshot.join("model.safetensors")).unwrap();
    assert!(dream_engine::hub::verify_folder(&snapshot).unwrap().is_empty());
    // One flipped byte: the file is named (`dream verify`, the app's Verify).
    let mut bad = bytes.clone();
    bad[1000] ^= 1;
    std::fs::write(&blob, &bad).unwrap();
    let damage = dream_engine::hub::verify_folder(&snapshot).unwrap();
    assert_eq!(damage.len(), 1);
    assert_eq!(damage[0].file, "model.safetensors");
    assert!(damage[0].reason.starts_with("SHA-256"), "{:?}", damage[0]);
}

#[test]
fn specs_are_folders_or_repo_ids() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(ModelSource::parse(tmp.path().to_str().unwrap()), ModelSource::Local(tmp.path().to_owned()));
    assert_eq!(ModelSource::parse(REPO), ModelSource::Hub(REPO.into()));
    assert!(matches!(ModelSource::parse("./models/dream"), ModelSource::Local(_)));
    assert!(matches!(ModelSource::parse("a/b/c"), ModelSource::Local(_)));
}

/// Everything that reads the environment, in one test so no other test sees it change.
#[test]
fn hf_home_and_offline_mode_from_the_environment() {
    let home = tempfile::tempdir().unwrap();
    let snapshot = fake_cache(&home.path().join("hub"), ALL);
    std::env::remove_var("HF_HUB_CACHE");
    std::env::set_var("HF_HOME", home.path());
    std::env::set_var("HF_HUB_OFFLINE", "1");
    assert_eq!(cache_from_env().path(), &home.path().join("hub"));
    assert_eq!(resolve_blocking(REPO, &HubOptions::from_env(), None, &AtomicBool::new(false)).unwrap(), snapshot);
    // Offline with a repo that is not cached: a clear error, no network attempt.
    let err =
        resolve_blocking("Dream-org/Dream-v0-Instruct-7B", &HubOptions::from_env(), None, &AtomicBool::new(false))
            .unwrap_err();
    assert!(matches!(err, Error::Hub { .. }), "{err}");
    assert!(err.to_string().contains("offline") && err.to_string().contains("config.json"), "{err}");
    // HF_HUB_CACHE wins over HF_HOME, as in the Python tools.
    let other = tempfile::tempdir().unwrap();
    std::env::set_var("HF_HUB_CACHE", other.path());
    assert_eq!(cache_from_env().path(), &other.path().to_owned());
    assert!(resolve_blocking(REPO, &HubOptions::from_env(), None, &AtomicBool::new(false)).is_err());
    std::env::remove_var("HF_HUB_CACHE");
    // A local folder is used as is; a missing one is named.
    let local = common::fixture_dir();
    assert_eq!(
        resolve_blocking(local.to_str().unwrap(), &HubOptions::from_env(), None, &AtomicBool::new(false)).unwrap(),
        local
    );
    assert!(matches!(
        resolve_blocking("/no/such/model", &HubOptions::from_env(), None, &AtomicBool::new(false)),
        Err(Error::ModelDirMissing(_))
    ));
}
