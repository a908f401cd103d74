//! Measuring the engine: random weights of a real shape, per-step latency, memory.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use serde::Serialize;

use crate::config::DreamConfig;
use crate::error::Result;
use crate::model::DreamModel;
use crate::sampler::{generate, Alg, Canvas, SamplingSettings};
use crate::weights::Weights;

/// Random weights with the official tensor names and shapes for `cfg` (normal, std 0.02;
/// norms 1), so speed can be measured without downloading a checkpoint.
pub fn random_weights(cfg: &DreamConfig, dtype: DType, device: &Device) -> Result<Weights> {
    random_weights_with(cfg, dtype, device, &mut |shape, std| Tensor::randn(0f32, std, shape, &Device::Cpu))
}

/// Weights named and shaped for `cfg`, each matrix drawn by `draw(shape, std)` (f32, CPU);
/// norms are 1.
pub fn random_weights_with(
    cfg: &DreamConfig,
    dtype: DType,
    device: &Device,
    draw: &mut dyn FnMut(&[usize], f32) -> candle_core::Result<Tensor>,
) -> Result<Weights> {
    let (h, i, d) = (cfg.hidden_size, cfg.intermediate_size, cfg.head_dim());
    let (q, kv) = (cfg.num_attention_heads * d, cfg.num_key_value_heads * d);
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("model.embed_tokens.weight".into(), vec![cfg.vocab_size, h]),
        ("model.norm.weight".into(), vec![h]),
        ("lm_head.weight".into(), vec![cfg.vocab_size, h]),
    ];
    for l in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{l}");
        for (name, shape) in [
            ("self_attn.q_proj.weight", vec![q, h]),
            ("self_attn.q_proj.bias", vec![q]),
            ("self_attn.k_proj.weight", vec![kv, h]),
            ("self_attn.k_proj.bias", vec![kv]),
            ("self_attn.v_proj.weight", vec![kv, h]),
            ("self_attn.v_proj.bias", vec![kv]),
            ("self_attn.o_proj.weight", vec![h, q]),
            ("mlp.gate_proj.weight", vec![i, h]),
            ("mlp.up_proj.weight", vec![i, h]),
            ("mlp.down_proj.weight", vec![h, i]),
            ("input_layernorm.weight", vec![h]),
            ("post_attention_layernorm.weight", vec![h]),
        ] {
            shapes.push((format!("{p}.{name}"), shape));
        }
    }
    let mut tensors = HashMap::new();
    for (name, shape) in shapes {
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(shape, dtype, device)?
        } else {
            draw(&shape, 0.02)?.to_dtype(dtype)?.to_device(device)?
        };
        tensors.insert(name, t);
    }
    Ok(Weights::from_tensors(tensors, dtype, device))
}

/// What one benchmark run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub shape: String,
    pub parameters: usize,
    pub device: String,
    pub dtype: String,
    pub seq_len: usize,
    pub masked: usize,
    pub load_seconds: f64,
    /// Median of the timed full forward passes (every position projected to the vocabulary).
    pub forward_seconds_median: f64,
    /// Median wall time of one denoising step (forward of all positions, `lm_head` and
    /// sampling for the masked ones).
    pub step_seconds_median: f64,
    pub step_seconds_all: Vec<f64>,
    /// Sequence tokens processed per second by one step.
    pub tokens_per_second: f64,
    /// Peak resident memory of the process (VmHWM), when the OS reports it.
    pub peak_rss_bytes: Option<u64>,
}

/// Times `steps` denoising steps of `model` over a sequence of `seq_len` tokens whose last
/// `masked` are masks (after one warm-up step), plus `steps` full forward passes.
/// `load_seconds` is how long the caller took to load the model.
pub fn run(
    model: &DreamModel,
    label: &str,
    load_seconds: f64,
    seq_len: usize,
    masked: usize,
    steps: usize,
) -> Result<BenchReport> {
    let cfg = model.config();
    let (device, dtype) = (model.device(), model.dtype());
    let parameters = cfg.parameter_count();

    let masked = masked.clamp(1, seq_len);
    let mut row: Vec<u32> = (0..seq_len as u32).map(|i| (i * 7919) % 150_000).collect();
    row[seq_len - masked..].fill(cfg.mask_token_id);

    let input = crate::model::ModelInput::new(&[row.clone()], None, device)?;
    let mut forward = Vec::new();
    for _ in 0..steps.max(1) {
        let t = Instant::now();
        let logits = model.forward(&input)?;
        device.synchronize()?;
        drop(logits);
        forward.push(t.elapsed());
    }

    // One warm-up step, then `steps` timed ones; a step ends when its event arrives.
    let settings = SamplingSettings { steps: (steps + 1).min(masked), alg: Alg::Entropy, ..Default::default() };
    let mut marks = vec![Instant::now()];
    generate(model, Canvas { rows: vec![row], attention_mask: None }, &settings, &AtomicBool::new(false), &mut |_| {
        marks.push(Instant::now())
    })?;
    let step_times: Vec<Duration> = marks.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
    let step_seconds_all: Vec<f64> = step_times.iter().map(Duration::as_secs_f64).collect();
    let step_median = median(&step_seconds_all);
    Ok(BenchReport {
        shape: label.to_owned(),
        parameters,
        device: crate::device::describe(device),
        dtype: format!("{dtype:?}").to_lowercase(),
        seq_len,
        masked,
        load_seconds,
        forward_seconds_median: median(&forward.iter().map(Duration::as_secs_f64).collect::<Vec<_>>()),
        step_seconds_median: step_median,
        step_seconds_all,
        tokens_per_second: seq_len as f64 / step_median,
        peak_rss_bytes: peak_rss(),
    })
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Peak resident set size from `/proc/self/status` (Linux); `None` elsewhere.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_the_official_0_5b_figure() {
        // `model.parameters` of the official bench's random Qwen2.5-0.5B-shaped Dream.
        assert_eq!(DreamConfig::qwen2_5_0_5b_shape().parameter_count(), 630_167_424);
    }

    #[test]
    fn random_weights_build_a_model_that_runs() {
        let mut cfg = DreamConfig::qwen2_5_0_5b_shape();
        (cfg.vocab_size, cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers) = (151_700, 56, 64, 2);
        let model = DreamModel::load(&random_weights(&cfg, DType::F32, &Device::Cpu).unwrap(), &cfg).unwrap();
        let report = run(&model, "tiny", 0.0, 16, 4, 2).unwrap();
        assert_eq!(report.step_seconds_all.len(), 2, "warm-up step excluded");
        assert!(report.step_seconds_median > 0.0 && report.tokens_per_second > 0.0);
        assert_eq!(report.parameters, cfg.parameter_count());
    }
}
