//! Will a model fit? The memory estimate for the writer's settings and device, said in
//! words, and the smaller copy that would fit when one can be made.

use dream_engine::checkpoint::Checkpoint;
use dream_engine::hub::{self, ModelSource, KNOWN_MODELS};
use dream_engine::memory::{self, MemoryEstimate};
use dream_engine::{DreamConfig, Precision};
use serde::Serialize;
use tauri::State;

use crate::blocking::off_main;
use crate::commands::copies::CopyType;
use crate::commands::model::{display_name, LoadRequest, DEMO};
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::settings::Settings;
use crate::state::AppState;

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
    /// The model's name as the page shows it.
    pub name: String,
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

/// The estimate for the writer's settings: as many rows as candidates, and the copies of the
/// logits that drawing tokens at a temperature above 0 makes (a question of memory, not of
/// whether the run varies with the seed).
fn fit_estimate(request: LoadRequest, settings: &Settings) -> CommandResult<FitEstimate> {
    let (cfg, checkpoint) = config_of(&request.model)?;
    let device = request.device.open()?;
    let precision = request.dtype.unwrap_or_else(|| Precision::default_for(&device));
    let dtype = precision.dtype();
    let draws_tokens = settings.sampling.temperature > 0.0;
    let mut estimate = memory::estimate_run(&cfg, dtype, cfg.context_limit(), settings.candidates, draws_tokens);
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
    let copyable = Copyable { quantized, on_disk };
    Ok(describe_fit(display_name(&request.model), &cfg, precision, estimate, available, copyable, !device.is_cpu()))
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
    name: String,
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
    FitEstimate { estimate, available_bytes: available, fits, message, suggest, name }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dream_engine::candle_core::DType as candle_core_dtype;
    use dream_engine::DeviceChoice;

    fn fit(model: &std::path::Path) -> FitEstimate {
        let request = LoadRequest {
            model: model.display().to_string(),
            device: DeviceChoice::Cpu,
            dtype: None,
            redownload: false,
        };
        fit_estimate(request, &Settings::default()).unwrap()
    }

    #[test]
    fn a_gguf_file_is_estimated_from_its_metadata_and_size() {
        let fixture = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
        let dense = fit(&fixture);
        let cfg = DreamConfig::from_file(&fixture.join("config.json")).unwrap();
        assert_eq!(dense.estimate.weights_bytes, cfg.parameter_count() as u64 * 4, "f32 on the CPU");

        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("tiny-q8.gguf");
        dream_engine::checkpoint::quantize::quantize(
            &fixture,
            &file,
            dream_engine::checkpoint::quantize::QuantType::Q8_0,
        )
        .unwrap();
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
        dream_engine::checkpoint::quantize::quantize(
            &fixture,
            &file,
            dream_engine::checkpoint::quantize::QuantType::F16,
        )
        .unwrap();
        let gguf = dream_engine::checkpoint::gguf::GgufFile::open(&file).unwrap();
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
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile/zero-alignment.gguf");
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
        let twelve = describe_fit("m".into(), &cfg, precision, estimate, Some(gib(12)), ON_DISK, true);
        assert_eq!((twelve.fits, twelve.suggest), (Some(false), Some(CopyType::Q8_0)));
        assert!(
            twelve.message.starts_with("bf16 needs about 15.7 GiB")
                && twelve.message.contains("12.0 GiB is free on the GPU"),
            "{}",
            twelve.message
        );
        assert!(twelve.message.contains("A Q8_0 copy needs about"), "{}", twelve.message);
        let seven = describe_fit("m".into(), &cfg, precision, estimate, Some(gib(7)), ON_DISK, true);
        assert_eq!(seven.suggest, Some(CopyType::Q4K), "{}", seven.message);
        let four = describe_fit("m".into(), &cfg, precision, estimate, Some(gib(4)), ON_DISK, true);
        assert_eq!(four.suggest, None);
        assert!(four.message.contains("Close other programs"), "{}", four.message);
        assert_eq!(
            describe_fit(
                "m".into(),
                &cfg,
                precision,
                estimate,
                Some(gib(12)),
                Copyable { quantized: true, on_disk: true },
                true
            )
            .suggest,
            None,
            "already quantized"
        );
        assert_eq!(describe_fit("m".into(), &cfg, precision, estimate, Some(gib(40)), ON_DISK, true).fits, Some(true));
    }

    const ON_DISK: Copyable = Copyable { quantized: false, on_disk: true };

    /// A model not downloaded yet cannot be copied: no copy is offered, and the message says
    /// the copy comes after the download.
    #[test]
    fn a_model_not_downloaded_yet_is_offered_no_copy_until_it_is() {
        let cfg = DreamConfig::dream_v0_7b();
        let estimate = memory::estimate(&cfg, Precision::Bf16.dtype(), cfg.context_limit());
        let remote = Copyable { quantized: false, on_disk: false };
        let fit = describe_fit("m".into(), &cfg, Precision::Bf16, estimate, Some(12 << 30), remote, true);
        assert_eq!((fit.fits, fit.suggest), (Some(false), None));
        assert!(
            fit.message.contains("A Q8_0 copy needs about")
                && fit.message.contains("download the model, then make one"),
            "{}",
            fit.message
        );
    }
}
