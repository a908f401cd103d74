//! The official logit processors and per-position confidence (`top_p_logits`,
//! `top_k_logits`, `sample_tokens`), on one row of f32 logits.

use rand::Rng;

/// What "confidence" means when ranking masked positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// Probability of the chosen token (`maskgit_plus`, `origin`).
    Probability,
    /// Top-1 minus top-2 probability (`topk_margin`).
    Margin,
    /// Negative entropy `sum(p * log(p + 1e-10))` (`entropy`).
    NegEntropy,
}

/// `torch.finfo(float32).min`: what the official filters write into removed entries.
pub const REMOVED: f32 = f32::MIN;

/// Nucleus filter: keeps the smallest set of largest logits whose probability reaches `top_p`
/// (the first token always kept), writing [`REMOVED`] elsewhere.
pub fn top_p_filter(logits: &mut [f32], top_p: f32) {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    // Descending; stable like the official sort on real-valued ties.
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let sorted: Vec<f32> = order.iter().map(|&i| logits[i]).collect();
    let probs = softmax(&sorted);
    let mut cumulative = 0f32;
    let mut remove_next = false;
    for (rank, &idx) in order.iter().enumerate() {
        // Shifted right by one: a token is removed when the mass before it already passed top_p.
        let remove = rank > 0 && remove_next;
        cumulative += probs[rank];
        remove_next = cumulative > top_p;
        if remove {
            logits[idx] = REMOVED;
        }
    }
}

/// Keeps the logits not smaller than the `top_k`-th largest (ties kept), writing [`REMOVED`]
/// elsewhere.
pub fn top_k_filter(logits: &mut [f32], top_k: usize) {
    let k = top_k.min(logits.len());
    if k == 0 {
        return;
    }
    let mut sorted = logits.to_vec();
    sorted.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    let kth = sorted[k - 1];
    for v in logits.iter_mut().filter(|v| **v < kth) {
        *v = REMOVED;
    }
}

/// Numerically stable softmax in f32, as torch computes it.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut out: Vec<f32> = logits.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|v| *v /= sum);
    out
}

/// Settings that shape one position's distribution.
#[derive(Debug, Clone, Copy)]
pub struct TokenSampling {
    pub temperature: f32,
    pub top_p: Option<f32>,
    pub top_k: Option<usize>,
    pub confidence: Confidence,
}

/// A token chosen for one position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    pub token: u32,
    /// What positions are ranked by (see [`Confidence`]).
    pub confidence: f32,
    /// The chosen token's probability (after filtering).
    pub probability: f32,
}

/// The official `sample_tokens` for one position. At temperature 0 the token is the argmax;
/// above, it is drawn from the filtered distribution.
pub fn sample_token(logits: &[f32], s: &TokenSampling, rng: &mut impl Rng) -> Choice {
    let mut logits = logits.to_vec();
    if s.temperature > 0.0 {
        logits.iter_mut().for_each(|v| *v /= s.temperature);
    }
    if let Some(p) = s.top_p.filter(|&p| p < 1.0) {
        top_p_filter(&mut logits, p);
    }
    if let Some(k) = s.top_k {
        top_k_filter(&mut logits, k);
    }
    let probs = softmax(&logits);
    let token = if s.temperature > 0.0 { draw(&probs, rng) } else { argmax(&probs) };
    let confidence = match s.confidence {
        Confidence::Probability => probs[token],
        Confidence::Margin => {
            let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
            for &p in &probs {
                if p > first {
                    (first, second) = (p, first);
                } else if p > second {
                    second = p;
                }
            }
            first - second
        }
        Confidence::NegEntropy => probs.iter().map(|&p| p * (p + 1e-10).ln()).sum(),
    };
    Choice { token: token as u32, confidence, probability: probs[token] }
}

impl TokenSampling {
    /// Whether the choice is the plain argmax (no randomness, no filtering): then it can be
    /// computed where the logits are, copying back two numbers per position.
    pub fn is_greedy(&self) -> bool {
        self.temperature == 0.0 && self.top_p.is_none_or(|p| p >= 1.0) && self.top_k.is_none()
    }
}

/// Index of the largest value; the first one on ties, like `torch.max`.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// A draw from a categorical distribution.
fn draw(probs: &[f32], rng: &mut impl Rng) -> usize {
    let u: f32 = rng.random::<f32>() * probs.iter().sum::<f32>();
    let mut acc = 0f32;
    for (i, &p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    // Rounding left u at the very top: take the last token with any mass.
    probs.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}
