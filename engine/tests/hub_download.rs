//! Downloads from a stand-in Hub on 127.0.0.1 that answers as the real one does (repo info,
//! `resolve/<rev>/<file>` with X-Linked-Etag / X-Repo-Commit, byte ranges): progress, the
//! Hugging Face cache layout, the SHA-256 check of weights, resume, cancel, offline use; and
//! a hostile stand-in whose headers and names try to write outside the cache.
mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dream_engine::hub::{resolve, DownloadProgress, HubOptions, ModelSource};
use dream_engine::{Dream, Error};
use hf_hub::Cache;
use sha2::{Digest, Sha256};

const REPO: &str = "Dream-org/Dream-v0-Base-7B";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// How the stand-in misbehaves.
#[derive(Clone, Default)]
struct Hub {
    files: HashMap<String, Vec<u8>>,
    /// Flips a byte of this file's body while announcing the right hash.
    corrupt: Option<&'static str>,
    /// Answers this commit hash instead of the real one (listing and headers).
    commit: Option<&'static str>,
    /// Answers this ETag for every file.
    etag: Option<&'static str>,
    /// Lists this extra file name.
    extra_name: Option<&'static str>,
    /// Redirects every download to this address.
    redirect: Option<String>,
    /// Sends bodies in small chunks with a pause between them.
    slow: bool,
    /// Sends this file without a Content-Length and without end (well past its size, until
    /// the client hangs up or 256 MiB went out), as a broken mirror did.
    endless: Option<&'static str>,
    /// Sends half of this file's body, then nothing for 30 s.
    stall: Option<&'static str>,
    /// Lists no sizes (a mirror whose listing lacks them).
    unsized_listing: bool,
}

/// What the stand-in saw: request paths with their byte range, and body bytes sent.
#[derive(Default)]
struct Log {
    requests: Mutex<Vec<(String, Option<usize>)>>,
    sent: AtomicU64,
}

fn serve(hub: Hub) -> (String, Arc<Log>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hub = Arc::new(hub);
    let log: Arc<Log> = Arc::default();
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let (hub, log) = (hub.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
                }
                let mut range = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        range = v.trim().trim_end_matches('-').split('-').next().and_then(|a| a.parse::<usize>().ok());
                    }
                }
                let mut words = request_line.split_whitespace();
                let method = words.next().unwrap_or("GET").to_owned();
                let path = words.next().unwrap_or("/").to_owned();
                log.requests.lock().unwrap().push((path.clone(), range));
                let (status, headers, body) = answer(&hub, &path, range);
                let served = path.rsplit('/').next().unwrap_or_default();
                let endless = method == "GET" && hub.endless == Some(served);
                let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
                if !endless {
                    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if stream.write_all(head.as_bytes()).is_err() || method == "HEAD" {
                    return;
                }
                if endless {
                    let block = vec![b'x'; 1 << 16];
                    for _ in 0..4096 {
                        if stream.write_all(&block).is_err() {
                            return;
                        }
                        log.sent.fetch_add(block.len() as u64, Ordering::SeqCst);
                    }
                    return;
                }
                if hub.stall == Some(served) {
                    let _ = stream.write_all(&body[..body.len() / 2]).and_then(|()| stream.flush());
                    std::thread::sleep(Duration::from_secs(30));
                    return;
                }
                let chunk = if hub.slow { 64 } else { body.len().max(1) };
                for part in body.chunks(chunk) {
                    if stream.write_all(part).and_then(|()| stream.flush()).is_err() {
                        return;
                    }
                    log.sent.fetch_add(part.len() as u64, Ordering::SeqCst);
                    if hub.slow {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            });
        }
    });
    (url, log)
}

