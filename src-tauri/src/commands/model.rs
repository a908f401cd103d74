//! Models: what is available, what fits, loading one (with progress).

use std::path::Path;
use std::sync::Arc;

use dream_engine::checkpoint::Checkpoint;
use dream_engine::hub::{self, DownloadProgress, HubOptions, ModelSource, KNOWN_MODELS};
use dream_engine::memory::{self, MemoryEstimate};
use dream_engine::{DeviceChoice, Dream, DreamConfig, Precision};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use crate::activity::{Loaded, ModelInfo, Ticket, Work};
use crate::blocking::off_main;
use crate::commands::copies::{self, CopyType};
use crate::dialogs::Pick;
use crate::documents::check_text_size;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::settings::Settings;
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
    ModelStatus { loaded: state.loaded().map(|l| l.info.clone()), loading: state.machine.loading() }
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
        description: "Built-in demo: SmolLM2-135M adapted to diffusion, no download. Simple modern English, not Dream 7B's writing.".into(),
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

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct FitEstimate {
    #[serde(flatten)]
    pub estimate: MemoryEstimate,
    pub available_bytes: Option<u64>,
    /// `None` when the available memory is not known (a GPU).
    pub fits: Option<bool>,
    pub message: String,
    /// When it does not fit (and is not a quantized file already): the most precise smaller
    /// copy that would.
    pub suggest: Option<CopyType>,
}

/// The config of `model`, and the opened checkpoint when it is on disk (its weights' size
/// depends on the dtype they are loaded in, and stays quantized for a `.gguf` file).
fn config_of(model: &str) -> CommandResult<(DreamConfig, Option<Checkpoint>)> {
    if model == DEMO {
        return Ok((dream_engine::demo::demo_config(), None));
    }
    if KNOWN_MODELS.contains(&model) {
        return Ok((DreamConfig::dream_v0_7b(), None));
    }
    match ModelSource::parse(model) {
        ModelSource::Local(path) => {
            let checkpoint = Checkpoint::open(&path)?;
            Ok((checkpoint.config().clone(), Some(checkpoint)))
        }
        ModelSource::Hub(repo) => match hub::cached_snapshot(&hub::cache_from_env(), &repo) {
            Ok(dir) => Ok((DreamConfig::from_file(&dir.join("config.json"))?, None)),
            Err(_) => Err(CommandError::new(
                ErrorCode::UnknownModel,
                format!("{repo} is not downloaded; its size is unknown"),
            )),
        },
    }
}

/// Will `request.model` fit on its device at the full context?
#[tauri::command]
pub async fn estimate_fit(state: State<'_, AppState>, request: LoadRequest) -> CommandResult<FitEstimate> {
    let settings = state.settings.lock().expect("settings lock").clone();
    off_main("The memory estimate", move || fit_estimate(request, &settings)).await
}

/// The estimate for the writer's settings: as many rows as candidates, and sampling buffers
/// when the temperature is above 0.
fn fit_estimate(request: LoadRequest, settings: &Settings) -> CommandResult<FitEstimate> {
    let (cfg, checkpoint) = config_of(&request.model)?;
    let device = request.device.open()?;
    let precision = request.dtype.unwrap_or_else(|| Precision::default_for(&device));
    let dtype = precision.dtype();
    let sampling = settings.sampling.temperature > 0.0;
    let mut estimate = memory::estimate_run(&cfg, dtype, cfg.context_limit(), settings.candidates, sampling);
    if let Some(c) = &checkpoint {
        estimate = estimate.with_weights(c.weights_bytes(dtype));
    }
    let available = memory::available_on(&device);
    let quantized = matches!(checkpoint, Some(Checkpoint::Gguf { .. }));
    // A copy is made from files on disk: a Hub model not downloaded yet has none.
    let on_disk = checkpoint.is_some()
        || match ModelSource::parse(&request.model) {
            ModelSource::Hub(repo) => hub::cached_snapshot(&hub::cache_from_env(), &repo).is_ok(),
            ModelSource::Local(_) => true,
        };
    Ok(describe_fit(&cfg, precision, estimate, available, Copyable { quantized, on_disk }, !device.is_cpu()))
}

/// What decides whether a smaller copy can be offered: a quantized file is small already, and a
/// copy is made from files on disk.
#[derive(Clone, Copy)]
struct Copyable {
    quantized: bool,
    on_disk: bool,
}

