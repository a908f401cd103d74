//! `dream`: the Dream engine from the command line.

mod bench;
mod infill;
mod measure;
mod quality;
mod quantize;
mod verify;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "dream", version, about = "Dream diffusion language model: infill text and benchmark the engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill masked spans, continue a text, or write towards a pinned ending.
    Infill(infill::Args),
    /// Measure per-step latency, throughput and peak memory.
    Bench(bench::Args),
    /// Write a safetensors checkpoint as a quantized GGUF file.
    Quantize(quantize::Args),
    /// Re-hash a downloaded model against what was verified when it was downloaded.
    Verify(verify::Args),
    /// How well a model fills held-out text at each speed setting (the built-in demo on modern
    /// prose it never saw, by default).
    Quality(quality::Args),
}

/// Set by Ctrl+C (SIGINT): the running command stops at its next check (between layers of a
/// step, tensors of a copy, chunks of a download), says what it had done, and the process
/// exits with [`EXIT_INTERRUPTED`]. A second Ctrl+C exits at once.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// 128 + SIGINT, what shells report for a command stopped by Ctrl+C.
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    dream_engine::cpu::allocator::reuse_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // A panic (a bug here or in a dependency) still ends with a message and exit code 1, not
    // Rust's 101 and a backtrace hint.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("error: internal failure ({what}); please report it");
    }));
    let handler = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::Relaxed) {
            eprintln!("\ninterrupted again: stopping now");
            std::process::exit(EXIT_INTERRUPTED.into());
        }
        eprintln!("\ninterrupted: stopping at the next layer (Ctrl+C again to stop at once)");
    });
    if let Err(e) = handler {
        eprintln!("note: Ctrl+C will stop the process at once ({e})");
    }
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Infill(args) => infill::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Quantize(args) => quantize::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Quality(args) => quality::run(args),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(dream_engine::Error::Cancelled)) if INTERRUPTED.load(Ordering::Relaxed) => {
            ExitCode::from(EXIT_INTERRUPTED)
        }
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}

/// `--device` and `--dtype`, shared by the subcommands.
#[derive(clap::Args, Clone)]
pub struct DeviceArgs {
    /// auto (CUDA, then Metal, else CPU), cpu, cuda or metal.
    #[arg(long, default_value = "auto", ignore_case = true)]
    pub device: dream_engine::DeviceChoice,
    /// f32, bf16 or f16 (default: bf16 on a GPU, f32 on the CPU).
    #[arg(long, ignore_case = true)]
    pub dtype: Option<dream_engine::Precision>,
}
