//! A seeded, bounded mutation test of every parser a file or a page can reach: config.json,
//! tokenizer.json, safetensors headers, GGUF headers and metadata, and requests. Each format
//! gets a few hundred mutants of a valid file (bit flips, bytes set to 0x00/0xff/0x7f, large
//! numbers, truncation, duplicated and dropped runs), always the same ones (fixed seeds).
//! Every mutant must give a value or a typed error, never a panic, and allocate no more than a
//! stated bound while it is read. For longer, coverage-guided runs see `engine/fuzz/`.
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use dream_engine::{Dream, DreamConfig, InfillRequest};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CASES: usize = 300;
/// The most one mutant may hold at once while it is read, counted on the thread reading it
/// (the fixture model is 1 MB, the demo's tokenizer a few MB; the limits on sizes keep every
/// mutant far below this).
const PEAK_BYTES: i64 = 64 << 20;

/// The system allocator, counting what each thread holds and has held at most: a case's own
/// memory, whatever the tests running beside it in this process allocate.
struct PerThread;

thread_local! {
    static HELD: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn count(bytes: i64) {
    // `try_with`: nothing is counted while a thread's locals are torn down.
    let _ = HELD.try_with(|held| {
        held.set(held.get() + bytes);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(held.get())));
    });
}

unsafe impl GlobalAlloc for PerThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        count(-(layout.size() as i64));
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, size) };
        if !q.is_null() {
            count(size as i64 - layout.size() as i64);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: PerThread = PerThread;

/// The most `f` held at once beyond what this thread held before it, in bytes.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, i64) {
    let before = HELD.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let out = f();
    (out, PEAK.with(Cell::get) - before)
}

/// One mutant of `valid`.
fn mutate(valid: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut b = valid.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        if b.is_empty() {
            break;
        }
        let at = rng.random_range(0..b.len());
        match rng.random_range(0..7) {
            0 => b[at] ^= 1 << rng.random_range(0..8),
            1 => b[at] = [0x00, 0xff, 0x7f, 0x80][rng.random_range(0..4)],
            2 => b.truncate(at),
            3 => {
                let end = (at + rng.random_range(1..64)).min(b.len());
                let run = b[at..end].to_vec();
                b.splice(at..at, run);
            }
            4 => {
                let end = (at + rng.random_range(1..64)).min(b.len());
                b.drain(at..end);
            }
            5 => {
                // A little-endian u64 of an extreme value (lengths and counts in binary headers).
                let v: u64 = [u64::MAX, 1 << 40, 1 << 32, 0][rng.random_range(0..4)];
                let end = (at + 8).min(b.len());
                let bytes = v.to_le_bytes();
                b[at..end].copy_from_slice(&bytes[..end - at]);
            }
            _ => {
                // A huge decimal number where a digit was (sizes in JSON).
                if b[at].is_ascii_digit() {
                    let big = ["99999999999999999999", "4294967296", "-1", "1e308"][rng.random_range(0..4)];
                    b.splice(at..at + 1, big.bytes());
                }
            }
        }
    }
    b
}

/// Runs `parse` on `CASES` mutants of `valid`, seeded by `seed`; returns how many were
/// refused with an error.
fn survive(
    name: &str,
    seed: u64,
    valid: &[u8],
    mut parse: impl FnMut(&[u8]) -> Result<(), dream_engine::Error>,
) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut refused, mut worst) = (0, 0);
    for case in 0..CASES {
        let mutant = mutate(valid, &mut rng);
        let (outcome, peak) = peak_of(|| catch_unwind(AssertUnwindSafe(|| parse(&mutant))));
        worst = worst.max(peak);
        assert!(peak < PEAK_BYTES, "{name}: mutant {case} (seed {seed}) held {peak} bytes at once");
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
            Err(_) => panic!("{name}: mutant {case} (seed {seed}) panicked"),
        }
    }
    eprintln!("{name}: {refused} of {CASES} mutants refused; the most one held at once: {worst} bytes");
    refused
}

