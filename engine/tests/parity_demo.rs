//! The built-in demo model (SmolLM2-135M-Instruct adapted to diffusion: the base file plus
//! engine/demo-model/delta.safetensors, as `demo::demo` builds it) against the official Dream
//! code on the same model as one folder (tests/fixtures/demo-model/, made by
//! tools/demo-model/make_fixture.py on tools/demo-model/merge.py's folder): raw logits to 1e-4
//! and every sampler trajectory token for token, at a real 49,153-token vocabulary.
mod common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use candle_core::{DType, IndexOp};
use dream_engine::{generate, Canvas, Dream, ModelInput, SamplingSettings};

use common::ALGS;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/demo-model").join(name)
}

fn demo() -> Dream {
    dream_engine::demo::demo(&common::device()).unwrap()
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("reference.json")).unwrap()).unwrap()
}

#[test]
fn logits_match_the_official_model() {
    let dream = demo();
    let tensors = candle_core::safetensors::load(fixture("reference.safetensors"), &candle_core::Device::Cpu).unwrap();
    let r = reference();
    let mut checked = 0;
    for (name, case) in r["cases"].as_object().unwrap() {
        let Some(want) = tensors.get(&format!("{name}.logits")) else { continue };
        let ids = common::ids(&serde_json::json!([case["input_ids"]])).remove(0);
        let input = ModelInput::new(&[ids], None, &common::device()).unwrap();
        let positions = tensors[&format!("{name}.positions")].to_dtype(DType::U32).unwrap();
        let got = dream.model.forward(&input).unwrap().i(0).unwrap().to_dtype(DType::F32).unwrap();
        let got = got.index_select(&positions, 0).unwrap();
        let diff = common::max_abs_diff(&got, want);
        assert!(diff < 1e-4, "{name}: logits differ by {diff}");
        checked += 1;
    }
    assert_eq!(checked, 1);
}

#[test]
fn every_trajectory_matches_the_official_sampler_token_for_token() {
    let dream = demo();
    let r = reference();
    assert_eq!(r["mask_token_id"], dream.config.mask_token_id);
    let mut checked = 0;
    for (name, case) in r["cases"].as_object().unwrap() {
        for (alg_name, alg) in ALGS {
            let run = &case["runs"][alg_name];
            let rows = common::ids(&serde_json::json!([case["input_ids"]]));
            let settings =
                SamplingSettings { steps: case["steps"].as_u64().unwrap() as usize, alg, ..Default::default() };
            let mut history = Vec::new();
            let canvas = Canvas { rows, attention_mask: None };
            let out = generate(&dream.model, canvas, &settings, &AtomicBool::new(false), &mut |e| {
                history.push(e.ids[0].clone())
            })
            .unwrap();
            let want: Vec<Vec<u32>> = serde_json::from_value(run["history"].clone()).unwrap();
            assert_eq!(history.len(), want.len(), "{name}/{alg_name}: steps");
            for (i, (got, want)) in history.iter().zip(&want).enumerate() {
                assert_eq!(got, want, "{name}/{alg_name}: step {i}");
            }
            assert_eq!(out.ids[0], common::ids(&serde_json::json!([run["final"]]))[0], "{name}/{alg_name}: final");
            checked += 1;
        }
    }
    assert_eq!(checked, 12, "4 cases x 3 orders");
}