/// Whether `estimate` fits in `available` bytes, in words, and (for a model that is not
/// quantized yet and does not fit) the most precise smaller copy that would: offered when the
/// model is on disk, named as the next step after the download when it is not.
fn describe_fit(
    cfg: &DreamConfig,
    precision: Precision,
    estimate: MemoryEstimate,
    available: Option<u64>,
    copyable: Copyable,
    on_gpu: bool,
) -> FitEstimate {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let fits = available.map(|a| estimate.total_bytes <= a);
    let place = if on_gpu { " on the GPU" } else { "" };
    let mut message = match (fits, available) {
        (Some(true), Some(a)) => {
            format!("{precision} needs about {:.1} GiB; {:.1} GiB is free{place}.", gib(estimate.total_bytes), gib(a))
        }
        (Some(false), Some(a)) => format!(
            "{precision} needs about {:.1} GiB but only {:.1} GiB is free{place}.",
            gib(estimate.total_bytes),
            gib(a)
        ),
        _ => format!("{precision} needs about {:.1} GiB of GPU memory.", gib(estimate.total_bytes)),
    };
    // Quantized matrices (the embedding and lm_head too) plus the same activations.
    let copy_bytes = |kind: CopyType| (cfg.parameter_count() as f64 * kind.bits_per_weight() / 8.0) as u64;
    let smaller = match (fits, available, copyable.quantized) {
        (Some(false), Some(a), false) => [CopyType::Q8_0, CopyType::Q4K]
            .into_iter()
            .find(|&k| copy_bytes(k).saturating_add(estimate.activation_bytes) <= a),
        _ => None,
    };
    let then = if copyable.on_disk { "make one" } else { "download the model, then make one" };
    match smaller {
        Some(k) => message.push_str(&format!(
            " A {} copy needs about {:.1} GiB: {then} with \"Make a smaller copy\".",
            k.label(),
            gib(copy_bytes(k).saturating_add(estimate.activation_bytes))
        )),
        None if fits == Some(false) => {
            message.push_str(" Close other programs, use a smaller copy of the model, or a GPU with more memory.")
        }
        None => {}
    }
    let suggest = smaller.filter(|_| copyable.on_disk);
    FitEstimate { estimate, available_bytes: available, fits, message, suggest }
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
            name: if dir.is_none() { "Built-in demo".into() } else { display_name(&name) },
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

/// A folder's last component, or the repo id.
fn display_name(model: &str) -> String {
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
    let loaded = state.loaded().ok_or_else(no_model)?;
    off_main("Counting tokens", move || Ok(loaded.dream.tokenizer.encode(&text)?.len())).await
}

pub fn no_model() -> CommandError {
    CommandError::new(
        ErrorCode::NoModel,
        "No model is loaded: open the model manager and load one (the demo needs no download).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dream_engine::candle_core::DType as candle_core_dtype;

    fn fit(model: &std::path::Path) -> FitEstimate {
        let request = LoadRequest {
            model: model.display().to_string(),
            device: DeviceChoice::Cpu,
            dtype: None,
            redownload: false,
        };
        fit_estimate(request, &Settings::default()).unwrap()
    }

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

    #[test]
    fn a_gguf_file_is_estimated_from_its_metadata_and_size() {
        let fixture = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
        let dense = fit(&fixture);
        let cfg = DreamConfig::from_file(&fixture.join("config.json")).unwrap();
        assert_eq!(dense.estimate.weights_bytes, cfg.parameter_count() as u64 * 4, "f32 on the CPU");

        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("tiny-q8.gguf");
        dream_engine::quantize::quantize(&fixture, &file, dream_engine::quantize::QuantType::Q8_0).unwrap();
        let quantized = fit(&file);
        // The tensors as loaded: 8-bit blocks stay, the f16 fallbacks of narrow rows and the
        // norms take f32 (not the file's size, whose header also holds the tokenizer).
        let share = quantized.estimate.weights_bytes as f64 / dense.estimate.weights_bytes as f64;
        assert!((0.25..0.5).contains(&share), "{share}: {quantized:?}");
        assert_eq!(quantized.estimate.activation_bytes, dense.estimate.activation_bytes);
        assert!(quantized.message.contains("GiB"), "{}", quantized.message);
    }

    /// An F16 file's matrices take the load dtype: as stored in f16, twice that in f32 (the fit
    /// estimate used the file size, which under-reported f32 by 2x and the old double copy by 3x).
    #[test]
    fn an_f16_gguf_is_estimated_in_its_load_dtype() {
        let fixture = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("tiny-f16.gguf");
        dream_engine::quantize::quantize(&fixture, &file, dream_engine::quantize::QuantType::F16).unwrap();
        let gguf = dream_engine::gguf::GgufFile::open(&file).unwrap();
        let cfg = gguf.config().unwrap();
        let params = cfg.parameter_count() as u64;
        assert_eq!(gguf.weights_bytes(candle_core_dtype::F16), params * 2);
        assert_eq!(gguf.weights_bytes(candle_core_dtype::F32), params * 4);
        let request = LoadRequest {
            model: file.display().to_string(),
            device: DeviceChoice::Cpu,
            dtype: Some(Precision::F16),
            redownload: false,
        };
        assert_eq!(fit_estimate(request, &Settings::default()).unwrap().estimate.weights_bytes, params * 2);
    }

    /// A hostile file reaches the estimate as an error (it used to abort the app).
    #[test]
    fn a_hostile_gguf_is_an_error_for_the_estimate() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile/zero-alignment.gguf");
        let request = LoadRequest {
            model: file.display().to_string(),
            device: DeviceChoice::Cpu,
            dtype: None,
            redownload: false,
        };
        let e = fit_estimate(request, &Settings::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadWeights);
        assert!(e.message.contains("general.alignment"), "{}", e.message);
    }

    #[test]
    fn the_estimate_follows_candidates_and_temperature() {
        let fixture = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
        let request = || LoadRequest {
            model: fixture.display().to_string(),
            device: DeviceChoice::Cpu,
            dtype: None,
            redownload: false,
        };
        let greedy = fit_estimate(request(), &Settings::default()).unwrap();
        let mut settings = Settings { candidates: 3, ..Settings::default() };
        settings.sampling.temperature = 0.8;
        let sampled = fit_estimate(request(), &settings).unwrap();
        assert!(sampled.estimate.activation_bytes > 3 * greedy.estimate.activation_bytes, "{sampled:?} vs {greedy:?}");
        assert_eq!(sampled.estimate.weights_bytes, greedy.estimate.weights_bytes);
    }

    /// Dream 7B in bf16 on a GPU with too little memory: the message names what it needs, what
    /// is free, and the most precise copy that fits.
    #[test]
    fn a_model_that_does_not_fit_suggests_the_copy_that_does() {
        let cfg = DreamConfig::dream_v0_7b();
        let precision = Precision::Bf16;
        let estimate = memory::estimate(&cfg, precision.dtype(), cfg.context_limit());
        let gib = |g: u64| g << 30;
        let twelve = describe_fit(&cfg, precision, estimate, Some(gib(12)), ON_DISK, true);
        assert_eq!((twelve.fits, twelve.suggest), (Some(false), Some(CopyType::Q8_0)));
        assert!(
            twelve.message.starts_with("bf16 needs about 15.7 GiB")
                && twelve.message.contains("12.0 GiB is free on the GPU"),
            "{}",
            twelve.message
        );
        assert!(twelve.message.contains("A Q8_0 copy needs about"), "{}", twelve.message);
        let seven = describe_fit(&cfg, precision, estimate, Some(gib(7)), ON_DISK, true);
        assert_eq!(seven.suggest, Some(CopyType::Q4K), "{}", seven.message);
        let four = describe_fit(&cfg, precision, estimate, Some(gib(4)), ON_DISK, true);
        assert_eq!(four.suggest, None);
        assert!(four.message.contains("Close other programs"), "{}", four.message);
        assert_eq!(
            describe_fit(&cfg, precision, estimate, Some(gib(12)), Copyable { quantized: true, on_disk: true }, true)
                .suggest,
            None,
            "already quantized"
        );
        assert_eq!(describe_fit(&cfg, precision, estimate, Some(gib(40)), ON_DISK, true).fits, Some(true));
    }

    const ON_DISK: Copyable = Copyable { quantized: false, on_disk: true };

    /// A model not downloaded yet cannot be copied: no copy is offered, and the message says
    /// the copy comes after the download.
    #[test]
    fn a_model_not_downloaded_yet_is_offered_no_copy_until_it_is() {
        let cfg = DreamConfig::dream_v0_7b();
        let estimate = memory::estimate(&cfg, Precision::Bf16.dtype(), cfg.context_limit());
        let remote = Copyable { quantized: false, on_disk: false };
        let fit = describe_fit(&cfg, Precision::Bf16, estimate, Some(12 << 30), remote, true);
        assert_eq!((fit.fits, fit.suggest), (Some(false), None));
        assert!(
            fit.message.contains("A Q8_0 copy needs about")
                && fit.message.contains("download the model, then make one"),
            "{}",
            fit.message
        );
    }
}
