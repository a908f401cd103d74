//! The values the page and the app must agree on, defined once here. `bindings.rs` writes them
//! into ui/src/bindings.ts as `SHARED`, beside the IPC types, and its test fails when the two
//! drift apart.

use dream_engine::Alg;
use serde::Serialize;

/// Limits and defaults both sides apply: the page to bound its controls and say why, the app
/// to refuse what the page should never have sent.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct Shared {
    /// The app's name, as its window and its messages say it.
    pub app_name: &'static str,
    /// The largest document, in bytes of UTF-8 (the engine's request limit too).
    pub max_text_bytes: usize,
    /// The largest pinned ending, in bytes of UTF-8.
    pub max_ending_bytes: usize,
    /// The most versions one run writes.
    pub max_candidates: usize,
    /// The most tokens one mark, or the gap before an ending, holds.
    pub max_mark_tokens: u32,
    /// The gap before a newly pinned ending, in tokens.
    pub default_gap: u32,
    /// The warmest sampling offered (hotter is noise); the coolest is 0.
    pub max_temperature: f32,
    /// "Fast" speed: a full pass once this many tokens were written since the last.
    pub fast_refresh: usize,
    /// "Auto" speed: each step also writes every token at least this probable.
    pub auto_threshold: f32,
    /// Speed by length: fast once a step reads this many times the masked tokens or more.
    pub auto_fast_ratio: usize,
    /// The orders drawn at random: a run with one varies with the seed even at temperature 0
    /// (the page's half of `SamplingSettings::varies_with_seed`).
    pub random_orders: &'static [Alg],
}

pub const SHARED: Shared = Shared {
    app_name: "Dream Writer",
    max_text_bytes: dream_engine::request::MAX_TEXT_BYTES,
    max_ending_bytes: dream_engine::request::MAX_ENDING_BYTES,
    max_candidates: dream_engine::request::MAX_CANDIDATES,
    max_mark_tokens: 1024,
    default_gap: 32,
    max_temperature: 2.0,
    fast_refresh: dream_engine::sampler::FAST_REFRESH,
    auto_threshold: dream_engine::sampler::AUTO_THRESHOLD,
    auto_fast_ratio: 4,
    random_orders: &[Alg::Origin],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_random_orders_are_the_engines() {
        let all = [Alg::Origin, Alg::MaskgitPlus, Alg::TopkMargin, Alg::Entropy];
        let engine: Vec<Alg> = all.into_iter().filter(|a| a.draws_order()).collect();
        assert_eq!(SHARED.random_orders, engine.as_slice());
    }
}