fn answer(hub: &Hub, path: &str, range: Option<usize>) -> (&'static str, Vec<(String, String)>, Vec<u8>) {
    let commit = hub.commit.unwrap_or(COMMIT);
    if path.split('?').next() == Some(&format!("/api/models/{REPO}/revision/main")) {
        // As the Hub lists with `?blobs=true`: each file's size, and LFS files' own.
        let mut siblings: Vec<_> = hub
            .files
            .iter()
            .map(|(f, bytes)| match (hub.unsized_listing, lfs(f)) {
                (true, _) => serde_json::json!({ "rfilename": f }),
                (false, true) => serde_json::json!({
                    "rfilename": f, "size": bytes.len(), "lfs": { "size": bytes.len(), "sha256": format!("{:x}", Sha256::digest(bytes)) }
                }),
                (false, false) => serde_json::json!({ "rfilename": f, "size": bytes.len(), "blobId": git_sha1(bytes) }),
            })
            .collect();
        siblings.extend(hub.extra_name.map(|f| serde_json::json!({ "rfilename": f })));
        let body = serde_json::json!({ "sha": commit, "siblings": siblings }).to_string().into_bytes();
        return ("200 OK", vec![("Content-Type".into(), "application/json".into())], body);
    }
    let name = path.strip_prefix(&format!("/{REPO}/resolve/{commit}/")).or_else(|| path.strip_prefix("/cdn/"));
    let Some(bytes) = name.and_then(|n| hub.files.get(n)) else { return ("404 Not Found", vec![], vec![]) };
    let name = name.unwrap();
    let mut bytes = bytes.clone();
    // The Hub's ETags: an LFS file's SHA-256, any other file's git blob SHA-1.
    let real_etag = if lfs(name) { format!("{:x}", Sha256::digest(&bytes)) } else { git_sha1(&bytes) };
    let etag = hub.etag.map(str::to_owned).unwrap_or(real_etag);
    if hub.corrupt == Some(name) {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
    }
    let mut headers = vec![("X-Linked-Etag".into(), format!("\"{etag}\"")), ("X-Repo-Commit".into(), commit.into())];
    if !hub.unsized_listing {
        headers.push(("X-Linked-Size".into(), bytes.len().to_string()));
    }
    if let Some(to) = hub.redirect.as_ref().filter(|_| !path.starts_with("/cdn/")) {
        headers.push(("Location".into(), format!("{to}/cdn/{name}")));
        return ("302 Found", headers, vec![]);
    }
    match range {
        Some(a) if a < bytes.len() => {
            headers.push(("Content-Range".into(), format!("bytes {a}-{}/{}", bytes.len() - 1, bytes.len())));
            ("206 Partial Content", headers, bytes[a..].to_vec())
        }
        _ => ("200 OK", headers, bytes),
    }
}

/// Whether the Hub stores `name` in LFS (the weights).
fn lfs(name: &str) -> bool {
    name.ends_with(".safetensors")
}

/// Git's blob SHA-1 of `bytes`, in hex.
fn git_sha1(bytes: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    format!("{:x}", h.finalize())
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

fn options(cache: &Path, endpoint: &str) -> HubOptions {
    HubOptions {
        cache: Cache::new(cache.to_owned()),
        offline: false,
        endpoint: Some(endpoint.into()),
        redownload: false,
        stall_timeout: Duration::from_secs(60),
    }
}

fn fetch(cache: &Path, endpoint: &str) -> Result<std::path::PathBuf, Error> {
    runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &options(cache, endpoint), None))
}

