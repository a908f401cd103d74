//! The denoising loop of the official `_sample`, step by step, with events and cancellation.

pub mod logits;
pub mod schedule;
mod scoring;
mod settings;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{DreamModel, KvCache, ModelInput};
use logits::{sample_token, Choice, TokenSampling, REMOVED};
pub use settings::{Alg, SamplingSettings, AUTO_THRESHOLD, FAST_REFRESH};

/// One token written at a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revealed {
    pub row: usize,
    pub position: usize,
    pub token: u32,
    /// The confidence it was ranked by (the algorithm's measure; probability for `origin`).
    pub confidence: f32,
}

/// What one denoising step did to the tokens (the sampler knows tokens, not text; see
/// `InfillStep` for the text view).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvent {
    /// 0-based step index.
    pub step: usize,
    pub steps: usize,
    /// The whole token state of every row after this step.
    pub ids: Vec<Vec<u32>>,
    pub revealed: Vec<Revealed>,
    /// Whether this step ran the whole sequence through the model (always, unless span-local
    /// decoding computed only the spans against its cache).
    pub full_pass: bool,
    /// What the model computed in this step (what it cost).
    pub cost: StepCost,
}

/// The work of one step, in the terms its time depends on (see [`crate::DreamConfig::step_flops`]).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StepCost {
    /// Positions the layers computed, over all rows (candidates): the whole row for a full
    /// pass, the spans' windows for a span-local one.
    pub rows: usize,
    /// Positions each of them attends to: the row's length.
    pub keys: usize,
    /// Positions projected onto the vocabulary: the masked ones.
    pub logits: usize,
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

/// Runs up to `settings.steps` denoising steps of `model` over `canvas`, calling `on_step`
/// after each and checking `cancel` before each.
///
/// Equivalent to the official `_sample` (shifted logits, `linspace` schedule, the four
/// algorithms, top-p/top-k/temperature/alg_temp); the only deliberate difference is that a
/// batch row never reveals more positions than it has masks (the official code would write the
/// mask id over pinned tokens there). Two options go beyond it: `threshold` (parallel reveal,
/// which can finish early) and `cache_refresh` (span-local decoding).
pub fn generate(
    model: &DreamModel,
    canvas: Canvas,
    settings: &SamplingSettings,
    cancel: &AtomicBool,
    on_step: &mut dyn FnMut(StepEvent),
) -> Result<Generation> {
    settings.validate()?;
    denoise(model, canvas, settings, cancel, on_step)
}

/// [`generate`] with settings validated already: a prepared request's, checked once for all
/// its windows.
pub(crate) fn denoise(
    model: &DreamModel,
    canvas: Canvas,
    settings: &SamplingSettings,
    cancel: &AtomicBool,
    on_step: &mut dyn FnMut(StepEvent),
) -> Result<Generation> {
    let mask_id = model.config().mask_token_id;
    let Canvas { mut rows, attention_mask } = canvas;
    let mut input = ModelInput::new(&rows, attention_mask.as_deref(), model.device())?;
    let (b, l) = input.dims()?;
    let steps = settings.steps;
    let timesteps = schedule::timesteps(steps, settings.eps);
    // One random stream per row (seed, seed + 1, ...), so batch rows are independent
    // candidates and row 0 draws exactly what a single-row run with the same seed draws.
    let mut rngs: Vec<ChaCha8Rng> =
        (0..b as u64).map(|r| ChaCha8Rng::seed_from_u64(settings.seed.wrapping_add(r))).collect();
    let token_sampling = TokenSampling {
        temperature: settings.temperature,
        top_p: settings.top_p,
        top_k: settings.top_k,
        confidence: settings.alg.confidence(),
    };
    let mut confidence = vec![vec![None; l]; b];
    let mut passes = Passes::new(settings.cache_refresh, &rows, mask_id, attention_mask.is_some());
    let mut done = 0;
    let ban = banned_logits(&settings.banned, model)?;

    for step in 0..steps {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let masked: Vec<(usize, usize)> =
            (0..b).flat_map(|r| (0..l).map(move |p| (r, p))).filter(|&(r, p)| rows[r][p] == mask_id).collect();
        if masked.is_empty() && settings.threshold.is_some() {
            break; // parallel reveal finished early
        }
        let mut revealed = Vec::new();
        let (mut full_pass, mut cost) = (false, StepCost::default());
        if !masked.is_empty() {
            input.set_ids(&rows)?;
            let logits;
            (logits, full_pass) = passes.masked_logits(model, &input, &masked, l, cancel)?;
            let computed = if full_pass { l } else { passes.windows.iter().map(|w| w.len()).sum() };
            cost = StepCost { rows: computed * b, keys: l, logits: masked.len() };
            let logits = match &ban {
                Some(ban) => logits.broadcast_add(ban)?,
                None => logits,
            };
            let chosen = if settings.alg == Alg::Origin {
                origin(&masked, &logits, &token_sampling, &timesteps, step, &mut rngs)?
            } else {
                let rows_of: Vec<usize> = masked.iter().map(|&(r, _)| r).collect();
                let choices = scoring::choose(&logits, &token_sampling, &rows_of, &mut rngs)?;
                finite(choices.iter(), step)?;
                let last = step + 1 == steps;
                let k = schedule::transfer_count(masked.len() as f32 / b as f32, &timesteps, step);
                let mut chosen = Vec::new();
                for (r, rng) in rngs.iter_mut().enumerate() {
                    let row: Vec<(usize, usize, Choice)> = masked
                        .iter()
                        .zip(&choices)
                        .filter(|((mr, _), _)| *mr == r)
                        .map(|(&(r, p), &c)| (r, p, c))
                        .collect();
                    let picks = match settings.threshold {
                        Some(t) if !last => above_threshold(&row, t),
                        Some(_) => (0..row.len()).collect(),
                        None => select(&row, k, settings.alg_temp, rng),
                    };
                    chosen.extend(picks.into_iter().map(|i| row[i]));
                }
                chosen
            };
            finite(chosen.iter().map(|(_, _, c)| c), step)?;
            passes.revealed(chosen.len().div_ceil(b));
            for (r, p, c) in chosen {
                rows[r][p] = c.token;
                confidence[r][p] = Some(c.confidence);
                revealed.push(Revealed { row: r, position: p, token: c.token, confidence: c.confidence });
            }
        }
        on_step(StepEvent { step, steps, ids: rows.clone(), revealed, full_pass, cost });
        done = step + 1;
    }
    Ok(Generation { ids: rows, confidence, steps: done })
}

