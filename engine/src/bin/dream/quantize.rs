//! `dream quantize`: a safetensors checkpoint to a GGUF file.

use std::path::PathBuf;

use dream_engine::checkpoint::quantize::{quantize_with, QuantType};
use dream_engine::{Error, Result};

use crate::INTERRUPTED;

#[derive(clap::Args)]
pub struct Args {
    /// A checkpoint folder or Hub repo id (safetensors).
    #[arg(long)]
    model: String,
    /// The GGUF file to write.
    #[arg(long)]
    out: PathBuf,
    /// q8_0, q4_k, q6_k or f16.
    #[arg(long = "type", default_value = "q8_0", ignore_case = true)]
    qtype: QuantType,
}

pub fn run(args: Args) -> Result<()> {
    let options = dream_engine::hub::HubOptions::from_env();
    let dir = dream_engine::hub::resolve_blocking(&args.model, &options, None, &INTERRUPTED)?;
    let (mut done, mut total) = (0, 0);
    let report = quantize_with(&dir, &args.out, args.qtype, &INTERRUPTED, &mut |d, t| (done, total) = (d, t))
        .inspect_err(|e| {
            if matches!(e, Error::Cancelled) {
                eprintln!("interrupted after {done} of {total} tensors; {} was not written", args.out.display());
            }
        })?;
    eprintln!(
        "wrote {} tensors, {:.1} MiB, to {}",
        report.tensors,
        report.bytes as f64 / (1u64 << 20) as f64,
        args.out.display()
    );
    for f in &report.fallbacks {
        eprintln!("  kept as {f} (rows not a multiple of the block size)");
    }
    Ok(())
}
