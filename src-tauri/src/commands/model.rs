//! Models: what is available, what fits, loading one (with progress).

use std::path::Path;
use std::sync::Arc;

use dream_engine::hub::{self, DownloadProgress, HubOptions, ModelSource, KNOWN_MODELS};
use dream_engine::memory;
use dream_engine::{DeviceChoice, Dream, DreamConfig, Precision};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use crate::activity::{no_model, Loaded, ModelInfo, ModelNote, Ticket, Work};
use crate::blocking::off_main;
use crate::commands::copies;
use crate::dialogs::Pick;
use crate::documents::check_text_size;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::state::AppState;

/// The name the UI uses for the built-in demo model.
pub const DEMO: &str = dream_engine::demo::NAME;

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct ModelStatus {
    pub loaded: Option<ModelInfo>,
    pub loading: bool,
}

#[tauri::command]
pub fn model_status(state: State<'_, AppState>) -> ModelStatus {
    ModelStatus { loaded: state.machine.info(), loading: state.machine.loading() }
}

/// One entry of the model manager.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct ModelEntry {
    pub id: String,
    pub description: String,
    /// Whether it is complete in the Hugging Face cache (always true for the demo).
    pub available: bool,
    pub download_bytes: u64,
}

#[tauri::command]
pub async fn list_models(state: State<'_, AppState>) -> CommandResult<Vec<ModelEntry>> {
    let models_dir = state.models_dir.clone();
    off_main("Listing the models", move || Ok(known_models(&models_dir))).await
}

fn known_models(models_dir: &Path) -> Vec<ModelEntry> {
    let cache = hub::cache_from_env();
    let mut out = vec![ModelEntry {
        id: DEMO.into(),
        description: dream_engine::demo::ABOUT.into(),
        available: true,
        download_bytes: 0,
    }];
    // Both official checkpoints have the 7B shape, stored in bf16.
    let download_bytes = DreamConfig::dream_v0_7b().parameter_count() as u64 * 2;
    for repo in KNOWN_MODELS {
        out.push(ModelEntry {
            id: repo.into(),
            description: if repo.contains("Instruct") {
                "Dream 7B tuned to follow instructions".into()
            } else {
                "Dream 7B base model: continues and infills text".into()
            },
            available: hub::cached_snapshot(&cache, repo).is_ok(),
            download_bytes,
        });
    }
    for copy in copies::list(models_dir) {
        let size = std::fs::metadata(&copy).map_or(0, |m| m.len());
        out.push(ModelEntry {
            id: copy.display().to_string(),
            description: format!(
                "Smaller copy, {:.1} GiB: {}",
                size as f64 / (1u64 << 30) as f64,
                copy.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ),
            available: true,
            download_bytes: 0,
        });
    }
    out
}

/// The device this machine would use and how much memory it has.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct SystemInfo {
    /// Whether this build can use CUDA / Metal here.
    pub cuda: bool,
    pub metal: bool,
    /// What `auto` picks.
    pub auto_device: String,
    pub system_memory_available: Option<u64>,
    /// NVIDIA GPUs the driver reports, whether or not this build can use them.
    pub gpus: Vec<dream_engine::device::GpuInfo>,
}

#[tauri::command]
pub async fn system_info() -> CommandResult<SystemInfo> {
    off_main("Looking at this computer's devices", || Ok(detect_system())).await
}

fn detect_system() -> SystemInfo {
    let auto = DeviceChoice::Auto.open().map(|d| dream_engine::device::describe(&d)).unwrap_or_else(|_| "CPU".into());
    SystemInfo {
        cuda: dream_engine::candle_core::utils::cuda_is_available(),
        metal: dream_engine::candle_core::utils::metal_is_available(),
        auto_device: auto,
        system_memory_available: memory::available_system_memory(),
        gpus: dream_engine::device::nvidia_gpus(),
    }
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadRequest {
    /// "demo", a checkpoint folder, or a Hub repo id.
    pub model: String,
    #[serde(default)]
    pub device: DeviceChoice,
    /// None: the device's default.
    pub dtype: Option<Precision>,
    /// Fetch again the cached files that do not verify (after a `damaged_model` error).
    #[serde(default)]
    pub redownload: bool,
}

/// Progress of [`load_model`], streamed to the UI.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum LoadEvent {
    Download(DownloadProgress),
    Loading { model: String },
}

#[tauri::command]
pub async fn load_model(
    state: State<'_, AppState>,
    request: LoadRequest,
    on_progress: Channel<LoadEvent>,
) -> CommandResult<ModelInfo> {
    if request.model.trim().is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "Choose a model: the demo, a folder, or a Hub repo id.",
        ));
    }
    let loading = state.machine.start_loading()?;
    let loaded = load(&state, &loading, request, on_progress).await?;
    let info = loaded.info.clone();
    loading.loaded(loaded);
    Ok(info)
}

