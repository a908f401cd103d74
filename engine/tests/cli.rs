//! The `dream` binary end to end on the fixture checkpoint.
mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dream_engine::{InfillStep, Infilled, StepEvent};

/// One line of `--events jsonl`, read as the CLI documents it.
#[derive(serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum InfillEvent {
    Step(InfillStep),
    Done(Infilled),
}

fn dream(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dream"))
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The events of `--events jsonl`: a `loaded` line first (checked here), then steps and done.
fn lines(out: &Output) -> Vec<InfillEvent> {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let loaded: serde_json::Value = serde_json::from_str(lines.next().expect("a first line")).unwrap();
    assert_eq!(loaded["event"], "loaded", "{loaded}");
    assert!(loaded["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{loaded}");
    lines.map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The official B4 call (an input with 8 mask ids, `_sample`, entropy, 8 steps) replayed
/// from the shell by writing `<|mask|>` in the text.
#[test]
fn replays_an_official_run_from_the_shell_as_json_lines() {
    let r = common::reference();
    let case = &r["sampler"]["B4_infill_steps8"];
    let input = common::ids(&case["input_ids"]).remove(0);
    let text: Vec<String> = input.iter().map(|&i| if i == 997 { "<|mask|>".into() } else { format!("w{i}") }).collect();
    let model = common::fixture_dir();
    let out = dream(
        &[
            "infill",
            "--model",
            model.to_str().unwrap(),
            "--text",
            &text.join(" "),
            "--steps",
            "8",
            "--alg",
            "entropy",
            "--events",
            "jsonl",
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events = lines(&out);
    assert_eq!(events.len(), 9, "8 steps and the result");
    let history: Vec<Vec<Vec<u32>>> = serde_json::from_value(case["runs"]["entropy"]["history"].clone()).unwrap();
    for (i, e) in events[..8].iter().enumerate() {
        let InfillEvent::Step(InfillStep { tokens: StepEvent { step, ids, .. }, .. }) = e else {
            panic!("line {i} is not a step")
        };
        assert_eq!(*step, i);
        assert_eq!(ids, &history[i]);
    }
    let InfillEvent::Done(done) = &events[8] else { panic!("last line is not the result") };
    assert_eq!(done.ids, common::ids(&case["runs"]["entropy"]["final"])[0]);
    assert!(!done.candidates[0].text.contains("<|mask|>"));
}

#[test]
fn takes_a_json_request_on_stdin_and_prints_the_text() {
    let model = common::fixture_dir();
    let request = r#"{"text": "w1 w2 XX w9", "spans": [{"start": 6, "end": 8, "tokens": 2}], "ending": {"text": "w4"}, "settings": {"steps": 2}}"#;
    let out = dream(&["infill", "--model", model.to_str().unwrap(), "--request", "-"], Some(request));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text.trim_end();
    assert!(text.starts_with("w1 w2 w") && text.ends_with(" w9 w4"), "{text}");
    assert!(!text.contains("XX"));
}

#[test]
fn errors_go_to_stderr_with_a_failing_exit() {
    let model = common::fixture_dir();
    let m = model.to_str().unwrap();
    for (args, needle) in [
        (vec!["infill", "--model", m, "--text", "w1", "--mask", "3", "--top-p", "1.5"], "top_p"),
        (vec!["infill", "--model", m, "--text", "w1", "--mask", "3", "--steps", "0"], "steps"),
        (vec!["infill", "--model", m, "--text", "w1", "--span", "0:9:2"], "spans[0]"),
        (vec!["infill", "--model", "/no/such/model", "--text", "w1", "--mask", "2"], "/no/such/model"),
        (vec!["infill", "--model", "Dream-org/Dream-v0-Base-7B", "--text", "w1", "--mask", "2"], "offline"),
        (vec!["infill", "--model", m, "--text", "w1", "--mask", "2", "--device", "cuda"], "--features cuda"),
        // A benchmark that cannot fit is refused before it allocates anything.
        (vec!["bench", "--random-shape", "qwen2.5-0.5b", "--seq-len", "1000000"], "GiB is free"),
    ] {
        let out = dream(&args, None);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn quantizes_then_writes_with_the_gguf_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tiny-q8.gguf");
    let model = common::fixture_dir();
    let q = dream(
        &["quantize", "--model", model.to_str().unwrap(), "--out", out.to_str().unwrap(), "--type", "q8_0"],
        None,
    );
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    assert!(String::from_utf8_lossy(&q.stderr).contains("wrote 27 tensors"));
    let run =
        dream(&["infill", "--model", out.to_str().unwrap(), "--text", "w1 w2", "--mask", "4", "--steps", "2"], None);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8(run.stdout).unwrap().starts_with("w1 w2"));
    let bad = dream(&["quantize", "--model", model.to_str().unwrap(), "--out", "x.gguf", "--type", "q3"], None);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("q8_0, q4_k"));
}

/// Hostile input ends with a message and exit code 1, never a panic's 101.
#[test]
fn hostile_files_end_with_a_message_not_a_panic() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile/zero-alignment.gguf");
    let out = dream(&["infill", "--model", file.to_str().unwrap(), "--text", "x", "--mask", "2"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("general.alignment"), "{err}");
}

/// `dream bench --model` on a model with a small vocabulary (the fixture's 1,000 words): it
/// used to feed token ids up to 150,000 to any model.
#[test]
fn bench_runs_on_a_small_vocabulary() {
    let model = common::fixture_dir();
    let out = dream(
        &["bench", "--model", model.to_str().unwrap(), "--device", "cpu", "--seq-len", "32", "--reps", "1", "--json"],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert!(report.to_string().contains("step"), "{report}");
}

/// `dream bench --save` writes a folder the official code (transformers) can load: safetensors
/// with `{"format": "pt"}` metadata, a config with the Dream model type, a generation config.
#[test]
fn bench_save_writes_a_checkpoint_transformers_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ckpt");
    let out = dream(&["bench", "--random-shape", "tiny", "--device", "cpu", "--save", dir.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().and_then(|m| m.get("format")).map(String::as_str), Some("pt"));
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model_type"], "Dream");
    assert_eq!(config["architectures"][0], "DreamModel");
    let generation: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("generation_config.json")).unwrap()).unwrap();
    assert_eq!(generation["mask_token_id"], 151_666);
    // And the engine loads it back.
    dream_engine::DreamConfig::from_file(&dir.join("config.json")).unwrap();
}

/// Ctrl+C (SIGINT) during a run stops it at the next layer, says how far it got and exits
/// with 130; before, the CLI had no handler and died mid-step with nothing said.
#[test]
fn ctrl_c_stops_a_run_says_what_was_done_and_exits_130() {
    use std::io::{BufRead, BufReader};
    let model = common::fixture_dir();
    // 1,500 masks at one step each: minutes of work, stopped after the first step.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dream"))
        .args(["infill", "--model", model.to_str().unwrap(), "--text", "w1 w2 w3 w4 w5 w6", "--mask", "1500"])
        .args(["--steps", "1500", "--events", "jsonl"])
        .env("HF_HUB_OFFLINE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("\"step\"") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the run ended before its first step");
    }
    let sent = std::time::Instant::now();
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stopped_in = sent.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted after step") && err.contains("of 1500; nothing was written"), "{err}");
    // The marks so far follow, with the masks still to write shown as blocks; not the whole
    // document (a novel would fill the terminal).
    assert!(err.contains("The marks so far:\n[1] "), "{err}");
    // (The first of 1,500 steps reveals 1,500 × (1 - eps) / 1,500 tokens, rounded down: none.)
    assert!((1_498..=1_500).contains(&err.matches('░').count()), "{err}");
    assert!(!err.contains("w1 w2 w3 w4 w5 w6"), "{err}");
    // Well before the run's end (a step of this model takes milliseconds; 1,500 of them, far
    // more than this bound).
    assert!(stopped_in < std::time::Duration::from_secs(20), "{stopped_in:?}");
    let rest = String::from_utf8_lossy(&out.stdout);
    assert!(!rest.contains("\"done\""), "a cancelled run printed a result: {rest}");
}

/// `kill -9` during `dream quantize` left its `.part` file forever. The next run removes what
/// a dead run left, and never the file of a run still writing (it holds a lock on it).
#[test]
fn a_killed_quantize_leaves_nothing_once_quantize_runs_again() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("copy.gguf");
    let model = common::fixture_dir();
    let args = ["quantize", "--model", model.to_str().unwrap(), "--out", out.to_str().unwrap(), "--type", "f16"];
    // A writer that is still alive: a child process holding the lock on its part file until
    // its stdin closes (flock, as a running quantize does).
    let live = tmp.path().join(".copy.gguf.live.part");
    std::fs::write(&live, b"half written").unwrap();
    let mut holder = Command::new("flock")
        .args([live.to_str().unwrap(), "-c", "echo locked; cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut said).unwrap();
    assert_eq!(said.trim(), "locked");
    // What a run killed with -9 leaves: a part file nobody holds.
    let mut killed = Command::new(env!("CARGO_BIN_EXE_dream")).args(args).spawn().unwrap();
    let dead = loop {
        let parts: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p != &live && p.to_string_lossy().ends_with(".part"))
            .collect();
        if let Some(p) = parts.first() {
            killed.kill().unwrap();
            break Some(p.clone());
        }
        if killed.try_wait().unwrap().is_some() {
            break None;
        }
    };
    killed.wait().unwrap();
    let dead = dead.filter(|p| p.exists()).unwrap_or_else(|| {
        // It finished before the poll saw its part file, or before the kill landed: leave one
        // as a kill would have.
        let p = tmp.path().join(".copy.gguf.dead.part");
        std::fs::write(&p, b"half written").unwrap();
        p
    });
    assert!(dead.exists(), "the killed run's part file");

    let again = dream(&args, None);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(!dead.exists(), "a dead run's part file is removed by the next run");
    assert!(live.exists(), "a live writer's part file is left alone");
    assert!(out.is_file());
    drop(holder.stdin.take());
    holder.wait().unwrap();
}

/// A full disk used to say "tensor computation failed". Now it says the disk is full and names
/// the file, and leaves nothing behind. (A 128 kB tmpfs, smaller than the copy, in a private mount namespace.)
#[test]
fn a_full_disk_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let model = common::fixture_dir();
    let script = format!(
        "mount -t tmpfs -o size=128k tmpfs '{dir}' && '{bin}' quantize --model '{model}' --out '{dir}/copy.gguf' --type f16; \
         echo \"exit $?\"; ls -A '{dir}'",
        dir = small.display(),
        bin = env!("CARGO_BIN_EXE_dream"),
        model = model.display()
    );
    let out = Command::new("unshare").args(["-rm", "sh", "-c", &script]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("exit 1"), "{stdout} {stderr}");
    assert!(stderr.contains("copy.gguf: the disk is full"), "{stderr}");
    assert!(!stderr.contains("tensor computation failed"), "{stderr}");
    // Nothing is left in the full folder: no copy, no part file.
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

/// `dream quality` writes the same spans at every setting and reports each row: the text's own
/// tokens score 100% against themselves, and fills are greedy, so two runs print the same table.
#[test]
fn quality_prints_one_row_per_setting() {
    let args = ["quality", "--device", "cpu", "--samples", "2", "--spans", "4", "--context", "16", "--json"];
    let out = dream(&args, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> =
        String::from_utf8(out.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Without and with the ending: the text itself, exact and fast at 4, 2 and 1 steps, auto.
    assert_eq!(rows.len(), 16);
    let modes: Vec<&str> = rows[..8].iter().map(|r| r["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["the text itself", "exact", "exact", "exact", "fast", "fast", "fast", "auto"]);
    assert_eq!(rows[0]["token_accuracy"], 1.0);
    for r in &rows[1..] {
        let (accuracy, perplexity) = (r["token_accuracy"].as_f64().unwrap(), r["perplexity"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&accuracy) && perplexity >= 1.0 && perplexity.is_finite(), "{r}");
    }
    let again = dream(&args, None);
    let strip = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("seconds_per_span");
                v
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&out), strip(&again));
}

/// `dream quality` on a checkpoint at Qwen's real vocabulary (151,936 tokens, the official
/// repos' tokenizer layout) and a text of the writer's: every row is measured.
#[test]
fn quality_runs_on_a_real_vocabulary_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::qwen::real_vocab_checkpoint(&tmp.path().join("ckpt"));
    let text = tmp.path().join("held-out.txt");
    std::fs::write(&text, "The keeper climbed the stairs, counting each one as the lamp turned. ".repeat(20)).unwrap();
    let (model, text) = (model.to_str().unwrap(), text.to_str().unwrap());
    let args = [
        "quality",
        "--model",
        model,
        "--text",
        text,
        "--device",
        "cpu",
        "--samples",
        "1",
        "--spans",
        "4",
        "--context",
        "16",
        "--json",
    ];
    let out = dream(&args, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 16);
    assert!(rows.iter().all(|r| r["perplexity"].as_f64().unwrap().is_finite()), "{rows:?}");
}
