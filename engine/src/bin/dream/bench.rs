//! `dream bench`: per-step latency, throughput and peak memory.

use dream_engine::bench::{self, BenchReport};
use std::time::Instant;

use dream_engine::{Dream, DreamConfig, DreamModel, Error, Result};

use crate::DeviceArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Random weights of a known shape instead of a checkpoint: qwen2.5-0.5b or dream-7b.
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
    /// Timed steps (after one warm-up step) and timed forward passes.
    #[arg(long, default_value_t = 3)]
    steps: usize,
    #[command(flatten)]
    device: DeviceArgs,
    /// Print the reports as JSON lines.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let device = args.device.device.open()?;
    let dtype = args.device.dtype.unwrap_or_else(|| dream_engine::device::default_dtype(&device));
    let start = Instant::now();
    let (model, label) = match (&args.random_shape, &args.model) {
        (Some(s), _) => {
            let cfg = shape(s)?;
            (DreamModel::load(&bench::random_weights(&cfg, dtype, &device)?, &cfg)?, format!("random {s}"))
        }
        (None, Some(m)) => {
            let dir = dream_engine::hub::resolve_blocking(m, None)?;
            (Dream::load(&dir, &device, Some(dtype))?.model, m.clone())
        }
        (None, None) => return Err(Error::invalid("random_shape", "give --random-shape or --model")),
    };
    let load_seconds = start.elapsed().as_secs_f64();
    for &len in &args.seq_len {
        let report = bench::run(&model, &label, load_seconds, len, args.masked.unwrap_or(len / 4), args.steps)?;
        if args.json {
            println!("{}", serde_json::to_string(&report).expect("serialisable report"));
        } else {
            print_report(&report);
        }
    }
    Ok(())
}

fn shape(name: &str) -> Result<DreamConfig> {
    match name {
        "qwen2.5-0.5b" => Ok(DreamConfig::qwen2_5_0_5b_shape()),
        "dream-7b" => Ok(DreamConfig::dream_v0_7b()),
        other => Err(Error::invalid("random_shape", format!("`{other}` is not one of qwen2.5-0.5b, dream-7b"))),
    }
}

fn print_report(r: &BenchReport) {
    println!(
        "{} ({:.0}M params) {} {} | {} tokens, {} masked | load {:.1}s | forward {:.3}s | step median {:.3}s ({:.1} tok/s) | peak RSS {}",
        r.shape,
        r.parameters as f64 / 1e6,
        r.device,
        r.dtype,
        r.seq_len,
        r.masked,
        r.load_seconds,
        r.forward_seconds_median,
        r.step_seconds_median,
        r.tokens_per_second,
        r.peak_rss_bytes.map_or("n/a".into(), |b| format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)),
    );
}