/// Every path under `root`, relative.
fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                walk(&p, root, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn downloads_into_the_cache_with_progress_then_works_offline() {
    let cache = tempfile::tempdir().unwrap();
    let (endpoint, _) = serve(Hub { files: fixture_files(), ..Hub::default() });
    let events: Arc<Mutex<Vec<DownloadProgress>>> = Arc::default();
    let sink = events.clone();
    let progress: dream_engine::hub::ProgressFn =
        Arc::new(move |p: &DownloadProgress| sink.lock().unwrap().push(p.clone()));
    let dir = runtime()
        .block_on(resolve(&ModelSource::Hub(REPO.into()), &options(cache.path(), &endpoint), Some(progress)))
        .unwrap();

    // The standard layout, shared with the Python tools: relative links into blobs/.
    let repo = cache.path().join("models--Dream-org--Dream-v0-Base-7B");
    assert_eq!(dir, repo.join("snapshots").join(COMMIT));
    assert_eq!(std::fs::read_to_string(repo.join("refs/main")).unwrap(), COMMIT);
    let link = std::fs::read_link(dir.join("model.safetensors")).unwrap();
    assert!(link.starts_with("../../blobs"), "{}", link.display());
    let dream = Dream::load(&dir, &candle_core::Device::Cpu, None).unwrap();
    assert_eq!(dream.config.mask_token_id, 997);
    // Only what the engine reads is fetched (the mirror also lists a generation_config.json).
    let mut fetched: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    fetched.sort();
    assert_eq!(fetched, ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    // The weights' SHA-256 is known from the download (what the app credits the model's words to).
    let weights = std::fs::read(common::fixture_dir().join("model.safetensors")).unwrap();
    assert_eq!(dream_engine::hub::weights_sha256(&dir), [format!("{:x}", Sha256::digest(&weights))]);
    // A folder that was never downloaded has none known.
    assert!(dream_engine::hub::weights_sha256(&common::fixture_dir()).is_empty());
    // Progress reached the whole size of the weights.
    let events = events.lock().unwrap();
    let size = std::fs::metadata(common::fixture_dir().join("model.safetensors")).unwrap().len();
    assert!(
        events.iter().any(|e| e.file == "model.safetensors" && e.total == size && e.downloaded == size),
        "{events:?}"
    );

    // Offline, the cached snapshot is found without the network.
    let offline = HubOptions { offline: true, ..options(cache.path(), "http://127.0.0.1:9") };
    assert_eq!(runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &offline, None)).unwrap(), dir);
}

/// An Instruct repo that ships `tokenizer.json` keeps its chat template in
/// `tokenizer_config.json`: that is fetched too, or the downloaded model could not follow
/// instructions.
#[test]
fn the_chat_template_beside_a_tokenizer_json_is_downloaded() {
    let cache = tempfile::tempdir().unwrap();
    let mut files = fixture_files();
    let mut config: serde_json::Value = serde_json::from_slice(&files["tokenizer_config.json"]).unwrap();
    config["chat_template"] = "{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}".into();
    files.insert("tokenizer_config.json".into(), config.to_string().into_bytes());
    let (endpoint, _) = serve(Hub { files, ..Hub::default() });
    let dir = fetch(cache.path(), &endpoint).unwrap();
    let dream = Dream::load(&dir, &candle_core::Device::Cpu, None).unwrap();
    assert!(dream.tokenizer.chat_template().unwrap().is_some(), "no chat template in {:?}", tree(&dir));
}

#[test]
fn corrupted_weights_fail_their_checksum_and_are_removed() {
    let cache = tempfile::tempdir().unwrap();
    let (endpoint, _) = serve(Hub { files: fixture_files(), corrupt: Some("model.safetensors"), ..Hub::default() });
    let err = fetch(cache.path(), &endpoint).unwrap_err();
    assert!(matches!(err, Error::CorruptWeights { ref path, .. } if path.ends_with("model.safetensors")), "{err}");
    assert!(err.to_string().contains("SHA-256"));
    let sha = format!("{:x}", Sha256::digest(&fixture_files()["model.safetensors"]));
    let left = tree(cache.path());
    assert!(!left.iter().any(|p| p.contains(&sha)), "neither the bad blob nor its partial file stays: {left:?}");
}