/// What is added to every row of logits so that `banned` tokens are never chosen: [`REMOVED`]
/// at them, as the official filters remove a token (`None`: nothing banned).
fn banned_logits(banned: &[u32], model: &DreamModel) -> Result<Option<Tensor>> {
    if banned.is_empty() {
        return Ok(None);
    }
    let mut add = vec![0f32; model.config().vocab_size];
    for &t in banned {
        if let Some(v) = add.get_mut(t as usize) {
            *v = REMOVED;
        }
    }
    Ok(Some(Tensor::from_vec(add, (1, model.config().vocab_size), model.device())?))
}

/// Refuses a step whose choices came from NaN or infinite logits (they make the probability and
/// confidence NaN on every path: softmax, the fused greedy row, the draw), before any is written.
fn finite<'a>(mut choices: impl Iterator<Item = &'a Choice>, step: usize) -> Result<()> {
    match choices.all(|c| c.probability.is_finite() && c.confidence.is_finite()) {
        true => Ok(()),
        false => Err(Error::NonFiniteOutput { step }),
    }
}

/// `origin`: each masked token is revealed with probability `1 - s/t` (all at the last step),
/// its token drawn like any other.
fn origin(
    masked: &[(usize, usize)],
    logits: &Tensor,
    s: &TokenSampling,
    timesteps: &[f32],
    step: usize,
    rngs: &mut [ChaCha8Rng],
) -> Result<Vec<(usize, usize, Choice)>> {
    let p_transfer = schedule::transfer_probability(timesteps, step);
    let rows = logits.to_vec2::<f32>()?;
    let mut chosen = Vec::new();
    for (&(r, p), row) in masked.iter().zip(&rows) {
        let rng = &mut rngs[r];
        if rng.random::<f32>() < p_transfer {
            chosen.push((r, p, sample_token(row, s, rng)));
        }
    }
    Ok(chosen)
}

/// Parallel reveal: every candidate at least `threshold` probable, or else the most confident.
fn above_threshold(row: &[(usize, usize, Choice)], threshold: f32) -> Vec<usize> {
    let sure: Vec<usize> = (0..row.len()).filter(|&i| row[i].2.probability >= threshold).collect();
    if !sure.is_empty() || row.is_empty() {
        return sure;
    }
    let best = (0..row.len()).max_by(|&a, &b| row[a].2.confidence.total_cmp(&row[b].2.confidence).then(b.cmp(&a)));
    best.into_iter().collect()
}

