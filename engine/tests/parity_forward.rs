//! Forward logits against the official implementation (case A of the fixture), to 1e-4.
mod common;

use candle_core::IndexOp;
use dream_engine::ModelInput;

#[test]
fn single_sequence_logits_match_official() {
    let r = common::reference();
    let ids = common::ids(&r["forward_A_a"]["input_ids"]);
    let model = common::model();
    let logits = model.forward(&ModelInput::new(&ids, None, &common::device()).unwrap()).unwrap();
    let expected = &common::tensors()["A_a.logits"];
    let diff = common::max_abs_diff(&logits, expected);
    assert!(diff < 1e-4, "max |diff| {diff}");
}

#[test]
fn padded_batch_logits_match_official_including_pad_rows() {
    let r = common::reference();
    let case = &r["forward_A_b"];
    let ids = common::ids(&case["input_ids"]);
    let mask: Vec<Vec<bool>> = common::ids(&case["attention_mask_2d"])
        .into_iter()
        .map(|row| row.into_iter().map(|m| m == 1).collect())
        .collect();
    let model = common::model();
    let logits = model.forward(&ModelInput::new(&ids, Some(&mask), &common::device()).unwrap()).unwrap();
    let expected = &common::tensors()["A_b.logits"];
    // Every row, the pad rows too: like torch's SDPA they attend to nothing and yield zeros.
    let diff = common::max_abs_diff(&logits, expected);
    assert!(diff < 1e-4, "max |diff| {diff}");
    // The unpadded row must not be affected by the other row's padding.
    let alone = model.forward(&ModelInput::new(&ids[1..], None, &common::device()).unwrap()).unwrap();
    let diff = common::max_abs_diff(&alone.i(0).unwrap(), &expected.i(1).unwrap());
    assert!(diff < 1e-4, "row 1 alone: max |diff| {diff}");
}