/// A config or tokenizer file (not in LFS) is checked against the git blob SHA-1 the Hub
/// reports as its ETag; it used to be taken as sent.
#[test]
fn a_damaged_config_fails_its_git_sha1_and_is_removed() {
    let cache = tempfile::tempdir().unwrap();
    let (endpoint, _) = serve(Hub { files: fixture_files(), corrupt: Some("config.json"), ..Hub::default() });
    let err = fetch(cache.path(), &endpoint).unwrap_err();
    assert!(matches!(err, Error::CorruptWeights { ref path, .. } if path.ends_with("config.json")), "{err}");
    assert!(err.to_string().contains("git SHA-1"), "{err}");
    let sha = git_sha1(&fixture_files()["config.json"]);
    let left = tree(cache.path());
    assert!(!left.iter().any(|p| p.contains(&sha)), "neither the bad blob nor its partial file stays: {left:?}");
}

/// A mirror that sends a file with no Content-Length and no end filled 5.2 GB in 25 s. Now
/// no file grows past the size the repository lists for it, and what was written is removed.
#[test]
fn a_file_without_end_stops_at_its_listed_size() {
    let cache = tempfile::tempdir().unwrap();
    let listed = fixture_files()["model.safetensors"].len() as u64;
    let (endpoint, log) = serve(Hub { files: fixture_files(), endless: Some("model.safetensors"), ..Hub::default() });
    let err = fetch(cache.path(), &endpoint).unwrap_err();
    assert!(err.to_string().contains(&format!("more than the {listed} bytes the repository lists")), "{err}");
    // The client hung up at the cap: far less than the 256 MiB the stand-in would send.
    let sent = log.sent.load(Ordering::SeqCst);
    assert!(sent < 64 << 20, "{sent} bytes went out");
    let left = tree(cache.path());
    assert!(!left.iter().any(|p| p.ends_with(".incomplete")), "nothing half-written stays: {left:?}");
}

/// The same mirror with a listing that gives no sizes: a config file may not pass the stated
/// maximum for its kind (64 MiB), so it stops there, not at the end of the disk.
#[test]
fn an_unlisted_file_without_end_stops_at_the_stated_maximum() {
    let cache = tempfile::tempdir().unwrap();
    let (endpoint, _) =
        serve(Hub { files: fixture_files(), endless: Some("config.json"), unsized_listing: true, ..Hub::default() });
    let err = fetch(cache.path(), &endpoint).unwrap_err();
    let max = dream_engine::tokenizer::MAX_TOKENIZER_BYTES;
    assert!(err.to_string().contains(&format!("config.json: the server sent more than the {max} bytes")), "{err}");
}

/// A mirror that stalls mid-file used to hang forever. Now a read that waits longer than the
/// stall timeout stops the download with the time in the message, and the part resumes later.
#[test]
fn a_stalled_download_ends_with_the_time_it_waited() {
    let cache = tempfile::tempdir().unwrap();
    let (endpoint, _) = serve(Hub { files: fixture_files(), stall: Some("model.safetensors"), ..Hub::default() });
    let options = HubOptions { stall_timeout: Duration::from_secs(1), ..options(cache.path(), &endpoint) };
    let started = std::time::Instant::now();
    let err = runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &options, None)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    assert!(err.to_string().contains("sent nothing for 1 s"), "{err}");
    let left = tree(cache.path());
    assert!(left.iter().any(|p| p.ends_with(".incomplete")), "the part stays to resume: {left:?}");
}

#[test]
fn an_unreachable_hub_is_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let err = fetch(cache.path(), "http://127.0.0.1:9").unwrap_err();
    assert!(matches!(err, Error::Hub { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("Dream-org/Dream-v0-Base-7B") && msg.contains("check the connection"), "{msg}");
}

/// An interrupted download (`blobs/<etag>.incomplete`, as the Python tools name it) continues
/// where it stopped.
#[test]
fn an_interrupted_download_resumes() {
    let cache = tempfile::tempdir().unwrap();
    let files = fixture_files();
    let weights = files["model.safetensors"].clone();
    let sha = format!("{:x}", Sha256::digest(&weights));
    let blobs = cache.path().join("models--Dream-org--Dream-v0-Base-7B/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let half = weights.len() / 2;
    std::fs::write(blobs.join(format!("{sha}.incomplete")), &weights[..half]).unwrap();

    let (endpoint, log) = serve(Hub { files, ..Hub::default() });
    let dir = fetch(cache.path(), &endpoint).unwrap();
    assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), weights);
    let ranges: Vec<_> = log
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.ends_with("/model.safetensors"))
        .map(|(_, r)| *r)
        .collect();
    assert!(ranges.contains(&Some(half)) && !ranges.contains(&Some(0)), "only the missing half is fetched: {ranges:?}");
}

