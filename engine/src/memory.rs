//! Will it fit? Memory a model needs for a given context, and what the machine has.

use candle_core::{DType, Device};
use serde::Serialize;

use crate::error::Error;
use crate::model::config::DreamConfig;

/// Bytes a model needs to run one denoising step over `context` tokens.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryEstimate {
    pub weights_bytes: u64,
    /// The largest activations alive during a forward pass: hidden states and the MLP's
    /// intermediate in the weights' dtype, one block of queries' f32 attention scores (and
    /// their softmax), and f32 logits for every position (the worst case: all masked).
    pub activation_bytes: u64,
    pub total_bytes: u64,
}

impl MemoryEstimate {
    /// The same estimate for weights stored in `bytes` (a quantized file keeps its matrices
    /// quantized in memory).
    pub fn with_weights(self, bytes: u64) -> Self {
        MemoryEstimate { weights_bytes: bytes, total_bytes: bytes.saturating_add(self.activation_bytes), ..self }
    }
}

/// Estimates the memory for `cfg` in `dtype` at `context` tokens (batch of one, greedy).
///
/// ```
/// use dream_engine::{memory::estimate, DreamConfig};
/// let e = estimate(&DreamConfig::dream_v0_7b(), candle_core::DType::BF16, 2048);
/// // 7.6 billion bf16 weights, plus activations.
/// assert!(e.weights_bytes > 15_000_000_000 && e.total_bytes < 19_000_000_000);
/// ```
pub fn estimate(cfg: &DreamConfig, dtype: DType, context: usize) -> MemoryEstimate {
    estimate_run(cfg, dtype, context, 1, false)
}

/// [`estimate`] for `rows` candidates written at once, `sampling` with a temperature above 0
/// (which keeps the probabilities, and for top-p a sorted copy, of every masked position's
/// vocabulary beside its logits). Saturating arithmetic: an absurd shape estimates as huge,
/// never as an overflow.
pub fn estimate_run(cfg: &DreamConfig, dtype: DType, context: usize, rows: usize, sampling: bool) -> MemoryEstimate {
    let (c, size, rows) = (context as u64, dtype.size_in_bytes() as u64, rows.max(1) as u64);
    let mul = |xs: &[u64]| xs.iter().fold(1u64, |a, &x| a.saturating_mul(x));
    let weights_bytes = mul(&[cfg.parameter_count() as u64, size]);
    let hidden = mul(&[rows, c, (4 * cfg.hidden_size + 3 * cfg.intermediate_size) as u64, size]);
    let block = c.min(crate::model::QUERY_BLOCK as u64);
    let scores = mul(&[2, rows, cfg.num_attention_heads as u64, block, c, 4]);
    let logit_copies = if sampling { 3 } else { 1 };
    let logits = mul(&[logit_copies, rows, c, cfg.vocab_size as u64, 4]);
    let activation_bytes = hidden.saturating_add(scores).saturating_add(logits);
    MemoryEstimate { weights_bytes, activation_bytes, total_bytes: weights_bytes.saturating_add(activation_bytes) }
}

/// Memory the OS could give this process now (`MemAvailable`, Linux), if known.
pub fn available_system_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory free for a model on `device`, if known: a CUDA GPU's free memory as its driver
/// reports it; the system's for the CPU and for Metal, which shares it.
pub fn available_on(device: &Device) -> Option<u64> {
    match device {
        Device::Cuda(_) => crate::device::nvidia_gpus().first().map(|g| g.memory_free),
        _ => available_system_memory(),
    }
}

/// `e`, when it is `device`'s memory running out while something needing `needed` bytes ran
/// there (CUDA's `CUDA_ERROR_OUT_OF_MEMORY`, cuBLAS's `ALLOC_FAILED`, Metal's buffer that could
/// not be created), as [`Error::OutOfMemory`] with what it needs and what is free; any other
/// error as it is.
///
/// ```
/// use dream_engine::{candle_core::{self, Device}, memory::out_of_memory, Error};
/// let oom = candle_core::Error::Msg("DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")".into());
/// let e = out_of_memory(Error::Candle(oom), &Device::Cpu, 5 << 30);
/// assert!(matches!(e, Error::OutOfMemory { needed, .. } if needed == 5 << 30));
/// assert!(e.to_string().contains("needs about 5.0 GiB"), "{e}");
/// let other = out_of_memory(Error::Candle(candle_core::Error::Msg("shape mismatch".into())), &Device::Cpu, 1);
/// assert!(matches!(other, Error::Candle(_)));
/// ```
pub fn out_of_memory(e: Error, device: &Device, needed: u64) -> Error {
    const SIGNS: [&str; 4] = ["out_of_memory", "out of memory", "alloc_failed", "failed to create metal resource"];
    match e {
        Error::Candle(c) if SIGNS.iter().any(|s| c.to_string().to_ascii_lowercase().contains(s)) => {
            Error::OutOfMemory { device: crate::device::describe(device), needed, free: available_on(device) }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_and_sampling_are_counted() {
        let cfg = DreamConfig::qwen2_5_0_5b_shape();
        let greedy = estimate(&cfg, DType::F32, 2048);
        let sampled = estimate_run(&cfg, DType::F32, 2048, 1, true);
        let three = estimate_run(&cfg, DType::F32, 1024, 3, true);
        let logits = 2048 * cfg.vocab_size as u64 * 4;
        assert_eq!(sampled.activation_bytes - greedy.activation_bytes, 2 * logits);
        assert!(three.activation_bytes > estimate_run(&cfg, DType::F32, 1024, 1, true).activation_bytes * 2);
        assert_eq!(three.weights_bytes, greedy.weights_bytes);
    }
}
