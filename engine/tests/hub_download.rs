//! Downloads through hf-hub from a stand-in Hub on 127.0.0.1 that answers as the real one does
//! (repo info, `resolve/main` with etag / x-repo-commit / content-range, byte ranges): progress,
//! the Hugging Face cache layout, the SHA-256 check of weights, and offline use afterwards.
mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use dream_engine::hub::{resolve, DownloadProgress, HubOptions, ModelSource};
use dream_engine::{Dream, Error};
use hf_hub::Cache;
use sha2::{Digest, Sha256};

const REPO: &str = "Dream-org/Dream-v0-Base-7B";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// The requests a stand-in Hub received: path and byte range.
type Log = Arc<Mutex<Vec<(String, Option<(usize, usize)>)>>>;

/// Serves `files` (name -> bytes) for `REPO`; `corrupt` flips a byte of that file's body while
/// still announcing the right hash. Returns the endpoint URL.
fn stand_in_hub(files: HashMap<String, Vec<u8>>, corrupt: Option<&'static str>) -> String {
    stand_in_hub_logged(files, corrupt).0
}

fn stand_in_hub_logged(files: HashMap<String, Vec<u8>>, corrupt: Option<&'static str>) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let files = Arc::new(files);
    let log: Log = Arc::default();
    let requests = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let files = files.clone();
            let requests = requests.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut range = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        let (a, b) = v.trim().split_once('-').unwrap();
                        range = Some((a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()));
                    }
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                requests.lock().unwrap().push((path.clone(), range));
                let (status, headers, body) = answer(&files, &path, range, corrupt);
                let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            });
        }
    });
    (url, log)
}

fn answer(
    files: &HashMap<String, Vec<u8>>,
    path: &str,
    range: Option<(usize, usize)>,
    corrupt: Option<&str>,
) -> (&'static str, Vec<(String, String)>, Vec<u8>) {
    if path == format!("/api/models/{REPO}/revision/main") {
        let siblings: Vec<_> = files.keys().map(|f| serde_json::json!({"rfilename": f})).collect();
        let body = serde_json::json!({"sha": COMMIT, "siblings": siblings}).to_string().into_bytes();
        return ("200 OK", vec![("Content-Type".into(), "application/json".into())], body);
    }
    let Some(name) = path.strip_prefix(&format!("/{REPO}/resolve/main/")) else {
        return ("404 Not Found", vec![], vec![]);
    };
    let Some(bytes) = files.get(name) else { return ("404 Not Found", vec![], vec![]) };
    let mut bytes = bytes.clone();
    let etag = format!("{:x}", Sha256::digest(&bytes)); // as for the Hub's LFS files
    if corrupt == Some(name) {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
    }
    let (a, b) = range.unwrap_or((0, bytes.len() - 1));
    let b = b.min(bytes.len() - 1);
    let headers = vec![
        ("ETag".into(), format!("\"{etag}\"")),
        ("X-Repo-Commit".into(), COMMIT.into()),
        ("Content-Range".into(), format!("bytes {a}-{b}/{}", bytes.len())),
    ];
    ("206 Partial Content", headers, bytes[a..=b].to_vec())
}

fn fixture_files() -> HashMap<String, Vec<u8>> {
    ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors", "generation_config.json"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(common::fixture_dir().join(f)).unwrap()))
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn downloads_into_the_cache_with_progress_then_works_offline() {
    let cache = tempfile::tempdir().unwrap();
    let endpoint = stand_in_hub(fixture_files(), None);
    let events: Arc<Mutex<Vec<DownloadProgress>>> = Arc::default();
    let sink = events.clone();
    let progress: dream_engine::hub::ProgressFn =
        Arc::new(move |p: &DownloadProgress| sink.lock().unwrap().push(p.clone()));
    let options = HubOptions { cache: Cache::new(cache.path().to_owned()), offline: false, endpoint: Some(endpoint) };
    let dir = runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &options, Some(progress))).unwrap();

    // The standard layout, shared with the Python tools.
    assert!(
        dir.starts_with(cache.path().join("models--Dream-org--Dream-v0-Base-7B/snapshots").join(COMMIT)),
        "{}",
        dir.display()
    );
    let dream = Dream::load(&dir, &candle_core::Device::Cpu, None).unwrap();
    assert_eq!(dream.config.mask_token_id, 997);
    // Progress reached the whole size of the weights.
    let events = events.lock().unwrap();
    let size = std::fs::metadata(common::fixture_dir().join("model.safetensors")).unwrap().len();
    assert!(
        events.iter().any(|e| e.file == "model.safetensors" && e.total == size && e.downloaded == size),
        "{events:?}"
    );

    // Offline, the cached snapshot is found without the network.
    let offline = HubOptions {
        cache: Cache::new(cache.path().to_owned()),
        offline: true,
        endpoint: Some("http://127.0.0.1:9".into()),
    };
    assert_eq!(runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &offline, None)).unwrap(), dir);
}

#[test]
fn corrupted_weights_fail_their_checksum_and_are_removed() {
    let cache = tempfile::tempdir().unwrap();
    let endpoint = stand_in_hub(fixture_files(), Some("model.safetensors"));
    let options = HubOptions { cache: Cache::new(cache.path().to_owned()), offline: false, endpoint: Some(endpoint) };
    let err = runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &options, None)).unwrap_err();
    assert!(matches!(err, Error::CorruptWeights { ref path, .. } if path.ends_with("model.safetensors")), "{err}");
    assert!(err.to_string().contains("SHA-256"));
}

#[test]
fn an_unreachable_hub_is_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let options = HubOptions {
        cache: Cache::new(cache.path().to_owned()),
        offline: false,
        endpoint: Some("http://127.0.0.1:9".into()),
    };
    let err = runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &options, None)).unwrap_err();
    assert!(matches!(err, Error::Hub { .. }), "{err}");
    assert!(err.to_string().contains("Dream-org/Dream-v0-Base-7B"), "{err}");
}

/// An interrupted download (hf-hub's `.sync.part`: the bytes so far, then how many are
/// committed) continues where it stopped.
#[test]
fn an_interrupted_download_resumes() {
    let cache = tempfile::tempdir().unwrap();
    let files = fixture_files();
    let weights = files["model.safetensors"].clone();
    let sha = format!("{:x}", Sha256::digest(&weights));
    let blobs = cache.path().join("models--Dream-org--Dream-v0-Base-7B/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let half = weights.len() / 2;
    let mut part = weights[..half].to_vec();
    part.resize(weights.len(), 0);
    part.extend((half as u64).to_le_bytes());
    std::fs::write(blobs.join(format!("{sha}.sync.part")), part).unwrap();

    let (endpoint, log) = stand_in_hub_logged(files, None);
    let options = HubOptions { cache: Cache::new(cache.path().to_owned()), offline: false, endpoint: Some(endpoint) };
    let dir = runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &options, None)).unwrap();
    assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), weights);
    let ranges: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, r)| p.ends_with("/model.safetensors") && *r != Some((0, 0)))
        .map(|(_, r)| r.unwrap())
        .collect();
    assert!(
        !ranges.is_empty() && ranges.iter().all(|&(a, _)| a >= half),
        "only the missing half is fetched: {ranges:?}"
    );
}
