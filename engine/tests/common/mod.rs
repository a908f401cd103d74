//! Shared access to the official reference fixture (`tests/fixtures/dream-tiny`) and the real
//! Qwen tokenizer.
#![allow(dead_code)]

pub mod qwen;

use std::collections::HashMap;
use std::path::PathBuf;

use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device, Tensor};
use dream_engine::{generate, Alg, Canvas, DreamConfig, DreamModel, ModelInput, SamplingSettings, Weights};

/// The deterministic algorithms the fixture's trajectories were recorded with.
pub const ALGS: [(&str, Alg); 3] =
    [("maskgit_plus", Alg::MaskgitPlus), ("topk_margin", Alg::TopkMargin), ("entropy", Alg::Entropy)];

/// A sampler case's 2-D attention mask over the whole canvas: generated positions are attended,
/// as the official code pads the mask with 1.
pub fn attention_mask(case: &serde_json::Value) -> Option<Vec<Vec<bool>>> {
    let len = case["max_length"].as_u64().unwrap() as usize;
    case["attention_mask"].as_array().map(|m| {
        m.iter()
            .map(|row| {
                let mut r: Vec<bool> = row.as_array().unwrap().iter().map(|v| v == 1).collect();
                r.resize(len, true);
                r
            })
            .collect()
    })
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny")
}

pub fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_dir().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn tensors() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture_dir().join("reference.safetensors"), &Device::Cpu).unwrap()
}

/// The device the fixture tests run on: `DREAM_TEST_DEVICE` (cpu, cuda or metal; cpu when
/// unset), so the same parity tests check a GPU build on a GPU machine
/// (`DREAM_TEST_DEVICE=cuda cargo test --features cuda`).
pub fn device() -> Device {
    let name = std::env::var("DREAM_TEST_DEVICE").unwrap_or_else(|_| "cpu".into());
    let choice = <dream_engine::DeviceChoice as clap::ValueEnum>::from_str(&name, true).unwrap();
    choice.open().unwrap()
}

/// The fixture model in f32 on the test device.
pub fn model() -> DreamModel {
    model_in(DType::F32)
}

pub fn model_in(dtype: DType) -> DreamModel {
    let dir = fixture_dir();
    let cfg = DreamConfig::from_file(&dir.join("config.json")).unwrap();
    let w = Weights::from_safetensors(&[dir.join("model.safetensors")], dtype, &device()).unwrap();
    DreamModel::load(&w, &cfg).unwrap()
}

pub fn ids(v: &serde_json::Value) -> Vec<Vec<u32>> {
    serde_json::from_value(v.clone()).unwrap()
}

/// Largest absolute difference between two tensors of the same shape, on the CPU in f32.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shape mismatch");
    let cpu = |t: &Tensor| t.to_device(&Device::Cpu).unwrap().to_dtype(DType::F32).unwrap();
    (cpu(a) - cpu(b)).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// Max and mean |logit error| against the official f32 logits of case A(a), the mean |logit|,
/// and how many of the 24 positions keep their top-1 token.
pub fn logit_error(model: &DreamModel) -> (f32, f32, f32, usize) {
    let ids = ids(&reference()["forward_A_a"]["input_ids"]);
    let logits = model.forward(&ModelInput::new(&ids, None, model.device()).unwrap()).unwrap();
    let logits = logits.to_device(&Device::Cpu).unwrap().to_dtype(DType::F32).unwrap();
    let want = &tensors()["A_a.logits"];
    let scalar = |t: Tensor| t.to_scalar::<f32>().unwrap();
    let top = |t: &Tensor| t.argmax(2).unwrap().flatten_all().unwrap().to_vec1::<u32>().unwrap();
    let agree = top(&logits).iter().zip(top(want)).filter(|(a, b)| **a == *b).count();
    (
        max_abs_diff(&logits, want),
        scalar((&logits - want).unwrap().abs().unwrap().mean_all().unwrap()),
        scalar(want.abs().unwrap().mean_all().unwrap()),
        agree,
    )
}

/// The official trajectories (all 7 cases x 3 algorithms) the model reproduces exactly.
pub fn identical_trajectories(model: &DreamModel) -> Vec<String> {
    let r = reference();
    let mut same = Vec::new();
    for (name, case) in r["sampler"].as_object().unwrap() {
        for (alg_name, alg) in ALGS {
            let run = &case["runs"][alg_name];
            let canvas = Canvas { rows: ids(&run["x_init"]), attention_mask: attention_mask(case) };
            let settings =
                SamplingSettings { steps: case["steps"].as_u64().unwrap() as usize, alg, ..Default::default() };
            let out = generate(model, canvas, &settings, &AtomicBool::new(false), &mut |_| {}).unwrap();
            if out.ids == ids(&run["final"]) {
                same.push(format!("{name}/{alg_name}"));
            }
        }
    }
    same
}
