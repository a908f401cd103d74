//! `dream verify`: re-hash a cached model against what was verified when it was downloaded.

use dream_engine::hub::verify_cached;
use dream_engine::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    /// A Hub repo id in the cache (or a snapshot folder).
    model: String,
}

pub fn run(args: Args) -> Result<()> {
    let (dir, damage) = verify_cached(&args.model)?;
    if damage.is_empty() {
        eprintln!("{}: every file matches", dir.display());
        return Ok(());
    }
    for d in &damage {
        eprintln!("damaged: {} ({})", d.file, d.reason);
    }
    Err(Error::DamagedModel {
        path: dir.join(&damage[0].file),
        reason: format!(
            "{} file(s) do not match; run `dream infill --redownload --model {}`",
            damage.len(),
            args.model
        ),
    })
}