/// A copy of the fixture checkpoint whose `file` is replaced by each mutant in turn.
struct Scratch {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ckpt");
        std::fs::create_dir(&dir).unwrap();
        for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"] {
            std::fs::copy(common::fixture_dir().join(f), dir.join(f)).unwrap();
        }
        Scratch { _tmp: tmp, dir }
    }

    fn load_with(&self, file: &str, bytes: &[u8]) -> Result<(), dream_engine::Error> {
        std::fs::write(self.dir.join(file), bytes).unwrap();
        Dream::load_cancellable(&self.dir, &Device::Cpu, None, &AtomicBool::new(false)).map(|_| ())
    }
}

fn fixture(file: &str) -> Vec<u8> {
    std::fs::read(common::fixture_dir().join(file)).unwrap()
}

#[test]
fn config_json() {
    let refused = survive("config.json", 1, &fixture("config.json"), |b| {
        DreamConfig::from_json_str(&String::from_utf8_lossy(b), Path::new("config.json")).map(|_| ())
    });
    assert!(refused > CASES / 4, "most mutants of a config are refused: {refused}");
}

#[test]
fn tokenizer_json() {
    let scratch = Scratch::new();
    survive("tokenizer.json", 2, &fixture("tokenizer.json"), |b| scratch.load_with("tokenizer.json", b));
}

#[test]
fn safetensors_header_and_data() {
    let scratch = Scratch::new();
    let valid = fixture("model.safetensors");
    // Mutate the header (its 8-byte length and JSON) and the first tensors: where parsing is.
    let header = 8 + u64::from_le_bytes(valid[..8].try_into().unwrap()) as usize;
    let head = &valid[..(header + 4096).min(valid.len())];
    let tail = &valid[head.len()..];
    let refused =
        survive("model.safetensors", 3, head, |b| scratch.load_with("model.safetensors", &[b, tail].concat()));
    assert!(refused > 0);
}

#[test]
fn gguf_header_and_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tiny.gguf");
    dream_engine::checkpoint::quantize::quantize(
        &common::fixture_dir(),
        &file,
        dream_engine::checkpoint::quantize::QuantType::Q8_0,
    )
    .unwrap();
    let valid = std::fs::read(&file).unwrap();
    // The header, metadata (tokenizer arrays included) and tensor index come first.
    let head = &valid[..valid.len().min(64 * 1024)];
    let tail = &valid[head.len()..];
    let mutant = tmp.path().join("mutant.gguf");
    let refused = survive("gguf", 4, head, |b| {
        std::fs::write(&mutant, [b, tail].concat()).unwrap();
        Dream::load(&mutant, &Device::Cpu, None).map(|_| ())
    });
    assert!(refused > 0);
}

#[test]
fn requests() {
    // The demo's tokenizer and context: its weights (1.2 GB at peak while they are built) would
    // hide what a mutant allocates.
    let tok = dream_engine::demo::demo_tokenizer().unwrap();
    let context = dream_engine::demo::demo_config().context_limit();
    let valid = serde_json::json!({
        "text": "The old keeper climbed the stairs. <|mask|> He stopped.",
        "spans": [{ "start": 4, "end": 14, "tokens": 3 }, { "start": 20, "end": 20, "tokens": 2 }],
        "continuation": 4,
        "ending": {"text": "The end.", "at": 4, "gap": 3},
        "settings": { "steps": 4, "alg": "entropy", "temperature": 0.5, "top_p": 0.9, "top_k": 20, "seed": 7 },
        "candidates": 2
    })
    .to_string();
    let refused = survive("request", 5, valid.as_bytes(), |b| {
        let Ok(request) = serde_json::from_slice::<InfillRequest>(b) else { return Ok(()) };
        request.prepare(&tok, context).map(|_| ())
    });
    assert!(refused > 0);
}
