//! Smaller copies: a downloaded or local model quantized to Q8_0 or Q4_K in the app's data
//! folder, so a laptop GPU that cannot hold the bf16 checkpoint can still run Dream 7B.

use std::path::{Path, PathBuf};

use dream_engine::checkpoint::quantize::QuantType;
use dream_engine::hub::{self, ModelSource};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::State;

use crate::activity::Work;
use crate::blocking::off_main;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::state::AppState;

/// The precisions a copy can have.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyType {
    Q8_0,
    Q4K,
}

impl CopyType {
    pub fn quant(self) -> QuantType {
        match self {
            CopyType::Q8_0 => QuantType::Q8_0,
            CopyType::Q4K => QuantType::Q4K,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CopyType::Q8_0 => "Q8_0",
            CopyType::Q4K => "Q4_K",
        }
    }

    /// Bits a weight takes in memory (block scales included).
    pub fn bits_per_weight(self) -> f64 {
        match self {
            CopyType::Q8_0 => 8.5,
            CopyType::Q4K => 4.5,
        }
    }
}

/// Progress of [`make_smaller_copy`]: tensors written so far.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct CopyProgress {
    pub done: usize,
    pub total: usize,
}

/// The checkpoint folder of `model` (a local folder, or a Hub repo already downloaded).
fn source_folder(model: &str) -> CommandResult<PathBuf> {
    match ModelSource::parse(model) {
        ModelSource::Local(p) if p.is_dir() => Ok(p),
        ModelSource::Local(p) if dream_engine::checkpoint::gguf::is_gguf(&p) => {
            Err(CommandError::new(ErrorCode::InvalidRequest, format!("{} is already a quantized copy.", p.display())))
        }
        ModelSource::Local(p) => {
            Err(CommandError::new(ErrorCode::ModelFileMissing, format!("{} is not a model folder.", p.display())))
        }
        ModelSource::Hub(repo) => hub::cached_snapshot(&hub::cache_from_env(), &repo).map_err(|_| {
            CommandError::new(
                ErrorCode::UnknownModel,
                format!("{repo} is not downloaded yet: download it first, then make a copy."),
            )
        }),
    }
}

/// `models/<name>-<q8_0|q4_k>.gguf` in the app's data folder.
pub fn copy_path(models_dir: &Path, model: &str, kind: CopyType) -> PathBuf {
    let name: String = model
        .rsplit(['/', '\\'])
        .find(|p| !p.is_empty())
        .unwrap_or("model")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    let suffix = match kind {
        CopyType::Q8_0 => "q8_0",
        CopyType::Q4K => "q4_k",
    };
    models_dir.join(format!("{name}-{suffix}.gguf"))
}

/// The copies in the app's data folder.
pub fn list(models_dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(models_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| dream_engine::checkpoint::gguf::is_gguf(p))
        .collect();
    out.sort();
    out
}

/// Writes a smaller copy of `model` (a local folder or a downloaded Hub model) in `kind`,
/// streaming progress; written under a temporary name and renamed when complete, so a
/// cancelled or failed copy leaves nothing. Returns the copy's path, ready to load.
#[tauri::command]
pub async fn make_smaller_copy(
    state: State<'_, AppState>,
    model: String,
    kind: CopyType,
    on_progress: Channel<CopyProgress>,
) -> CommandResult<String> {
    let source = source_folder(&model)?;
    let out = copy_path(&state.models_dir, &model, kind);
    std::fs::create_dir_all(&state.models_dir).map_err(|e| crate::files::io_error(&state.models_dir, "create", &e))?;
    let (_copying, cancel) = state.machine.start_copying()?;
    let target = out.clone();
    off_main("Making a smaller copy", move || {
        let mut report = |done: usize, total: usize| {
            let _ = on_progress.send(CopyProgress { done, total });
        };
        dream_engine::checkpoint::quantize::quantize_with(&source, &target, kind.quant(), &cancel, &mut report).map_err(
            |e| match e {
                dream_engine::Error::Cancelled => {
                    CommandError::new(ErrorCode::Cancelled, "Copy cancelled; nothing was written.")
                }
                other => other.into(),
            },
        )
    })
    .await?;
    Ok(out.display().to_string())
}

/// Stops the copy being made. Returns whether one was.
#[tauri::command]
pub fn cancel_copy(state: State<'_, AppState>) -> bool {
    state.machine.cancel(Work::Copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_named_for_their_model_inside_the_models_folder() {
        let dir = Path::new("/data/models");
        assert_eq!(copy_path(dir, "Dream-org/Dream-v0-Base-7B", CopyType::Q4K), dir.join("Dream-v0-Base-7B-q4_k.gguf"));
        assert_eq!(copy_path(dir, "/home/w/ckpt/", CopyType::Q8_0), dir.join("ckpt-q8_0.gguf"));
        assert_eq!(copy_path(dir, "/x/a b;c", CopyType::Q8_0), dir.join("a_b_c-q8_0.gguf"));
        assert_eq!(copy_path(dir, "..", CopyType::Q8_0), dir.join("..-q8_0.gguf"));
    }
}
