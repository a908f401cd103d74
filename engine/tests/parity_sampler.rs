//! Sampler trajectories and logit processors against the official implementation (cases B, C).
mod common;

use std::sync::atomic::AtomicBool;

use candle_core::IndexOp;
use dream_engine::sampler::logits::{sample_token, top_k_filter, top_p_filter, Confidence, TokenSampling};
use dream_engine::sampler::schedule::timesteps;
use dream_engine::{generate, Canvas, SamplingSettings};

use common::ALGS;

/// The canvas right before step 0: input padded with masks to max_length, the pinned end applied.
fn canvas(case: &serde_json::Value, mask: u32) -> Canvas {
    let mut rows = common::ids(&case["input_ids"]);
    let len = case["max_length"].as_u64().unwrap() as usize;
    for row in &mut rows {
        row.resize(len, mask);
        if case["hook"]["kind"] == "pin_end" {
            let end = common::ids(&serde_json::json!([case["hook"]["end_ids"]])).remove(0);
            let start = len - end.len();
            row[start..].copy_from_slice(&end);
        }
    }
    Canvas { rows, attention_mask: common::attention_mask(case) }
}

#[test]
fn every_trajectory_matches_official_token_for_token() {
    let r = common::reference();
    let model = common::model();
    let mask = model.config().mask_token_id;
    let mut checked = 0;
    for (name, case) in r["sampler"].as_object().unwrap() {
        for (alg_name, alg) in ALGS {
            let run = &case["runs"][alg_name];
            let c = canvas(case, mask);
            assert_eq!(c.rows, common::ids(&run["x_init"]), "{name}/{alg_name}: x_init");
            let settings =
                SamplingSettings { steps: case["steps"].as_u64().unwrap() as usize, alg, ..Default::default() };
            let mut history = Vec::new();
            let out = generate(&model, c, &settings, &AtomicBool::new(false), &mut |e| history.push(e)).unwrap();
            let expected: Vec<Vec<Vec<u32>>> = serde_json::from_value(run["history"].clone()).unwrap();
            assert_eq!(history.len(), expected.len(), "{name}/{alg_name}: step count");
            for (i, (got, want)) in history.iter().zip(&expected).enumerate() {
                assert_eq!(&got.ids, want, "{name}/{alg_name}: step {i}");
                let counts: Vec<usize> = serde_json::from_value(run["transfer_counts"][i].clone()).unwrap();
                for (row, &n) in counts.iter().enumerate() {
                    assert_eq!(
                        got.revealed.iter().filter(|v| v.row == row).count(),
                        n,
                        "{name}/{alg_name}: step {i} row {row} count"
                    );
                }
            }
            assert_eq!(out.ids, common::ids(&run["final"]), "{name}/{alg_name}: final");
            checked += 1;
        }
    }
    assert_eq!(checked, 21, "7 cases x 3 algorithms");
}

#[test]
fn revealed_confidences_match_official() {
    let r = common::reference();
    let t = common::tensors();
    let model = common::model();
    let mask = model.config().mask_token_id;
    for (name, case) in r["sampler"].as_object().unwrap() {
        for (alg_name, alg) in ALGS {
            let run = &case["runs"][alg_name];
            let conf = &t[run["confidence_tensor"].as_str().unwrap()];
            let settings =
                SamplingSettings { steps: case["steps"].as_u64().unwrap() as usize, alg, ..Default::default() };
            let mut worst = 0f32;
            generate(&model, canvas(case, mask), &settings, &AtomicBool::new(false), &mut |e| {
                for v in &e.revealed {
                    let want = conf.i((e.step, v.row, v.position)).unwrap().to_scalar::<f32>().unwrap();
                    worst = worst.max((want - v.confidence).abs());
                }
            })
            .unwrap();
            assert!(worst < 1e-4, "{name}/{alg_name}: confidence off by {worst}");
        }
    }
}

#[test]
fn timesteps_are_bit_exact() {
    let r = common::reference();
    for (name, case) in r["sampler"].as_object().unwrap() {
        let run = &case["runs"]["entropy"];
        let want: Vec<f32> = serde_json::from_value(run["timesteps"].clone()).unwrap();
        let got = timesteps(case["steps"].as_u64().unwrap() as usize, 1e-3);
        assert_eq!(got, want, "{name}");
    }
}

fn row(t: &candle_core::Tensor, i: usize) -> Vec<f32> {
    t.i(i).unwrap().to_vec1().unwrap()
}

#[test]
fn logit_processors_match_official() {
    let t = common::tensors();
    let r = common::reference();
    let lp = &r["logit_processors"];
    let input = &t["C.logits"];
    for i in 0..4 {
        let mut p = row(input, i);
        top_p_filter(&mut p, 0.9);
        let want = row(&t["C.top_p_0.9"], i);
        assert_eq!(p.iter().filter(|&&v| v > f32::MIN).count(), lp["kept_top_p_0_9"][i].as_u64().unwrap() as usize);
        assert!(p.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-5 * b.abs().max(1.0)), "top_p row {i}");
        let mut k = row(input, i);
        top_k_filter(&mut k, 5);
        let want = row(&t["C.top_k_5"], i);
        assert!(k.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-5 * b.abs().max(1.0)), "top_k row {i}");
    }
    let cases = [
        ("C.conf_plain", "x0_plain", Confidence::Probability, None, None),
        ("C.conf_margin", "x0_margin", Confidence::Margin, None, None),
        ("C.conf_neg_entropy", "x0_neg_entropy", Confidence::NegEntropy, None, None),
        ("C.conf_plain_top_p_0.9", "x0_top_p_0_9", Confidence::Probability, Some(0.9), None),
        ("C.conf_plain_top_k_5", "x0_top_k_5", Confidence::Probability, None, Some(5)),
    ];
    let mut rng = rand::rng();
    for (tensor, ids, confidence, top_p, top_k) in cases {
        let want: Vec<f32> = t[tensor].to_vec1().unwrap();
        let want_ids: Vec<u32> = serde_json::from_value(lp[ids].clone()).unwrap();
        let s = TokenSampling { temperature: 0.0, top_p, top_k, confidence };
        for i in 0..4 {
            let dream_engine::sampler::logits::Choice { confidence: c, token: id, .. } =
                sample_token(&row(input, i), &s, &mut rng);
            assert!((c - want[i]).abs() < 1e-5, "{tensor} row {i}: {c} vs {}", want[i]);
            assert_eq!(id, want_ids[i], "{tensor} row {i}");
        }
    }
}
