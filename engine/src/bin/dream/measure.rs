//! Measuring the engine for `dream bench`: per-step latency, throughput, memory, cancel, and
//! parallel reveal. (The binary's own: the library holds no benchmark code.)

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use dream_engine::{generate, Alg, Canvas, DreamConfig, DreamModel, Result, SamplingSettings};
use serde::Serialize;

/// What one benchmark run measured; every ratio compares figures of the same run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub shape: String,
    pub parameters: usize,
    pub device: String,
    pub dtype: String,
    pub seq_len: usize,
    /// Masked tokens, at the end of the sequence or (`middle`) in its middle.
    pub masked: usize,
    pub middle: bool,
    pub load_seconds: f64,
    /// From the start of loading to the end of the first denoising step.
    pub load_to_first_step_seconds: f64,
    /// This machine's matmul throughput on the model's own linear shapes at `seq_len` rows.
    pub matmul_gflops: f64,
    /// One full forward pass (every position through `lm_head`), median.
    pub forward_seconds: f64,
    pub forward_gflops: f64,
    /// `forward_gflops / matmul_gflops`: how close the forward pass runs to the machine's limit.
    pub forward_fraction_of_matmul: f64,
    /// One full-recompute denoising step (forward, `lm_head` on masked positions only,
    /// choosing tokens), median after a warm-up step.
    pub step_seconds: f64,
    pub step_over_forward: f64,
    /// Span-local decoding: refresh interval and per-step latency (median, and mean with the
    /// refresh steps included).
    pub cache_refresh: usize,
    pub cached_step_seconds: f64,
    pub cached_step_seconds_mean: f64,
    /// `step_seconds / cached_step_seconds`.
    pub cached_speedup: f64,
    /// From setting cancel halfway through a full step to the step returning.
    pub cancel_latency_seconds: f64,
    /// Bytes of the weights in memory, and the process's peak resident memory (VmHWM) when
    /// the OS reports it, right after loading and at the end.
    pub weights_bytes: u64,
    pub peak_rss_after_load_bytes: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
}

/// Floating-point operations of one full forward pass over `l` tokens: two per weight per
/// token (the embedding is a lookup), plus attention's two `l x l` products per layer.
pub fn forward_flops(cfg: &DreamConfig, l: usize) -> f64 {
    let dense = cfg.parameter_count() - cfg.vocab_size * cfg.hidden_size;
    let attention = 4.0 * (l * l) as f64 * (cfg.num_attention_heads * cfg.head_dim()) as f64;
    2.0 * l as f64 * dense as f64 + cfg.num_hidden_layers as f64 * attention
}

/// GFLOP/s of `x [rows, k] @ w[n, k]^T` (how every linear layer multiplies) over the model's
/// three linear shapes, on its device and dtype.
pub fn matmul_gflops(cfg: &DreamConfig, rows: usize, dtype: DType, device: &Device, reps: usize) -> Result<f64> {
    let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
    let mut flops = 0.0;
    let mut seconds = 0.0;
    for (k, n) in [(h, h), (h, i), (i, h)] {
        let x = Tensor::randn(0f32, 1.0, (1, rows, k), device)?.to_dtype(dtype)?;
        let w = Tensor::randn(0f32, 1.0, (n, k), device)?.to_dtype(dtype)?;
        let run = || -> Result<f64> {
            let t = Instant::now();
            let y = x.broadcast_matmul(&w.t()?)?;
            device.synchronize()?;
            drop(y);
            Ok(t.elapsed().as_secs_f64())
        };
        run()?; // warm-up
        let times = (0..reps.max(1)).map(|_| run()).collect::<Result<Vec<_>>>()?;
        flops += 2.0 * (rows * k * n) as f64;
        seconds += median(&times);
    }
    Ok(flops / seconds / 1e9)
}