/// A partial file that holds wrong bytes (a mirror sent them, then stalled) fails its check
/// once resumed: it is discarded and fetched whole in the same try, which says so.
#[test]
fn a_resumed_file_that_does_not_verify_is_fetched_whole_in_the_same_try() {
    let cache = tempfile::tempdir().unwrap();
    let files = fixture_files();
    let weights = files["model.safetensors"].clone();
    let sha = format!("{:x}", Sha256::digest(&weights));
    let blobs = cache.path().join("models--Dream-org--Dream-v0-Base-7B/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(format!("{sha}.incomplete")), vec![0x5a; 1024]).unwrap();

    let (endpoint, log) = serve(Hub { files, ..Hub::default() });
    let events: Arc<Mutex<Vec<DownloadProgress>>> = Arc::default();
    let sink = events.clone();
    let progress: dream_engine::hub::ProgressFn =
        Arc::new(move |p: &DownloadProgress| sink.lock().unwrap().push(p.clone()));
    let dir = runtime()
        .block_on(resolve(&ModelSource::Hub(REPO.into()), &options(cache.path(), &endpoint), Some(progress)))
        .unwrap();
    assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), weights);
    let ranges: Vec<_> = log
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.ends_with("/model.safetensors"))
        .map(|(_, r)| *r)
        .collect();
    assert!(ranges.contains(&Some(1024)), "the part was resumed first: {ranges:?}");
    let events = events.lock().unwrap();
    let again: Vec<_> = events.iter().filter(|e| e.file == "model.safetensors" && e.again).collect();
    assert!(again.last().is_some_and(|e| e.downloaded == weights.len() as u64), "said, and fetched whole: {events:?}");
}

