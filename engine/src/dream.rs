//! [`Dream`]: a loaded checkpoint (config, tokenizer, model) that serves infill requests.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use candle_core::Device;

use crate::device::Precision;

use crate::checkpoint::Checkpoint;
use crate::error::Result;
use crate::model::config::DreamConfig;
use crate::model::DreamModel;
use crate::request::{InfillRequest, InfillResult, Prepared, SpanView};
use crate::sampler::{denoise, Canvas, StepEvent};
use crate::tokenizer::DreamTokenizer;

/// A Dream checkpoint ready to generate.
///
/// ```
/// # fn main() -> dream_engine::Result<()> {
/// use std::sync::atomic::AtomicBool;
/// use dream_engine::{Dream, InfillRequest};
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
/// let dream = Dream::load(&dir, &candle_core::Device::Cpu, None)?;
/// // A one-token hole after "w5 w17".
/// let mut request: InfillRequest =
///     serde_json::from_str(r#"{"text": "w5 w17 w3", "spans": [{"start": 6, "end": 6, "tokens": 1}]}"#).unwrap();
/// request.settings.steps = 1;
/// let mut steps = 0;
/// let done = dream.infill(&request, &AtomicBool::new(false), &mut |_| steps += 1)?;
/// assert_eq!(steps, 1);
/// let written = &done.candidates[0];
/// // A word of its own: the join keeps it apart from "w17".
/// assert!(written.spans[0].text.starts_with(" w"));
/// assert_eq!(written.text, format!("w5 w17{} w3", written.spans[0].text));
/// # Ok(()) }
/// ```
pub struct Dream {
    pub config: DreamConfig,
    /// Shared, so a caller can count tokens without holding the model's weights.
    pub tokenizer: Arc<DreamTokenizer>,
    pub model: DreamModel,
}

/// The outcome of [`Dream::infill`].
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Infilled {
    /// The first candidate's final canvas in the last window the model saw (the only one,
    /// unless the marks were too far apart for one).
    pub ids: Vec<u32>,
    /// One result per candidate the request asked for (at least one), in seed order.
    pub candidates: Vec<InfillResult>,
    pub warnings: Vec<String>,
}

/// One step of an infill: what the sampler did to the tokens, and the text view of every span
/// (per candidate row) that the engine derives from them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InfillStep {
    /// The sampler's step, numbered across all windows; `ids` is the window being filled.
    #[serde(flatten)]
    pub tokens: StepEvent,
    /// Which window is being filled (0-based), of how many.
    pub window: usize,
    pub windows: usize,
    pub spans: Vec<SpanView>,
}

impl Dream {
    /// Loads the checkpoint at `path` on `device`, in `precision` (default: see
    /// [`Precision::default_for`]): a folder in the Hugging Face layout, or a `.gguf`
    /// file (quantized matrices; config and tokenizer from its metadata, or from tokenizer files
    /// beside it).
    pub fn load(path: &Path, device: &Device, precision: Option<Precision>) -> Result<Self> {
        Self::load_cancellable(path, device, precision, &AtomicBool::new(false))
    }

    /// [`Dream::load`] that stops (with [`crate::Error::Cancelled`]) soon after `cancel` is set.
    pub fn load_cancellable(
        path: &Path,
        device: &Device,
        precision: Option<Precision>,
        cancel: &AtomicBool,
    ) -> Result<Self> {
        let dtype = precision.unwrap_or_else(|| Precision::default_for(device)).dtype();
        let checkpoint = Checkpoint::open(path)?;
        let config = checkpoint.config().clone();
        let tokenizer = checkpoint.tokenizer()?;
        // What loading and then writing at the full context takes, for an out-of-memory error.
        let needed = crate::memory::estimate(&config, dtype, config.context_limit())
            .with_weights(checkpoint.weights_bytes(dtype))
            .total_bytes;
        let model = checkpoint
            .weights(dtype, device)
            .and_then(|weights| DreamModel::load_cancellable(&weights, &config, cancel))
            .map_err(|e| crate::memory::out_of_memory(e, device, needed))?;
        Ok(Dream { config, tokenizer: Arc::new(tokenizer), model })
    }