/// What [`run`] measures.
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    pub seq_len: usize,
    /// Masked tokens: at the end of the sequence, or in its middle (an infilled span).
    pub masked: usize,
    pub middle: bool,
    /// Timed repetitions of each measurement.
    pub reps: usize,
    /// Span-local decoding's refresh interval.
    pub cache_refresh: usize,
}

/// Times `model` on a sequence of `seq_len` tokens whose last `masked` are masks: `reps` full
/// forward passes, `reps` full-recompute steps (after a warm-up step) and span-local steps
/// with the cache refreshed every `cache_refresh` steps. `load_seconds` is how long the caller
/// took to load it, `weights_bytes` their size in memory (quantized, when they are).
pub fn run(model: &DreamModel, label: &str, load_seconds: f64, weights_bytes: u64, m: Measure) -> Result<BenchReport> {
    let Measure { seq_len, masked, middle, reps, cache_refresh } = m;
    let peak_rss_after_load_bytes = peak_rss();
    let cfg = model.config();
    let (device, dtype) = (model.device(), model.dtype());
    let masked = masked.clamp(1, seq_len);
    // Spread-out ids inside this model's vocabulary (any size, not only Qwen's 152k).
    let vocab = cfg.vocab_size as u64;
    let mut row: Vec<u32> = (0..seq_len as u64).map(|i| ((i * 7919) % vocab) as u32).collect();
    let start = if middle { (seq_len - masked) / 2 } else { seq_len - masked };
    row[start..start + masked].fill(cfg.mask_token_id);
    let canvas = || Canvas { rows: vec![row.clone()], attention_mask: None };
    let reps = reps.max(1);

    // Full recompute: a warm-up step (its end also marks load-to-first-step), then timed ones.
    let steps = (reps + 1).min(masked);
    let settings = SamplingSettings { steps, alg: Alg::Entropy, ..Default::default() };
    let full = step_times(model, canvas(), &settings)?;
    let load_to_first_step_seconds = load_seconds + full[0];
    let step_seconds = median(&full[1..]);

    let input = dream_engine::ModelInput::new(&[row.clone()], None, device)?;
    let mut forward = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let logits = model.forward(&input)?;
        device.synchronize()?;
        drop(logits);
        forward.push(t.elapsed().as_secs_f64());
    }
    let forward_seconds = median(&forward);
    let forward_gflops = forward_flops(cfg, seq_len) / forward_seconds / 1e9;
    let matmul = matmul_gflops(cfg, seq_len, dtype, device, reps)?;

    // Span-local: two refresh periods, so the median sees the window passes.
    let cached_steps = (2 * cache_refresh).min(masked);
    let settings = SamplingSettings { steps: cached_steps, cache_refresh: Some(cache_refresh), ..settings };
    let cached = step_times(model, canvas(), &settings)?;
    let cached_step_seconds = median(&cached);
    let cancel_latency_seconds = cancel_latency(model, &row, step_seconds)?;

    Ok(BenchReport {
        shape: label.to_owned(),
        parameters: cfg.parameter_count(),
        device: dream_engine::device::describe(device),
        dtype: format!("{dtype:?}").to_lowercase(),
        seq_len,
        masked,
        middle,
        load_seconds,
        load_to_first_step_seconds,
        matmul_gflops: matmul,
        forward_seconds,
        forward_gflops,
        forward_fraction_of_matmul: forward_gflops / matmul,
        step_seconds,
        step_over_forward: step_seconds / forward_seconds,
        cache_refresh,
        cached_step_seconds,
        cached_step_seconds_mean: cached.iter().sum::<f64>() / cached.len() as f64,
        cached_speedup: step_seconds / cached_step_seconds,
        cancel_latency_seconds,
        weights_bytes,
        peak_rss_after_load_bytes,
        peak_rss_bytes: peak_rss(),
    })
}

