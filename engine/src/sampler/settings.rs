//! Sampling settings with the official defaults, validated before a run.

use serde::{Deserialize, Serialize};

use super::logits::Confidence;
use crate::error::{Error, Result};

/// "Fast" decoding as the app and `dream quality` offer it: span-local, with a full pass once
/// this many tokens were written since the last (`cache_refresh`).
pub const FAST_REFRESH: usize = 32;
/// "Auto" as the app and `dream quality` offer it: each step also writes every token at least
/// this probable (`threshold`).
pub const AUTO_THRESHOLD: f32 = 0.9;

/// How the next positions to reveal are chosen.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum), value(rename_all = "snake_case"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alg {
    /// Each masked token is revealed at random with probability `1 - s/t`.
    Origin,
    /// The most probable tokens first.
    MaskgitPlus,
    /// The largest top-1/top-2 probability margins first.
    TopkMargin,
    /// The lowest-entropy positions first (Dream's recommended default).
    #[default]
    Entropy,
}

impl Alg {
    /// Whether this order is drawn at random (so it varies with the seed whatever the
    /// temperature): `origin` reveals each masked token with a probability.
    pub fn draws_order(self) -> bool {
        self == Alg::Origin
    }

    pub(crate) fn confidence(self) -> Confidence {
        match self {
            Alg::Origin | Alg::MaskgitPlus => Confidence::Probability,
            Alg::TopkMargin => Confidence::Margin,
            Alg::Entropy => Confidence::NegEntropy,
        }
    }
}

/// The knobs of one generation, named as in the official `diffusion_generate`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingSettings {
    pub steps: usize,
    pub alg: Alg,
    pub temperature: f32,
    pub top_p: Option<f32>,
    pub top_k: Option<usize>,
    pub alg_temp: Option<f32>,
    pub eps: f32,
    pub seed: u64,
    /// Parallel reveal (Fast-dLLM's confidence-aware decoding): each step reveals every masked
    /// token whose probability is at least this (and at least one), so easy text finishes in
    /// fewer than `steps` steps. `None`: the official fixed schedule.
    pub threshold: Option<f32>,
    /// Span-local decoding: between full passes, only the masked spans (and the position
    /// before each, which predicts its first token) are recomputed against the other
    /// positions' cached keys/values; a full pass refreshes the cache once this many tokens
    /// have been revealed since it was taken (with the official one token per step: every
    /// this many steps). `None` or 1: every step is a full pass (exact).
    pub cache_refresh: Option<usize>,
    /// Tokens never written, whatever their probability: a writer's fills get the tokenizer's
    /// control tokens banned (`DreamTokenizer::control_ids`). Set by the request, not sent by
    /// the page.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub banned: Vec<u32>,
}

impl Default for SamplingSettings {
    fn default() -> Self {
        SamplingSettings {
            steps: 64,
            alg: Alg::Entropy,
            temperature: 0.0,
            top_p: None,
            top_k: None,
            alg_temp: None,
            eps: 1e-3,
            seed: 0,
            threshold: None,
            cache_refresh: None,
            banned: Vec::new(),
        }
    }
}

impl SamplingSettings {
    /// Whether two runs that differ only in `seed` can write different text: a temperature
    /// (of the tokens or of the order) above 0, or an order drawn at random. The one answer to
    /// "can candidates differ?".
    ///
    /// ```
    /// use dream_engine::{Alg, SamplingSettings};
    /// assert!(!SamplingSettings::default().varies_with_seed());
    /// assert!(SamplingSettings { alg: Alg::Origin, ..Default::default() }.varies_with_seed());
    /// assert!(SamplingSettings { alg_temp: Some(0.5), ..Default::default() }.varies_with_seed());
    /// ```
    pub fn varies_with_seed(&self) -> bool {
        self.temperature > 0.0 || self.alg_temp.is_some_and(|t| t > 0.0) || self.alg.draws_order()
    }

    /// Rejects settings the sampler cannot honour, naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, reason: String| Err(Error::invalid(field, reason));
        if self.steps == 0 {
            return bad("steps", "must be at least 1".into());
        }
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return bad("temperature", format!("{} is not a finite number >= 0", self.temperature));
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return bad("top_p", format!("{p} is outside (0, 1]"));
            }
        }
        if self.top_k == Some(0) {
            return bad("top_k", "must be at least 1".into());
        }
        if let Some(t) = self.alg_temp {
            if !t.is_finite() || t < 0.0 {
                return bad("alg_temp", format!("{t} is not a finite number >= 0"));
            }
        }
        if let Some(t) = self.threshold {
            if !(t > 0.0 && t <= 1.0) {
                return bad("threshold", format!("{t} is outside (0, 1]"));
            }
            if self.alg == Alg::Origin {
                return bad("threshold", "parallel reveal ranks by confidence; `origin` has none".into());
            }
        }
        if self.cache_refresh == Some(0) {
            return bad("cache_refresh", "must be at least 1".into());
        }
        if !(self.eps > 0.0 && self.eps < 1.0) {
            return bad("eps", format!("{} is outside (0, 1)", self.eps));
        }
        Ok(())
    }
}
