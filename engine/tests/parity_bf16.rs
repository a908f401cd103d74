//! The fixture in bf16, the dtype a GPU runs by default, against the official f32 numbers.
//!
//! bf16 keeps 8 bits of mantissa, so it cannot meet the f32 tests' 1e-4; the tolerance stated
//! here is relative to the logits' size. Run on a GPU with
//! `DREAM_TEST_DEVICE=cuda cargo test -p dream-engine --features cuda --test parity_bf16`.
mod common;

use candle_core::DType;

#[test]
fn bf16_logits_stay_within_the_stated_tolerance() {
    let (max, mean, scale, agree) = common::logit_error(&common::model_in(DType::BF16));
    eprintln!(
        "bf16 on {:?} vs official f32: max {max} mean {mean}; mean |logit| {scale}; top-1 {agree}/24",
        common::device()
    );
    // Stated tolerance: mean error <= 5% and max error <= 50% of the mean |logit|. The
    // fixture's random weights give deliberately sharp attention, which amplifies rounding.
    assert!(mean <= 0.05 * scale, "mean |diff| {mean} vs mean |logit| {scale}");
    assert!(max <= 0.5 * scale, "max |diff| {max} vs mean |logit| {scale}");
    assert!(agree >= 22, "top-1 agreement {agree}/24");
}

#[test]
fn bf16_keeps_the_trajectories_with_wide_margins() {
    let model = common::model_in(DType::BF16);
    let same = common::identical_trajectories(&model);
    eprintln!("bf16 on {:?}: {} of 21 official trajectories identical: {same:?}", common::device(), same.len());
    // B5 (pinned end) and B6 (two spans) rank by margins wide enough that even Q8_0 keeps them;
    // elsewhere the official margins (0.005-0.09) are within bf16's rounding (measured on the
    // CPU: 15 of 21 identical).
    for case in ["B5_pinned_end_steps6", "B6_two_spans_steps4"] {
        for (alg, _) in common::ALGS {
            assert!(same.contains(&format!("{case}/{alg}")), "{case}/{alg} diverged: {same:?}");
        }
    }
    assert!(same.len() >= 12, "{same:?}");
}
