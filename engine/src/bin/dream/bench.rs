//! `dream bench`: per-step latency, throughput and peak memory.

use crate::measure::{self as bench, BenchReport};
use dream_engine::random;
use std::time::Instant;

use dream_engine::{DreamConfig, DreamModel, Error, Result};

use crate::DeviceArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Random weights of a known shape instead of a checkpoint: qwen2.5-0.5b, dream-7b or tiny (a quick check).
    #[arg(long, value_name = "SHAPE")]
    random_shape: Option<String>,
    /// A checkpoint folder or Hub repo id to measure.
    #[arg(long, conflicts_with = "random_shape")]
    model: Option<String>,
    /// Sequence lengths to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [256usize, 512])]
    seq_len: Vec<usize>,
    /// Masked tokens at the end of each sequence (default: a quarter of it).
    #[arg(long)]
    masked: Option<usize>,
    /// Put the masked tokens in the middle of the sequence (an infilled span) instead of at
    /// its end.
    #[arg(long)]
    middle: bool,
    /// Timed repetitions of each measurement.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// How --random-shape's weights are scaled: init (the usual N(0, 0.02²), unsure of every
    /// token) or peaked (the reference fixtures' scales, sure of many, as a trained model is).
    #[arg(long, default_value = "init")]
    recipe: random::Recipe,
    /// Span-local decoding: refresh the key/value cache once this many tokens were revealed.
    #[arg(long, default_value_t = dream_engine::sampler::FAST_REFRESH)]
    cache_refresh: usize,
    /// Also time a whole infill of the masks with span-local decoding and parallel reveal at
    /// --threshold (0: without parallel reveal).
    #[arg(long)]
    whole_infill: bool,
    /// With --whole-infill: run it exactly too and count the final tokens that differ.
    #[arg(long, requires = "whole_infill")]
    compare_exact: bool,
    #[command(flatten)]
    device: DeviceArgs,
    /// With --random-shape: write the random checkpoint (config.json + model.safetensors) to
    /// this folder and stop, so that `--model FOLDER` can time a real load in a new process.
    #[arg(long, value_name = "FOLDER", requires = "random_shape")]
    save: Option<std::path::PathBuf>,
    /// How far parallel reveal (--threshold) and span-local decoding (--cache-refresh) land from
    /// exact decoding on the single-row sampler cases of a reference fixture folder (its model
    /// and `reference.json`, e.g. tests/fixtures/dream-tiny).
    #[arg(long, value_name = "FOLDER", conflicts_with_all = ["random_shape", "model"])]
    reveal_cases: Option<std::path::PathBuf>,
    /// The confidence threshold for --reveal-cases and --whole-infill.
    #[arg(long, default_value_t = dream_engine::sampler::AUTO_THRESHOLD)]
    threshold: f32,
    /// Print the reports as JSON lines.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(dir) = &args.reveal_cases {
        return reveal_cases(dir, args.threshold, args.cache_refresh, args.json);
    }
    let device = args.device.device.open()?;
    let dtype = args.device.dtype.unwrap_or_else(|| dream_engine::Precision::default_for(&device)).dtype();
    let start = Instant::now();
    let (model, label, weights_bytes) = match (&args.random_shape, &args.model) {
        (Some(s), _) => {
            let cfg = shape(s)?;
            if let Some(dir) = &args.save {
                return random::save_random_checkpoint(&cfg, args.recipe, dir);
            }
            // Refuse plainly rather than be killed for memory. (The largest matrix is also drawn
            // in f32 before it takes the model's dtype.)
            let longest = args.seq_len.iter().copied().max().unwrap_or(0);
            let largest = cfg.tensor_shapes().iter().map(|(_, s)| s.iter().product::<usize>()).max().unwrap_or(0);
            let need = dream_engine::memory::estimate(&cfg, dtype, longest).total_bytes + (largest * 4) as u64;
            if let Some(free) = dream_engine::memory::available_on(&device) {
                if need > free {
                    return Err(Error::invalid(
                        "random_shape",
                        format!("`{s}` needs about {:.1} GiB here and {:.1} GiB is free", gib(need), gib(free)),
                    ));
                }
            }
            let bytes = (cfg.parameter_count() * dtype.size_in_bytes()) as u64;
            (
                DreamModel::load(&random::random_weights(&cfg, args.recipe, dtype, &device)?, &cfg)?,
                format!("random {s}"),
                bytes,
            )
        }
        (None, Some(m)) => {
            // Config and weights only: the tokenizer plays no part in the timings.
            let path = dream_engine::hub::resolve_blocking(
                m,
                &dream_engine::hub::HubOptions::from_env(),
                None,
                &crate::INTERRUPTED,
            )?;
            let checkpoint = dream_engine::checkpoint::Checkpoint::open(&path)?;
            let (cfg, bytes) = (checkpoint.config().clone(), checkpoint.weights_bytes(dtype));
            let weights = checkpoint.weights(dtype, &device)?;
            (DreamModel::load(&weights, &cfg)?, m.clone(), bytes)
        }
        (None, None) => return Err(Error::invalid("random_shape", "give --random-shape or --model")),
    };
    let load_seconds = start.elapsed().as_secs_f64();
    for &len in &args.seq_len {
        let masked = args.masked.unwrap_or(len / 4);
        let m = bench::Measure {
            seq_len: len,
            masked,
            middle: args.middle,
            reps: args.reps,
            cache_refresh: args.cache_refresh,
            whole_infill: args.whole_infill.then_some((args.threshold > 0.0).then_some(args.threshold)),
            compare_exact: args.compare_exact,
        };
        let report = bench::run(&model, &label, load_seconds, weights_bytes, m)?;
        if args.json {
            println!("{}", serde_json::to_string(&report).expect("serialisable report"));
        } else {
            print_report(&report);
        }
    }
    Ok(())
}

