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
    /// Median top-1 probability of the masked positions at the first step: how sure the model
    /// is (random init weights: about 1/vocab; trained or peaked ones: far more).
    pub top1_probability_median: f64,
    /// A whole infill of the masked tokens with span-local decoding and parallel reveal.
    pub whole_infill: Option<InfillRun>,
    /// From setting cancel inside a full step to the step returning; `None` when every try's
    /// step ended before the flag was set (a step too short to interrupt), never a made-up 0.
    pub cancel_latency_seconds: Option<f64>,
    /// Bytes of the weights in memory, and the process's peak resident memory (VmHWM) when
    /// the OS reports it, right after loading and at the end.
    pub weights_bytes: u64,
    /// What the app's memory estimate states for the activations of a step at this length.
    pub activation_bytes: u64,
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

/// GFLOP/s of `x [rows, k] @ w[n, k]^T` (candle multiplying a checkpoint-layout weight) over the model's
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

/// One whole infill, from all masks to none.
#[derive(Debug, Clone, Serialize)]
pub struct InfillRun {
    /// Parallel reveal's threshold (none: the fixed schedule); span-local decoding's refresh
    /// interval.
    pub threshold: Option<f32>,
    pub cache_refresh: usize,
    /// Steps taken (the fixed schedule would take one per mask) and how many were full passes.
    pub steps: usize,
    pub full_passes: usize,
    pub seconds: f64,
    /// With `compare_exact`: the exact run (one token per step, every step a full pass), and
    /// how many of the final tokens the fast run got differently.
    pub exact_seconds: Option<f64>,
    pub differs_from_exact: Option<usize>,
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
    /// Also time a whole infill with span-local decoding, and parallel reveal at this
    /// threshold (`Some(None)`: without it).
    pub whole_infill: Option<Option<f32>>,
    /// And run that infill exactly too, to count the tokens the fast modes change.
    pub compare_exact: bool,
}

/// Times `model` on a sequence of `seq_len` tokens whose last `masked` are masks: `reps` full
/// forward passes, `reps` full-recompute steps (after a warm-up step) and span-local steps
/// with the cache refreshed every `cache_refresh` steps. `load_seconds` is how long the caller
/// took to load it, `weights_bytes` their size in memory (quantized, when they are).
pub fn run(model: &DreamModel, label: &str, load_seconds: f64, weights_bytes: u64, m: Measure) -> Result<BenchReport> {
    let Measure { seq_len, masked, middle, reps, cache_refresh, whole_infill, compare_exact } = m;
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
    let mut top1_probability_median = f64::NAN;
    for rep in 0..reps {
        let t = Instant::now();
        let logits = model.forward(&input)?;
        device.synchronize()?;
        forward.push(t.elapsed().as_secs_f64());
        if rep == 0 {
            // Shifted: the output before each masked position predicts it. (Read once, and
            // each rep's logits dropped before the next: they are 0.6 GB at 1024 tokens.)
            top1_probability_median = top1_median(&logits.narrow(1, start.saturating_sub(1), masked)?)?;
        }
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
    let whole_infill = match whole_infill {
        Some(threshold) => Some(infill(model, &row, threshold, cache_refresh, compare_exact)?),
        None => None,
    };

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
        top1_probability_median,
        whole_infill,
        cancel_latency_seconds,
        weights_bytes,
        activation_bytes: dream_engine::memory::estimate(cfg, dtype, seq_len).activation_bytes,
        peak_rss_after_load_bytes,
        peak_rss_bytes: peak_rss(),
    })
}

/// The median over positions of the largest softmax probability of `logits [1, n, vocab]`.
fn top1_median(logits: &Tensor) -> Result<f64> {
    let probs = candle_nn::ops::softmax_last_dim(&logits.to_dtype(DType::F32)?)?;
    let top: Vec<f32> = probs.max(candle_core::D::Minus1)?.flatten_all()?.to_vec1()?;
    Ok(median(&top.iter().map(|&p| p as f64).collect::<Vec<_>>()))
}

