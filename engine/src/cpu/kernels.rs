//! CPU kernels for the element-wise work between the matmuls (attention's softmax and the
//! MLP's `silu(gate) * up`, each fused into one pass), and an RMSNorm as exact as the
//! official one.
//!
//! candle computes these one scalar `exp` at a time and `silu * up` as three passes over
//! memory; on a 0.5B model at 1024 tokens that was a fifth of a forward pass. Here each is one
//! pass with an `exp` the compiler vectorises, compiled for AVX-512 and AVX2 and chosen at run
//! time by the CPU's features (the build itself stays portable). Other devices and dtypes
//! use candle's own ops.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::error::Result;

/// Defines `fn $name` that runs `$body` compiled for the best instruction set the CPU has
/// (AVX-512F with the `avx512` feature, else AVX2 + FMA, else the build's baseline), checked at
/// run time; the check is cached by the standard library.
macro_rules! multiversioned {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) { generic($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) { generic($($arg),*) }
                if cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has AVX2 and FMA (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}
pub(crate) use multiversioned;

/// `softmax` over the last dimension.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        Ok(x.contiguous()?.apply_op1_no_bwd(&Softmax)?)
    } else {
        Ok(candle_nn::ops::softmax_last_dim(x)?)
    }
}

/// `silu(gate) * up`, element-wise.
pub fn silu_mul(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if gate.device().is_cpu() && gate.dtype() == DType::F32 && up.dtype() == DType::F32 {
        Ok(gate.contiguous()?.apply_op2_no_bwd(&up.contiguous()?, &SiluMul)?)
    } else {
        Ok((candle_nn::ops::silu(gate)? * up)?)
    }
}

/// RMSNorm over the last dimension, `weight * (x * rsqrt(mean(x^2) + eps))`, in the official
/// code's order of operations. The mean of squares is summed in f64: candle's serial f32 sum is
/// off by a few ulp on a row, and the final norm carries that relative error into every logit.
/// On the trained demo model (logits up to 28) that put us 1.8e-4 from the official logits; with
/// this sum, 6.8e-5 (and 5.7e-5 from the official code run in f64, where its own f32 run is
/// 6.6e-5 away; one canvas of 80 tokens, on an Intel Xeon).
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 && weight.dtype() == DType::F32 {
        Ok(x.contiguous()?.apply_op2_no_bwd(&weight.contiguous()?, &RmsNorm(eps))?)
    } else {
        Ok(candle_nn::ops::rms_norm(x, weight, eps)?)
    }
}

/// Elements per rayon task: enough work to outweigh the cost of a task.
const MIN_TASK_ELEMS: usize = 1 << 14;

struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "dream-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(data), Some((start, end))) = (storage, layout.contiguous_offsets()) else {
            candle_core::bail!("dream-softmax takes contiguous f32");
        };
        let mut out = data[start..end].to_vec();
        par_rows(&mut out, layout.dims().last().copied().unwrap_or(1), softmax_row);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

struct SiluMul;

impl CustomOp2 for SiluMul {
    fn name(&self) -> &'static str {
        "dream-silu-mul"
    }

    fn cpu_fwd(
        &self,
        gate: &CpuStorage,
        gate_layout: &Layout,
        up: &CpuStorage,
        up_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (gate, up) = two_f32(self.name(), gate, gate_layout, up, up_layout)?;
        if gate_layout.shape() != up_layout.shape() {
            candle_core::bail!("dream-silu-mul: shapes {:?} and {:?} differ", gate_layout.shape(), up_layout.shape());
        }
        let mut out = gate.to_vec();
        out.par_chunks_mut(MIN_TASK_ELEMS).zip(up.par_chunks(MIN_TASK_ELEMS)).for_each(|(g, u)| {
            silu_mul_in_place(g, u);
        });
        Ok((CpuStorage::F32(out), gate_layout.shape().clone()))
    }
}