/// How long a full step takes to stop once cancel is set halfway through it (the flag is
/// checked between layers, so this is about one layer's time, not the rest of the step).
fn cancel_latency(model: &DreamModel, row: &[u32], step_seconds: f64) -> Result<f64> {
    let cancel = AtomicBool::new(false);
    let settings = SamplingSettings { steps: 1, alg: Alg::Entropy, ..Default::default() };
    let canvas = Canvas { rows: vec![row.to_vec()], attention_mask: None };
    std::thread::scope(|scope| {
        let set_at = scope.spawn(|| {
            std::thread::sleep(std::time::Duration::from_secs_f64(step_seconds / 2.0));
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            Instant::now()
        });
        let outcome = generate(model, canvas, &settings, &cancel, &mut |_| {});
        let stopped = Instant::now();
        let set_at = set_at.join().expect("the cancel thread does not panic");
        match outcome {
            Err(dream_engine::Error::Cancelled) => Ok(stopped.saturating_duration_since(set_at).as_secs_f64()),
            // Finished before the flag was set (a very fast step): nothing to interrupt.
            Ok(_) => Ok(0.0),
            Err(e) => Err(e),
        }
    })
}

/// Steps and time to fill one canvas with the fixed schedule and with parallel reveal.
#[derive(Debug, Clone, Serialize)]
pub struct RevealReport {
    pub case: String,
    pub masks: usize,
    pub fixed_steps: usize,
    pub fixed_seconds: f64,
    pub threshold: f32,
    pub parallel_steps: usize,
    pub parallel_seconds: f64,
}

/// Fills `canvas` (one row) with one token per step (the fixed schedule at its finest) and
/// with parallel reveal at `threshold`, greedy `entropy` order both times.
pub fn reveal(model: &DreamModel, case: &str, canvas: Vec<u32>, threshold: f32) -> Result<RevealReport> {
    let masks = canvas.iter().filter(|&&t| t == model.config().mask_token_id).count();
    let fixed = SamplingSettings { steps: masks.max(1), alg: Alg::Entropy, ..Default::default() };
    let parallel = SamplingSettings { threshold: Some(threshold), ..fixed.clone() };
    let time = |settings: &SamplingSettings| -> Result<(usize, f64)> {
        let t = Instant::now();
        let out = generate(
            model,
            Canvas { rows: vec![canvas.clone()], attention_mask: None },
            settings,
            &AtomicBool::new(false),
            &mut |_| {},
        )?;
        Ok((out.steps, t.elapsed().as_secs_f64()))
    };
    let (fixed_steps, fixed_seconds) = time(&fixed)?;
    let (parallel_steps, parallel_seconds) = time(&parallel)?;
    Ok(RevealReport {
        case: case.to_owned(),
        masks,
        fixed_steps,
        fixed_seconds,
        threshold,
        parallel_steps,
        parallel_seconds,
    })
}

/// Wall time of each step of a generation (a step ends when its event arrives).
fn step_times(model: &DreamModel, canvas: Canvas, settings: &SamplingSettings) -> Result<Vec<f64>> {
    let mut marks = vec![Instant::now()];
    generate(model, canvas, settings, &AtomicBool::new(false), &mut |_| marks.push(Instant::now()))?;
    Ok(marks.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect())
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
    fn a_measurement_runs_on_random_weights() {
        let cfg = DreamConfig::tiny_shape();
        let weights = dream_engine::random::random_weights(&cfg, DType::F32, &Device::Cpu).unwrap();
        let model = DreamModel::load(&weights, &cfg).unwrap();
        let m = Measure { seq_len: 32, masked: 8, middle: false, reps: 2, cache_refresh: 2 };
        let report = run(&model, "tiny", 0.0, 1, m).unwrap();
        assert!(report.step_seconds > 0.0 && report.forward_seconds > 0.0 && report.cached_step_seconds > 0.0);
        assert!(report.load_to_first_step_seconds > 0.0 && report.matmul_gflops > 0.0);
        assert_eq!(report.parameters, cfg.parameter_count());
    }
}