/// Cancel (dropping the download, as the app's abort does) stops the traffic at once and
/// leaves a partial file that the next try resumes.
#[test]
fn a_cancelled_download_stops_sending_and_resumes_later() {
    let cache = tempfile::tempdir().unwrap();
    let (endpoint, log) = serve(Hub { files: fixture_files(), slow: true, ..Hub::default() });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let opts = options(cache.path(), &endpoint);
    let task = rt.spawn(async move { resolve(&ModelSource::Hub(REPO.into()), &opts, None).await });
    let weights = cache.path().join("models--Dream-org--Dream-v0-Base-7B/blobs");
    let started = std::time::Instant::now();
    while !tree(&weights).iter().any(|p| p.ends_with(".incomplete")) || log.sent.load(Ordering::SeqCst) < 20_000 {
        assert!(started.elapsed() < Duration::from_secs(60), "the weights download never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    task.abort();
    std::thread::sleep(Duration::from_millis(300));
    let after_cancel = log.sent.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(log.sent.load(Ordering::SeqCst) <= after_cancel + 64, "bytes kept flowing after cancel");
    let partial = tree(&weights).into_iter().find(|p| p.ends_with(".incomplete")).expect("a partial file stays");
    let kept = std::fs::metadata(weights.join(&partial)).unwrap().len();
    assert!(kept > 0);
    drop(rt);

    let (fast, log) = serve(Hub { files: fixture_files(), ..Hub::default() });
    fetch(cache.path(), &fast).unwrap();
    let ranges: Vec<_> = log.requests.lock().unwrap().iter().map(|(_, r)| *r).collect();
    assert!(ranges.contains(&Some(kept as usize)), "resumed at {kept}: {ranges:?}");
}

/// A hostile mirror: whatever it answers, nothing is written outside the cache and the error
/// says what was refused.
#[test]
fn a_hostile_mirror_cannot_write_outside_the_cache() {
    let cases: Vec<(Hub, &str)> = vec![
        (Hub { etag: Some("../../../../outside/evil"), ..Hub::default() }, "invalid ETag"),
        (Hub { commit: Some("../../../../outside"), ..Hub::default() }, "invalid commit hash"),
        (Hub { extra_name: Some("../../../outside.json"), ..Hub::default() }, "unsafe file name"),
        (Hub { extra_name: Some("/tmp/outside.json"), ..Hub::default() }, "unsafe file name"),
        (Hub { redirect: Some("http://example.com".into()), ..Hub::default() }, "not https"),
    ];
    for (hub, expected) in cases {
        let root = tempfile::tempdir().unwrap();
        let cache = root.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let (endpoint, _) = serve(Hub { files: fixture_files(), ..hub });
        let err = fetch(&cache, &endpoint).unwrap_err();
        assert!(err.to_string().contains(expected), "{expected}: {err}");
        let outside: Vec<String> = tree(root.path()).into_iter().filter(|p| !p.starts_with("cache")).collect();
        assert!(outside.is_empty(), "{expected}: written outside the cache: {outside:?}");
    }
    // Mirrors must be https (plain http only on loopback); repo ids must be owner/name.
    let cache = tempfile::tempdir().unwrap();
    let err = fetch(cache.path(), "http://example.com").unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
    let err = runtime()
        .block_on(resolve(&ModelSource::Hub("../../etc".into()), &options(cache.path(), "https://example.com"), None))
        .unwrap_err();
    assert!(err.to_string().contains("owner/name"), "{err}");
}

/// Cached weights are re-checked: a truncated blob is named on the next load (not a parse
/// error forever), a flipped bit is found by `verify` / `dream verify`, and `--redownload`
/// fetches what is damaged (and the small files nothing can check) again.
#[test]
fn damaged_cache_files_are_found_and_fetched_again() {
    let cache = tempfile::tempdir().unwrap();
    let (endpoint, _) = serve(Hub { files: fixture_files(), ..Hub::default() });
    let dir = fetch(cache.path(), &endpoint).unwrap();
    let weights = std::fs::canonicalize(dir.join("model.safetensors")).unwrap();
    let good = std::fs::read(&weights).unwrap();
    let dream_cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dream"))
            .args(args)
            .env("HF_HUB_CACHE", cache.path())
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap()
    };
    assert!(dream_cli(&["verify", REPO]).status.success());

    // Truncated: the next load says which file, and that it is damaged.
    std::fs::write(&weights, &good[..good.len() / 2]).unwrap();
    let offline = HubOptions { offline: true, ..options(cache.path(), "http://127.0.0.1:9") };
    let err = runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &offline, None)).unwrap_err();
    assert!(matches!(err, Error::DamagedModel { ref path, .. } if path.ends_with("model.safetensors")), "{err}");

    // A flipped bit keeps the size: verify finds it, by file.
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 1;
    std::fs::write(&weights, &flipped).unwrap();
    let damage = dream_engine::hub::verify_folder(&dir).unwrap();
    assert_eq!(damage.iter().map(|d| d.file.as_str()).collect::<Vec<_>>(), ["model.safetensors"]);
    let out = dream_cli(&["verify", REPO]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged: model.safetensors"));

    // A damaged config.json (garbage, same size) would fail forever; redownload fixes both.
    let config = std::fs::canonicalize(dir.join("config.json")).unwrap();
    let len = std::fs::metadata(&config).unwrap().len() as usize;
    std::fs::write(&config, vec![b'#'; len]).unwrap();
    let again = HubOptions { redownload: true, ..options(cache.path(), &endpoint) };
    let dir = runtime().block_on(resolve(&ModelSource::Hub(REPO.into()), &again, None)).unwrap();
    assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), good);
    assert!(dream_engine::hub::verify_folder(&dir).unwrap().is_empty());
    Dream::load(&dir, &candle_core::Device::Cpu, None).unwrap();
}