struct RmsNorm(f32);

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "dream-rms-norm"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, weight) = two_f32(self.name(), x, x_layout, weight, weight_layout)?;
        let cols = weight.len();
        if x_layout.dims().last() != Some(&cols) {
            candle_core::bail!("dream-rms-norm: a weight of {cols} for rows of {:?}", x_layout.dims());
        }
        let mut out = x.to_vec();
        par_rows(&mut out, cols, |row| {
            let scale = 1.0 / ((sum_of_squares(row) / cols as f64) as f32 + self.0).sqrt();
            row.iter_mut().zip(weight).for_each(|(v, &w)| *v = w * (*v * scale));
        });
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }
}

/// The values of a custom op's two operands, which must be contiguous f32.
fn two_f32<'a>(
    op: &str,
    a: &'a CpuStorage,
    a_layout: &Layout,
    b: &'a CpuStorage,
    b_layout: &Layout,
) -> candle_core::Result<(&'a [f32], &'a [f32])> {
    match (a, a_layout.contiguous_offsets(), b, b_layout.contiguous_offsets()) {
        (CpuStorage::F32(a), Some((a0, a1)), CpuStorage::F32(b), Some((b0, b1))) => Ok((&a[a0..a1], &b[b0..b1])),
        _ => candle_core::bail!("{op} takes contiguous f32 tensors"),
    }
}

/// Runs `f` on each row of `cols` values of `data`, in parallel, enough rows per task to
/// outweigh the cost of a task.
fn par_rows(data: &mut [f32], cols: usize, f: impl Fn(&mut [f32]) + Sync) {
    let cols = cols.max(1);
    data.par_chunks_mut(MIN_TASK_ELEMS.div_ceil(cols) * cols).for_each(|rows| rows.chunks_exact_mut(cols).for_each(&f));
}

/// `sum(x^2)` in f64, in eight partial sums so that it vectorises (one accumulator is a serial
/// chain of adds).
fn sum_of_squares(row: &[f32]) -> f64 {
    let mut sums = [0f64; 8];
    let mut chunks = row.chunks_exact(8);
    for chunk in &mut chunks {
        for (s, &v) in sums.iter_mut().zip(chunk) {
            *s += f64::from(v) * f64::from(v);
        }
    }
    let rest: f64 = chunks.remainder().iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    sums.iter().sum::<f64>() + rest
}

multiversioned! {
/// Numerically stable softmax of one row, in place: max, `exp(x - max)` and its sum, scale.
fn softmax_row(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    // Sixteen partial sums, so the sum vectorises (a single accumulator is a serial chain).
    let mut sums = [0f32; 16];
    let mut chunks = row.chunks_exact_mut(16);
    for chunk in &mut chunks {
        for (v, s) in chunk.iter_mut().zip(sums.iter_mut()) {
            *v = exp(*v - max);
            *s += *v;
        }
    }
    let mut sum: f32 = 0.0;
    for v in chunks.into_remainder() {
        *v = exp(*v - max);
        sum += *v;
    }
    sum += sums.iter().sum::<f32>();
    let scale = 1.0 / sum;
    row.iter_mut().for_each(|v| *v *= scale);
}
}

multiversioned! {
/// `gate = silu(gate) * up`.
fn silu_mul_in_place(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + exp(-*g)) * u;
    }
}
}