/// The positions span-local decoding recomputes: each run of masks widened by the position
/// before it (whose output predicts the run's first token), merged where they touch.
///
/// ```
/// use dream_engine::sampler::mask_windows;
/// assert_eq!(mask_windows(&[5, 9, 9, 7, 9, 1], 9), vec![0..5]);
/// assert_eq!(mask_windows(&[9, 1, 2, 3, 9], 9), vec![0..1, 3..5]);
/// ```
pub fn mask_windows(row: &[u32], mask_id: u32) -> Vec<Range<usize>> {
    let mut windows: Vec<Range<usize>> = Vec::new();
    for (p, _) in row.iter().enumerate().filter(|(_, &t)| t == mask_id) {
        let start = p.saturating_sub(1);
        match windows.last_mut() {
            Some(w) if w.end >= start => w.end = p + 1,
            _ => windows.push(start..p + 1),
        }
    }
    windows
}

/// How each step gets its hidden states: a full pass every step, or (span-local decoding) a
/// full pass that refreshes the key/value cache once `refresh` tokens have been revealed since
/// it was taken and, in between, a pass over the masked spans' windows only.
///
/// The cache goes stale only as the spans' tokens change, so staleness is counted in revealed
/// tokens, not steps: a step that reveals nothing (`origin` early on) costs no refresh, and a
/// parallel-reveal step that writes many tokens brings the next refresh nearer.
struct Passes {
    refresh: usize,
    /// Tokens revealed since the cache was taken.
    changed: usize,
    /// Each span of masks, widened by the position before it (which predicts its first token).
    windows: Vec<Range<usize>>,
    /// For each position inside a window, its index among the windows' positions.
    offset: Vec<u32>,
    cache: Option<KvCache>,
}

impl Passes {
    fn new(refresh: Option<usize>, rows: &[Vec<u32>], mask_id: u32, padded: bool) -> Self {
        // Each row (candidate) has its own cache in the batch; the windows are shared, so they
        // cover any row's masks. Padded batches shift positions per row: always full passes.
        let refresh = if padded { 1 } else { refresh.unwrap_or(1) };
        let any_masked: Vec<u32> =
            (0..rows[0].len()).map(|p| if rows.iter().any(|r| r[p] == mask_id) { mask_id } else { !mask_id }).collect();
        let windows = mask_windows(&any_masked, mask_id);
        let mut offset = vec![0u32; rows[0].len()];
        for (i, p) in windows.iter().flat_map(|w| w.clone()).enumerate() {
            offset[p] = i as u32;
        }
        Passes { refresh, changed: 0, windows, offset, cache: None }
    }

    /// Counts tokens written since the cache was taken (per row: each row has its own cache).
    fn revealed(&mut self, count: usize) {
        self.changed += count;
    }

    /// Shifted logits (position i is predicted by the output at i-1; position 0 by itself) of
    /// the masked positions only: the vocabulary projection runs on just those rows. Also
    /// says whether the pass covered the whole sequence.
    fn masked_logits(
        &mut self,
        model: &DreamModel,
        input: &ModelInput,
        masked: &[(usize, usize)],
        l: usize,
        cancel: &AtomicBool,
    ) -> Result<(Tensor, bool)> {
        let sources = masked.iter().map(|&(r, p)| (r, p.saturating_sub(1)));
        let full = self.refresh == 1 || self.cache.is_none() || self.changed >= self.refresh;
        let (hidden, index): (Tensor, Vec<u32>) = if self.refresh == 1 {
            (model.hidden_states(input, Some(cancel))?, sources.map(|(r, p)| (r * l + p) as u32).collect())
        } else if full {
            let (hidden, cache) = model.hidden_states_cached(input, Some(cancel))?;
            self.cache = Some(cache);
            self.changed = 0;
            (hidden, sources.map(|(r, p)| (r * l + p) as u32).collect())
        } else {
            let cache = self.cache.as_ref().expect("cache checked above");
            let hidden = model.hidden_states_windows(input, &self.windows, cache, Some(cancel))?;
            let n = hidden.dim(1)?;
            (hidden, sources.map(|(r, p)| (r * n) as u32 + self.offset[p]).collect())
        };
        let (b, n, h) = hidden.dims3()?;
        let index = Tensor::from_vec(index, masked.len(), hidden.device())?;
        let rows = hidden.reshape((b * n, h))?.index_select(&index, 0)?;
        Ok((model.logits(&rows)?, full))
    }
}

/// Indices of the `k` candidates to reveal: the most confident (`torch.topk`), or with
/// `alg_temp` a draw without replacement from `softmax(confidence / alg_temp)`.
fn select(row: &[(usize, usize, Choice)], k: usize, alg_temp: Option<f32>, rng: &mut impl Rng) -> Vec<usize> {
    let k = k.min(row.len());
    match alg_temp.filter(|&t| t > 0.0) {
        None => {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&a, &b| row[b].2.confidence.total_cmp(&row[a].2.confidence));
            order.truncate(k);
            order
        }
        Some(temp) => {
            let scaled: Vec<f32> = row.iter().map(|c| c.2.confidence / temp).collect();
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