async fn load(
    state: &AppState,
    loading: &Ticket<'_>,
    request: LoadRequest,
    progress: Channel<LoadEvent>,
) -> CommandResult<Arc<Loaded>> {
    let precision = request.dtype;
    let dir = if request.model == DEMO {
        None
    } else {
        let mut options = HubOptions { redownload: request.redownload, ..HubOptions::from_env() };
        if let Some(endpoint) = state.settings.lock().expect("settings lock").hf_endpoint.clone() {
            options.endpoint = Some(endpoint);
        }
        let sink = progress.clone();
        let on_download: hub::ProgressFn = Arc::new(move |p: &DownloadProgress| {
            let _ = sink.send(LoadEvent::Download(p.clone()));
        });
        let source = ModelSource::parse(&request.model);
        let task = tauri::async_runtime::spawn(async move { hub::resolve(&source, &options, Some(on_download)).await });
        loading.downloading(task.inner().abort_handle());
        let outcome = task.await;
        // An aborted download keeps its partial file in the cache: the next try resumes it.
        Some(outcome.map_err(|_| {
            CommandError::new(ErrorCode::Cancelled, "Download cancelled; it resumes where it stopped next time.")
        })??)
    };
    // The old model is let go before the new one is read, so two are never in memory at once
    // (a 7B model is most of a laptop's). A download alone keeps it: cancelling one loses nothing.
    let cancel = loading.reading();
    let _ = progress.send(LoadEvent::Loading { model: request.model.clone() });
    let name = request.model.clone();
    let device = request.device;
    off_main("Loading the model", move || -> CommandResult<Arc<Loaded>> {
        let device = device.open()?;
        let dream = match &dir {
            None => dream_engine::demo::demo(&device)?,
            Some(dir) => Dream::load_cancellable(dir, &device, precision, &cancel).map_err(|e| match e {
                dream_engine::Error::Cancelled => CommandError::new(ErrorCode::Cancelled, "Loading cancelled."),
                other => other.into(),
            })?,
        };
        let info = ModelInfo {
            source: name.clone(),
            name: display_name(&name),
            demo: dir.is_none(),
            device: dream_engine::device::describe(&device),
            dtype: Precision::of(dream.model.dtype()).ok_or_else(|| {
                CommandError::new(ErrorCode::Internal, format!("the model loaded in {:?}", dream.model.dtype()))
            })?,
            parameters: dream.config.parameter_count(),
            context: dream.config.context_limit(),
            instructions: matches!(dream.tokenizer.chat_template(), Ok(Some(_))),
            step_flops: dream.config.step_flops(),
            author: match &dir {
                None => dream_engine::demo::author(),
                Some(dir) => credit(&display_name(&name), dir),
            },
            note: dir.is_none().then(|| ModelNote {
                summary: dream_engine::demo::SUMMARY.into(),
                about: dream_engine::demo::ABOUT.into(),
            }),
        };
        Ok(Arc::new(Loaded { dream, info }))
    })
    .await
}

/// How the words of the model at `path` are credited: its name, and its weights' SHA-256 where
/// known (a downloaded model's). Never its path: the credit goes into files a writer shares.
fn credit(name: &str, path: &Path) -> String {
    match dream_engine::hub::weights_sha256(path).as_slice() {
        [] => name.to_owned(),
        [one] => format!("{name} (SHA-256 {one})"),
        many => format!("{name} (SHA-256 of its {} weight files: {})", many.len(), many.join(", ")),
    }
}

/// What the page calls `model`: "Built-in demo", a folder's last component, or the repo id.
pub(crate) fn display_name(model: &str) -> String {
    if model == DEMO {
        return "Built-in demo".into();
    }
    match ModelSource::parse(model) {
        ModelSource::Local(p) => {
            Path::new(&p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| model.into())
        }
        ModelSource::Hub(repo) => repo,
    }
}

/// Re-hashes a downloaded model against what was verified when it was downloaded; the files
/// that do not match (none when it is intact).
#[tauri::command]
pub async fn verify_model(model: String) -> CommandResult<Vec<hub::Damage>> {
    off_main("Checking the model", move || Ok(hub::verify_cached(&model)?.1)).await
}

/// What the model picker looks for.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelPick {
    /// A checkpoint folder (config.json, safetensors, tokenizer files).
    Folder,
    /// A quantized `.gguf` file.
    File,
}

/// Shows the platform's folder or file dialog for a model; the path picked, or `None`.
#[tauri::command]
pub async fn pick_model(app: AppHandle, state: State<'_, AppState>, kind: ModelPick) -> CommandResult<Option<String>> {
    let pick = match kind {
        ModelPick::Folder => Pick::ModelFolder,
        ModelPick::File => Pick::ModelFile,
    };
    Ok(state.dialogs.ask(&app, pick, None).await.map(|p| p.display().to_string()))
}

/// Stops a model download or load in progress. Returns whether one was running.
#[tauri::command]
pub fn cancel_load(state: State<'_, AppState>) -> bool {
    state.machine.cancel(Work::Load)
}

/// Tokens in `text` for the loaded model (span lengths in the editor).
#[tauri::command]
pub async fn count_tokens(state: State<'_, AppState>, text: String) -> CommandResult<usize> {
    check_text_size(&text)?;
    let tokenizer = state.machine.tokenizer().ok_or_else(no_model)?;
    off_main("Counting tokens", move || Ok(tokenizer.encode(&text)?.len())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credit names the model and its weights' hash, never where it lies on the disk.
    #[cfg(unix)]
    #[test]
    fn a_model_is_credited_by_name_and_weights_hash_not_by_path() {
        let tmp = tempfile::tempdir().unwrap();
        let sha = "ab".repeat(32);
        let (blobs, snapshot) = (tmp.path().join("blobs"), tmp.path().join("snapshots/c0ffee"));
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::create_dir_all(&snapshot).unwrap();
        std::fs::write(blobs.join(&sha), b"weights").unwrap();
        std::os::unix::fs::symlink(blobs.join(&sha), snapshot.join("model.safetensors")).unwrap();
        assert_eq!(credit("Dream-v0-Instruct-7B", &snapshot), format!("Dream-v0-Instruct-7B (SHA-256 {sha})"));
        // A folder of the writer's own, its hash unknown: the name alone.
        let own = tmp.path().join("my-model");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join("model.safetensors"), b"weights").unwrap();
        let credited = credit("my-model", &own);
        assert_eq!(credited, "my-model");
        assert!(!credited.contains(&*tmp.path().to_string_lossy()));
    }
}