/// `e^x` in f32 to about 1 ulp, written so that a loop of it vectorises: range reduction
/// `x = n ln 2 + r` with |r| <= ln2/2 (rounding by the 1.5 * 2^23 trick, `ln 2` split in two
/// for an exact product), a degree-6 polynomial for `e^r` (Cephes' `expf` coefficients), and
/// `2^n` built in the exponent bits. Below -87.3 the result is 0 (no subnormals; a masked score
/// of -1e30 gives exactly 0), above 88.7 it is infinity; NaN stays NaN.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let xc = x.clamp(-87.336_55, 88.722_83);
    let t = xc * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p.mul_add(r, 1.398_199_9e-3);
    let p = p.mul_add(r, 8.333_452e-3);
    let p = p.mul_add(r, 4.166_579_6e-2);
    let p = p.mul_add(r, 1.666_666_5e-1);
    let p = p.mul_add(r, 0.5);
    let er = (p * r).mul_add(r, r) + 1.0;
    // n is in [-126, 128]; at 128 build 2^127 and double it, so the exponent never overflows.
    let ni = t.to_bits() as i32 - ROUND.to_bits() as i32;
    let half = ni >> 1;
    let a = f32::from_bits(((half + 127) << 23) as u32);
    let b = f32::from_bits(((ni - half + 127) << 23) as u32);
    let y = er * a * b;
    if x < -87.336_55 {
        0.0
    } else if x > 88.722_83 {
        f32::INFINITY
    } else if x.is_nan() {
        x
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn exp_is_within_two_ulp_of_the_standard_library() {
        let mut worst = 0u32;
        for i in -87_000..88_000 {
            for frac in [0.0f32, 0.123, 0.5, 0.777] {
                let x = i as f32 / 1000.0 + frac / 1000.0;
                let (ours, std) = (exp(x), x.exp());
                worst = worst.max(ours.to_bits().abs_diff(std.to_bits()));
            }
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert_eq!(exp(-1.0e30), 0.0);
        assert_eq!(exp(-90.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn kernels_match_candles() -> Result<()> {
        let dev = Device::Cpu;
        // Odd sizes exercise the remainders; a -1e30 column the masked keys.
        let x = Tensor::randn(0f32, 3.0, (3, 5, 77), &dev)?;
        let bias = Tensor::from_vec((0..77).map(|i| if i % 9 == 0 { -1.0e30f32 } else { 0.0 }).collect(), 77, &dev)?;
        let x = x.broadcast_add(&bias)?;
        let (ours, theirs) = (softmax_last_dim(&x)?, candle_nn::ops::softmax_last_dim(&x)?);
        let diff = (ours - theirs)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert!(diff < 1e-6, "softmax differs by {diff}");
        let (g, u) = (Tensor::randn(0f32, 4.0, (2, 33, 41), &dev)?, Tensor::randn(0f32, 1.0, (2, 33, 41), &dev)?);
        let (ours, theirs) = (silu_mul(&g, &u)?, (candle_nn::ops::silu(&g)? * &u)?);
        let diff = (ours - theirs)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "silu * up differs by {diff}");
        let w = Tensor::randn(1f32, 0.5, 41, &dev)?;
        let (ours, theirs) = (rms_norm(&g, &w, 1e-6)?, candle_nn::ops::rms_norm(&g, &w, 1e-6)?);
        let diff = (ours - theirs)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "rms_norm differs by {diff}");
        Ok(())
    }

    /// At Dream 7B's hidden size, with values spread over six orders of magnitude (a trained
    /// model's residual stream has a few large ones), every output is within 1 ulp of the norm
    /// computed in f64: the accuracy the parity with the official logits rests on.
    #[test]
    fn rms_norm_is_as_exact_as_f64() -> Result<()> {
        let (rows, cols) = (4, 3584);
        let x: Vec<f32> =
            (0..rows * cols).map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 10f32.powi((i % 7) as i32 - 3)).collect();
        let w: Vec<f32> = (0..cols).map(|i| 0.5 + (i % 13) as f32 / 10.0).collect();
        let eps = 1e-6f32;
        let got = rms_norm(
            &Tensor::from_vec(x.clone(), (rows, cols), &Device::Cpu)?,
            &Tensor::new(w.as_slice(), &Device::Cpu)?,
            eps,
        )?;
        for (r, (row, got)) in x.chunks(cols).zip(got.to_vec2::<f32>()?).enumerate() {
            let mean = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / cols as f64;
            let scale = 1.0 / (mean + f64::from(eps)).sqrt();
            for (j, ((&v, &w), g)) in row.iter().zip(&w).zip(got).enumerate() {
                let exact = f64::from(w) * f64::from(v) * scale;
                let ulp = f64::from(f32::EPSILON) * exact.abs().max(f64::from(f32::MIN_POSITIVE));
                assert!((f64::from(g) - exact).abs() <= 1.5 * ulp, "[{r}, {j}]: {g} against {exact}");
            }
        }
        Ok(())
    }
}