/// Fills every mask of `row` with span-local decoding and (with a threshold) parallel reveal,
/// greedy `entropy`, one step per mask at most.
fn infill(
    model: &DreamModel,
    row: &[u32],
    threshold: Option<f32>,
    cache_refresh: usize,
    compare: bool,
) -> Result<InfillRun> {
    let masks = row.iter().filter(|&&t| t == model.config().mask_token_id).count();
    let exact = SamplingSettings { steps: masks.max(1), alg: Alg::Entropy, ..Default::default() };
    let fast = fill(model, row, &SamplingSettings { threshold, cache_refresh: Some(cache_refresh), ..exact.clone() })?;
    let (mut exact_seconds, mut differs_from_exact) = (None, None);
    if compare {
        let want = fill(model, row, &exact)?;
        exact_seconds = Some(want.seconds);
        differs_from_exact = Some(differing(&fast.ids, &want.ids));
    }
    let Filled { steps, full_passes, seconds, .. } = fast;
    Ok(InfillRun { threshold, cache_refresh, steps, full_passes, seconds, exact_seconds, differs_from_exact })
}

/// One single-row generation: the final tokens, the steps taken, how many were full passes,
/// and its wall time.
struct Filled {
    ids: Vec<u32>,
    steps: usize,
    full_passes: usize,
    seconds: f64,
}

fn fill(model: &DreamModel, row: &[u32], settings: &SamplingSettings) -> Result<Filled> {
    let canvas = Canvas { rows: vec![row.to_vec()], attention_mask: None };
    let mut full_passes = 0;
    let t = Instant::now();
    let out = generate(model, canvas, settings, &AtomicBool::new(false), &mut |e| full_passes += e.full_pass as usize)?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(Filled { ids: out.ids.into_iter().next().unwrap_or_default(), steps: out.steps, full_passes, seconds })
}