    /// Runs `request`, calling `on_step` after every denoising step with the token state and
    /// each span's live text. Returns [`crate::Error::Cancelled`] if `cancel` is set before a step.
    pub fn infill(
        &self,
        request: &InfillRequest,
        cancel: &AtomicBool,
        on_step: &mut dyn FnMut(InfillStep),
    ) -> Result<Infilled> {
        self.run(&self.prepare(request)?, cancel, on_step)
    }

    /// Tokenises and windows `request` for this model (see [`InfillRequest::prepare`]).
    pub fn prepare(&self, request: &InfillRequest) -> Result<Prepared> {
        request.prepare(&self.tokenizer, self.config.context_limit())
    }

    /// Denoises a prepared request (see [`Dream::infill`]), `candidates` rows at once, one
    /// window after another. Steps are numbered across all windows.
    pub fn run(
        &self,
        prepared: &Prepared,
        cancel: &AtomicBool,
        on_step: &mut dyn FnMut(InfillStep),
    ) -> Result<Infilled> {
        let n = prepared.candidates;
        // Every row's whole state: a window's canvas is cut from it, so later windows see what
        // earlier ones wrote.
        let mut state = vec![prepared.tokens.clone(); n];
        let mut confidence = vec![vec![None; prepared.tokens.len()]; n];
        let windows = prepared.windows.len();
        let steps: usize = prepared.windows.iter().map(|w| w.steps).sum();
        let (mut done, mut last) = (0, Vec::new());
        let mut view_error = None;
        let prompt = &prepared.prompt;
        for (w, window) in prepared.windows.iter().enumerate() {
            let range = window.range.clone();
            // Each window is read after the prompt (the instructions), which nothing writes into.
            let rows = state.iter().map(|row| [&prompt[..], &row[range.clone()]].concat()).collect();
            let canvas = Canvas { rows, attention_mask: None };
            let settings = prepared.window_settings(w);
            // What the window's steps take beside the weights, for an out-of-memory error.
            let seen = prompt.len() + range.len();
            let needed =
                crate::memory::estimate_run(&self.config, self.model.dtype(), seen, n, settings.temperature > 0.0)
                    .activation_bytes;
            let generation = denoise(&self.model, canvas, &settings, cancel, &mut |mut tokens| {
                for r in &tokens.revealed {
                    confidence[r.row][range.start + r.position - prompt.len()] = Some(r.confidence);
                }
                let mut spans = Vec::new();
                for (row, (ids, conf)) in state.iter_mut().zip(&confidence).enumerate() {
                    ids[range.clone()].copy_from_slice(&tokens.ids[row][prompt.len()..]);
                    match prepared.span_views(&self.tokenizer, ids, conf) {
                        Ok(views) => spans.extend(views.into_iter().map(|v| SpanView { row, ..v })),
                        Err(e) => view_error = Some(e),
                    }
                }
                (tokens.step, tokens.steps) = (done + tokens.step, steps);
                on_step(InfillStep { tokens, window: w, windows, spans });
            })
            .map_err(|e| crate::memory::out_of_memory(e, self.model.device(), needed))?;
            if let Some(e) = view_error {
                return Err(e);
            }
            // `state` already holds every row's final tokens: each step copied them in.
            done += window.steps;
            last = generation.ids.into_iter().next().unwrap_or_default();
        }
        let candidates = state
            .iter()
            .zip(&confidence)
            .map(|(ids, conf)| prepared.result(&self.tokenizer, ids, conf))
            .collect::<Result<Vec<_>>>()?;
        Ok(Infilled { ids: last, candidates, warnings: prepared.warnings.clone() })
    }
}