/// Every single-row greedy case of a reference fixture, run exactly and in the fast modes.
fn reveal_cases(dir: &std::path::Path, threshold: f32, cache_refresh: usize, json: bool) -> Result<()> {
    let dream = dream_engine::Dream::load(dir, &candle_core::Device::Cpu, None)?;
    let path = dir.join("reference.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let reference: serde_json::Value = dream_engine::json::parse(&text, &path)?;
    let field = |name: &str, e: serde_json::Error| Error::invalid("reference.json", format!("{name}: {e}"));
    let cases = reference["sampler"].as_object().cloned().unwrap_or_default();
    if !json {
        println!("differing final tokens (steps, full passes) against the official trajectory; threshold {threshold}, K={cache_refresh}");
    }
    for (name, case) in cases {
        let steps = case["steps"].as_u64().unwrap_or(0) as usize;
        let runs = case["runs"].as_object().cloned().unwrap_or_default();
        for (alg_name, run) in runs {
            let rows: Vec<Vec<u32>> = serde_json::from_value(run["x_init"].clone()).map_err(|e| field(&name, e))?;
            let fin: Vec<Vec<u32>> = serde_json::from_value(run["final"].clone()).map_err(|e| field(&name, e))?;
            if rows.len() != 1 || fin.len() != 1 {
                continue; // batched cases: the fast modes are for single documents
            }
            let alg = <dream_engine::Alg as clap::ValueEnum>::from_str(&alg_name, false)
                .map_err(|e| dream_engine::Error::invalid("alg", e))?;
            let pair = (rows[0].as_slice(), fin[0].as_slice());
            let r = bench::deviation(&dream.model, &name, pair, (steps, alg), threshold, cache_refresh)?;
            if json {
                println!("{}", serde_json::to_string(&r).expect("serialisable report"));
            } else {
                let mode = |m: &bench::ModeResult| format!("{:>2} ({:>2}, {:>2})", m.differs, m.steps, m.full_passes);
                println!(
                    "{:<22} {:<12} {:>2} masks {:>2} steps | exact {:>2} | reveal {} | span-local {} | both {}",
                    r.case,
                    alg_name,
                    r.masks,
                    r.steps,
                    r.exact_differs,
                    mode(&r.reveal),
                    mode(&r.span_local),
                    mode(&r.both)
                );
            }
        }
    }
    Ok(())
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

fn shape(name: &str) -> Result<DreamConfig> {
    match name {
        "qwen2.5-0.5b" => Ok(DreamConfig::qwen2_5_0_5b_shape()),
        "dream-7b" => Ok(DreamConfig::dream_v0_7b()),
        "tiny" => Ok(DreamConfig::tiny_shape()),
        other => Err(Error::invalid("random_shape", format!("`{other}` is not one of qwen2.5-0.5b, dream-7b, tiny"))),
    }
}

fn print_report(r: &BenchReport) {
    println!(
        "{} ({:.0}M params, {}, {}) | {} tokens, {} masked {}",
        r.shape,
        r.parameters as f64 / 1e6,
        r.device,
        r.dtype,
        r.seq_len,
        r.masked,
        if r.middle { "in the middle" } else { "at the end" }
    );
    println!("  matmul (model shapes)   {:>8.1} GFLOP/s", r.matmul_gflops);
    println!(
        "  forward                 {:>8.3} s   {:.1} GFLOP/s = {:.2} of matmul",
        r.forward_seconds, r.forward_gflops, r.forward_fraction_of_matmul
    );
    println!("  step, full recompute    {:>8.3} s   = {:.2} of a forward", r.step_seconds, r.step_over_forward);
    println!(
        "  step, span-local (K={}) {:>8.3} s   ({:.1}x faster; mean {:.3} s with refreshes)",
        r.cache_refresh, r.cached_step_seconds, r.cached_speedup, r.cached_step_seconds_mean
    );
    println!("  top-1 probability       {:>8.4}     (median over the masks, first step)", r.top1_probability_median);
    if let Some(w) = &r.whole_infill {
        println!(
            "  whole infill            {:>8.3} s   {} steps ({} full passes), threshold {}, K={}",
            w.seconds,
            w.steps,
            w.full_passes,
            w.threshold.map_or("none".into(), |t| t.to_string()),
            w.cache_refresh
        );
    }
    if let Some(w) = r.whole_infill.as_ref().filter(|w| w.exact_seconds.is_some()) {
        println!(
            "  exact infill            {:>8.3} s   ({:.1}x the fast one; {} of {} final tokens differ)",
            w.exact_seconds.unwrap_or(f64::NAN),
            w.exact_seconds.unwrap_or(f64::NAN) / w.seconds,
            w.differs_from_exact.unwrap_or(0),
            r.masked
        );
    }
    match r.cancel_latency_seconds {
        Some(s) => println!("  cancel mid-step         {s:>8.3} s   ({:.0}% of a step)", 100.0 * s / r.step_seconds),
        None => println!("  cancel mid-step         not measured (every step ended before the cancel was set)"),
    }
    println!("  load {:.2} s, load to first step {:.2} s", r.load_seconds, r.load_to_first_step_seconds);
    if let (Some(after), Some(peak)) = (r.peak_rss_after_load_bytes, r.peak_rss_bytes) {
        println!(
            "  weights {:.2} GiB; peak RSS {:.2} GiB after load ({:.2}x weights), {:.2} GiB at the end",
            gib(r.weights_bytes),
            gib(after),
            after as f64 / r.weights_bytes as f64,
            gib(peak)
        );
    }
}