/// Positions where two canvases hold different tokens.
fn differing(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// How long a full step takes to stop once cancel is set inside it (the flag is checked
/// between layers, so this is about one layer's time, not the rest of the step): set halfway
/// through the step's median time, then, if the step was over by then, a quarter and an eighth
/// of the way. `None` when no try caught a step running.
fn cancel_latency(model: &DreamModel, row: &[u32], step_seconds: f64) -> Result<Option<f64>> {
    let settings = SamplingSettings { steps: 1, alg: Alg::Entropy, ..Default::default() };
    for fraction in [0.5, 0.25, 0.125] {
        let cancel = AtomicBool::new(false);
        let canvas = Canvas { rows: vec![row.to_vec()], attention_mask: None };
        let latency = std::thread::scope(|scope| {
            let set_at = scope.spawn(|| {
                std::thread::sleep(std::time::Duration::from_secs_f64(step_seconds * fraction));
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                Instant::now()
            });
            let outcome = generate(model, canvas, &settings, &cancel, &mut |_| {});
            let stopped = Instant::now();
            let set_at = set_at.join().expect("the cancel thread does not panic");
            match outcome {
                Err(dream_engine::Error::Cancelled) => {
                    Ok(Some(stopped.saturating_duration_since(set_at).as_secs_f64()))
                }
                // The step ended before the flag was set: nothing was interrupted.
                Ok(_) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        if latency.is_some() {
            return Ok(latency);
        }
    }
    Ok(None)
}

/// How far the fast modes land from exact decoding on one reference case: each mode's steps
/// and how many of the final tokens differ from the official trajectory's.
#[derive(Debug, Clone, Serialize)]
pub struct DeviationReport {
    pub case: String,
    pub alg: Alg,
    pub masks: usize,
    /// The case's own step count, which every mode is given.
    pub steps: usize,
    pub threshold: f32,
    pub cache_refresh: usize,
    /// Tokens where exact decoding differs from the official final (0 unless there is a bug).
    pub exact_differs: usize,
    pub reveal: ModeResult,
    pub span_local: ModeResult,
    pub both: ModeResult,
}

/// One fast mode's run of a reference case.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ModeResult {
    pub steps: usize,
    pub full_passes: usize,
    /// Final tokens that differ from the official trajectory's.
    pub differs: usize,
}

/// Runs one reference case (`start`, `steps`, greedy `alg`, official final `official`) exactly,
/// with parallel reveal at `threshold`, span-local at `cache_refresh`, and both.
pub fn deviation(
    model: &DreamModel,
    case: &str,
    (start, official): (&[u32], &[u32]),
    (steps, alg): (usize, Alg),
    threshold: f32,
    cache_refresh: usize,
) -> Result<DeviationReport> {
    let exact = SamplingSettings { steps, alg, ..Default::default() };
    let run = |settings: SamplingSettings| -> Result<ModeResult> {
        let f = fill(model, start, &settings)?;
        Ok(ModeResult { steps: f.steps, full_passes: f.full_passes, differs: differing(&f.ids, official) })
    };
    let (t, k) = (Some(threshold), Some(cache_refresh));
    Ok(DeviationReport {
        case: case.to_owned(),
        alg,
        masks: start.iter().filter(|&&t| t == model.config().mask_token_id).count(),
        steps,
        threshold,
        cache_refresh,
        exact_differs: run(exact.clone())?.differs,
        reveal: run(SamplingSettings { threshold: t, ..exact.clone() })?,
        span_local: run(SamplingSettings { cache_refresh: k, ..exact.clone() })?,
        both: run(SamplingSettings { threshold: t, cache_refresh: k, ..exact })?,
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
    use dream_engine::random::{random_weights, random_weights_with, seeded_normal, Recipe};

    #[test]
    fn a_measurement_runs_on_random_weights() {
        let cfg = DreamConfig::tiny_shape();
        let weights = random_weights(&cfg, Recipe::Init, DType::F32, &Device::Cpu).unwrap();
        let model = DreamModel::load(&weights, &cfg).unwrap();
        let m = Measure {
            seq_len: 32,
            masked: 8,
            middle: true,
            reps: 2,
            cache_refresh: 2,
            whole_infill: Some(Some(0.9)),
            compare_exact: true,
        };
        let report = run(&model, "tiny", 0.0, 1, m).unwrap();
        assert!(report.step_seconds > 0.0 && report.forward_seconds > 0.0 && report.cached_step_seconds > 0.0);
        assert!(report.load_to_first_step_seconds > 0.0 && report.matmul_gflops > 0.0);
        assert_eq!(report.parameters, cfg.parameter_count());
        // Init weights are unsure of everything: parallel reveal writes one token a step.
        assert!(report.top1_probability_median < 0.01, "{}", report.top1_probability_median);
        let infill = report.whole_infill.unwrap();
        assert_eq!((infill.steps, infill.full_passes), (8, 4));
        // A cancel is timed only when it caught a step running (these steps take milliseconds,
        // so often none is): it used to report 0.0 s when it never saw the cancel.
        assert!(report.cancel_latency_seconds.is_none_or(|s| s > 0.0), "{:?}", report.cancel_latency_seconds);
    }

    #[test]
    fn peaked_weights_are_sure_enough_for_parallel_reveal() {
        let cfg = DreamConfig::tiny_shape();
        // Seeded: one unlucky draw of so few weights is not peaked.
        let weights =
            random_weights_with(&cfg, Recipe::Peaked, DType::F32, &Device::Cpu, &mut seeded_normal(7)).unwrap();
        let model = DreamModel::load(&weights, &cfg).unwrap();
        let m = Measure {
            seq_len: 64,
            masked: 16,
            middle: true,
            reps: 1,
            cache_refresh: 8,
            whole_infill: Some(Some(0.9)),
            compare_exact: false,
        };
        let report = run(&model, "tiny", 0.0, 1, m).unwrap();
        assert!(report.top1_probability_median > 0.5, "{}", report.top1_probability_median);
        let infill = report.whole_infill.unwrap();
        assert!(infill.steps < 16, "{infill:?}");
    }
}
