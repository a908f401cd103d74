//! The denoising loop of the official `_sample`, step by step, with events and cancellation.

pub mod logits;
pub mod schedule;
mod settings;

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{DreamModel, ModelInput};
use logits::{sample_token, TokenSampling};
pub use settings::{Alg, SamplingSettings};

/// One token written at a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revealed {
    pub row: usize,
    pub position: usize,
    pub token: u32,
    /// The confidence it was ranked by (the algorithm's measure; probability for `origin`).
    pub confidence: f32,
}

/// What one denoising step did. Serialised as a JSON line by the CLI and sent over the app's
/// channel; the request layer adds the text view of each span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvent {
    /// 0-based step index.
    pub step: usize,
    pub steps: usize,
    /// The whole token state of every row after this step.
    pub ids: Vec<Vec<u32>>,
    pub revealed: Vec<Revealed>,
    /// Text view of each masked span (filled in by [`crate::request`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<crate::request::SpanView>,
}

/// A batch canvas to denoise: rows of equal length where `mask_token_id` marks the positions to
/// generate; every other token is pinned and never changes.
pub struct Canvas {
    pub rows: Vec<Vec<u32>>,
    /// 1 = real token, 0 = left padding (official semantics); `None` = no padding.
    pub attention_mask: Option<Vec<Vec<bool>>>,
}

/// The finished canvas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    pub ids: Vec<Vec<u32>>,
    /// The confidence each position was revealed with (`None`: it was never masked).
    pub confidence: Vec<Vec<Option<f32>>>,
    pub steps: usize,
}

/// Runs `settings.steps` denoising steps of `model` over `canvas`, calling `on_step` after
/// each and checking `cancel` before each.
///
/// Equivalent to the official `_sample` (shifted logits, `linspace` schedule, the four
/// algorithms, top-p/top-k/temperature/alg_temp); the only deliberate difference is that a
/// batch row never reveals more positions than it has masks (the official code would write the
/// mask id over pinned tokens there).
pub fn generate(
    model: &DreamModel,
    canvas: Canvas,
    settings: &SamplingSettings,
    cancel: &AtomicBool,
    on_step: &mut dyn FnMut(StepEvent),
) -> Result<Generation> {
    settings.validate()?;
    let cfg = model.config();
    let mask_id = cfg.mask_token_id;
    let Canvas { mut rows, attention_mask } = canvas;
    let device = model.device();
    let input = ModelInput::new(&rows, attention_mask.as_deref(), device)?;
    let (b, l) = input.dims()?;
    let steps = settings.steps;
    let timesteps = schedule::timesteps(steps, settings.eps);
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let token_sampling = TokenSampling {
        temperature: settings.temperature,
        top_p: settings.top_p,
        top_k: settings.top_k,
        confidence: settings.alg.confidence(),
    };
    let mut confidence = vec![vec![None; l]; b];
    let mut input = input;

    for step in 0..steps {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let masked: Vec<(usize, usize)> =
            (0..b).flat_map(|r| (0..l).map(move |p| (r, p))).filter(|&(r, p)| rows[r][p] == mask_id).collect();
        let mut revealed = Vec::new();
        if !masked.is_empty() {
            input.set_ids(&rows)?;
            let logits = masked_logits(model, &input, &masked, l)?;
            let mut candidates: Vec<(usize, usize, f32, u32)> = Vec::with_capacity(masked.len());
            if settings.alg == Alg::Origin {
                let p_transfer = schedule::transfer_probability(&timesteps, step);
                for (&(r, p), row_logits) in masked.iter().zip(&logits) {
                    if rng.random::<f32>() < p_transfer {
                        let (conf, tok) = sample_token(row_logits, &token_sampling, &mut rng);
                        candidates.push((r, p, conf, tok));
                    }
                }
            } else {
                let scored: Vec<(usize, usize, f32, u32)> = masked
                    .iter()
                    .zip(&logits)
                    .map(|(&(r, p), row_logits)| {
                        let (conf, tok) = sample_token(row_logits, &token_sampling, &mut rng);
                        (r, p, conf, tok)
                    })
                    .collect();
                let num_mask = masked.len() as f32 / b as f32;
                let k = schedule::transfer_count(num_mask, &timesteps, step);
                for r in 0..b {
                    let row: Vec<_> = scored.iter().filter(|c| c.0 == r).copied().collect();
                    for i in select(&row, k, settings.alg_temp, &mut rng) {
                        candidates.push(row[i]);
                    }
                }
            }
            for (r, p, conf, tok) in candidates {
                rows[r][p] = tok;
                confidence[r][p] = Some(conf);
                revealed.push(Revealed { row: r, position: p, token: tok, confidence: conf });
            }
        }
        on_step(StepEvent { step, steps, ids: rows.clone(), revealed, spans: Vec::new() });
    }
    Ok(Generation { ids: rows, confidence, steps })
}

/// Shifted logits (position i is predicted by the output at i-1; position 0 by itself) of the
/// masked positions only: the vocabulary projection runs on just those rows.
fn masked_logits(model: &DreamModel, input: &ModelInput, masked: &[(usize, usize)], l: usize) -> Result<Vec<Vec<f32>>> {
    let hidden = model.hidden_states(input)?;
    let (b, _, h) = hidden.dims3()?;
    let sources: Vec<u32> = masked.iter().map(|&(r, p)| (r * l + p.saturating_sub(1)) as u32).collect();
    let index = Tensor::from_vec(sources, masked.len(), hidden.device())?;
    let rows = hidden.reshape((b * l, h))?.index_select(&index, 0)?;
    Ok(model.logits(&rows)?.to_vec2::<f32>()?)
}

/// Indices of the `k` candidates to reveal: the most confident (`torch.topk`), or with
/// `alg_temp` a draw without replacement from `softmax(confidence / alg_temp)`.
fn select(row: &[(usize, usize, f32, u32)], k: usize, alg_temp: Option<f32>, rng: &mut impl Rng) -> Vec<usize> {
    let k = k.min(row.len());
    match alg_temp.filter(|&t| t > 0.0) {
        None => {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&a, &b| row[b].2.total_cmp(&row[a].2));
            order.truncate(k);
            order
        }
        Some(temp) => {
            let scaled: Vec<f32> = row.iter().map(|c| c.2 / temp).collect();
            let mut weights = logits::softmax(&scaled);
            let mut chosen = Vec::with_capacity(k);
            for _ in 0..k {
                let total: f32 = weights.iter().sum();
                let pick = if total > 0.0 {
                    let u = rng.random::<f32>() * total;
                    let mut acc = 0f32;
                    weights.iter().position(|&w| {
                        acc += w;
                        u < acc
                    })
                } else {
                    None
                };
                // Rounding or underflow: fall back to the first still available candidate.
                let i = pick.unwrap_or_else(|| (0..row.len()).find(|i| !chosen.contains(i)).unwrap_or(0));
                weights[i] = 0.0;
                chosen.push(i);
            }
            chosen
        }
    }
}
