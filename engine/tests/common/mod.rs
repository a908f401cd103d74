//! Shared access to the official reference fixture (`tests/fixtures/dream-tiny`) and the real
//! Qwen tokenizer.
#![allow(dead_code)]

pub mod qwen;

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use dream_engine::{Alg, DreamConfig, DreamModel, Weights};

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

pub fn model() -> DreamModel {
    let dir = fixture_dir();
    let cfg = DreamConfig::from_file(&dir.join("config.json")).unwrap();
    let w = Weights::from_safetensors(&[dir.join("model.safetensors")], DType::F32, &Device::Cpu).unwrap();
    DreamModel::load(&w, &cfg).unwrap()
}

pub fn ids(v: &serde_json::Value) -> Vec<Vec<u32>> {
    serde_json::from_value(v.clone()).unwrap()
}

/// Largest absolute difference between two f32 tensors of the same shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shape mismatch");
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}
