//! Many rows times a quantized weight on the CPU, without the weight ever in f32 as a whole.
//!
//! A Dream step multiplies the whole canvas (hundreds of rows) by every matrix, where candle's
//! quantized kernels are built for one token at a time and are several times slower than the
//! dense GEMM. So the weight is dequantized and multiplied densely, but a slab of rows at a
//! time: each thread turns `SLAB_VALUES` weights into f32 in its own buffer, which stays in
//! cache while gemm multiplies it, and writes its columns of the result in place. Dequantizing
//! whole matrices instead wrote and re-read 2 GB of f32 per step at 0.5B, and held 32 MB parts
//! and their products at once. The block decoders are ggml's formats, written so they
//! vectorise, compiled for AVX-512 and AVX2 and chosen at run time.

use candle_core::quantized::GgmlDType;
use rayon::prelude::*;

use crate::kernels::multiversioned;

/// Weights dequantized per slab: 128K values, 512 KB of f32, fit a core's L2 cache.
const SLAB_VALUES: usize = 128 << 10;

/// Whether [`matmul`] decodes `dtype` (the types llama.cpp's and our quantizers write for Dream:
/// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K).
pub fn supports(dtype: GgmlDType) -> bool {
    use GgmlDType as D;
    matches!(dtype, D::Q4_0 | D::Q4_1 | D::Q5_0 | D::Q5_1 | D::Q8_0 | D::Q4K | D::Q5K | D::Q6K)
}

/// `y[i, col0 + j] = Σ_l x[i, l] · w[j, l]` for the `n` rows of `w` (`k` values each, stored as
/// `dtype` blocks in `w`), `x` being `m × k` and `y` `m` rows of `y_cols` values (row-major).
/// The row count of `x` is `x.len() / k`.
///
/// # Panics
/// If `dtype` is not [`supports`]ed or a size disagrees (callers check shapes first).
pub fn matmul(x: &[f32], k: usize, w: &[u8], dtype: GgmlDType, n: usize, y: &mut [f32], y_cols: usize, col0: usize) {
    assert!(supports(dtype) && k > 0 && k % dtype.block_size() == 0, "{dtype:?} rows of {k}");
    let m = x.len() / k;
    let row_bytes = k / dtype.block_size() * dtype.type_size();
    assert_eq!(w.len(), n * row_bytes, "quantized weight of {n} rows of {k}");
    assert!(y.len() >= m * y_cols && col0 + n <= y_cols, "product of {m} x {n} at column {col0} of {y_cols}");
    let slab = (SLAB_VALUES / k).clamp(1, n.max(1));
    let y_ptr = SendPtr(y.as_mut_ptr());
    w.par_chunks(slab * row_bytes).enumerate().for_each_init(Vec::new, |buf: &mut Vec<f32>, (s, rows)| {
        let rows_here = rows.len() / row_bytes;
        buf.resize(rows_here * k, 0.0);
        dequantize(dtype, rows, buf);
        let y = y_ptr;
        // SAFETY: `x` is `m × k` and `buf` `rows_here × k`, both contiguous; the destination is
        // columns `col0 + s * slab ..` (`rows_here` of them) of the `m × y_cols` `y`, checked
        // above to hold them, and each slab writes only its own columns, so no two threads
        // write the same element.
        unsafe {
            gemm::gemm(
                m,
                rows_here,
                k,
                y.0.add(col0 + s * slab),
                1,
                y_cols as isize,
                false,
                x.as_ptr(),
                1,
                k as isize,
                buf.as_ptr(),
                k as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    });
}

/// A pointer the slabs share; each writes disjoint elements through it.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: see `matmul`: the threads write disjoint elements.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// Decodes whole blocks of `dtype` into `out` (one value per weight).
pub fn dequantize(dtype: GgmlDType, blocks: &[u8], out: &mut [f32]) {
    use GgmlDType as D;
    let (per_block, bytes) = (dtype.block_size(), dtype.type_size());
    assert_eq!(blocks.len() / bytes * per_block, out.len(), "{dtype:?} blocks for {} values", out.len());
    match dtype {
        D::Q4_0 => q4_0(blocks, out),
        D::Q4_1 => q4_1(blocks, out),
        D::Q5_0 => q5_0(blocks, out),
        D::Q5_1 => q5_1(blocks, out),
        D::Q8_0 => q8_0(blocks, out),
        D::Q4K => q4_k(blocks, out),
        D::Q5K => q5_k(blocks, out),
        D::Q6K => q6_k(blocks, out),
        other => panic!("no decoder for {other:?}"),
    }
}

#[inline(always)]
fn f16_at(b: &[u8], at: usize) -> f32 {
    half::f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

// Each decoder follows ggml's `dequantize_row_*` (ggml-quants.c) for one block layout; the
// byte offsets are those of its `block_*` struct.

multiversioned! {
/// `{ d: f16, qs: [u8; 16] }`: 32 values `(nibble - 8) * d`, low nibbles first.
fn q4_0(blocks: &[u8], out: &mut [f32]) {
    for (b, y) in blocks.chunks_exact(18).zip(out.chunks_exact_mut(32)) {
        let d = f16_at(b, 0);
        let (lo, hi) = y.split_at_mut(16);
        for j in 0..16 {
            lo[j] = ((b[2 + j] & 0x0f) as i32 - 8) as f32 * d;
            hi[j] = ((b[2 + j] >> 4) as i32 - 8) as f32 * d;
        }
    }
}
}

multiversioned! {
/// `{ d: f16, m: f16, qs: [u8; 16] }`: 32 values `nibble * d + m`.
fn q4_1(blocks: &[u8], out: &mut [f32]) {
    for (b, y) in blocks.chunks_exact(20).zip(out.chunks_exact_mut(32)) {
        let (d, m) = (f16_at(b, 0), f16_at(b, 2));
        let (lo, hi) = y.split_at_mut(16);
        for j in 0..16 {
            lo[j] = (b[4 + j] & 0x0f) as f32 * d + m;
            hi[j] = (b[4 + j] >> 4) as f32 * d + m;
        }
    }
}
}

multiversioned! {
/// `{ d: f16, qh: u32, qs: [u8; 16] }`: 32 values `(nibble | fifth bit << 4) - 16) * d`.
fn q5_0(blocks: &[u8], out: &mut [f32]) {
    for (b, y) in blocks.chunks_exact(22).zip(out.chunks_exact_mut(32)) {
        let d = f16_at(b, 0);
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        let (lo, hi) = y.split_at_mut(16);
        for j in 0..16 {
            let h0 = ((qh >> j) << 4) & 0x10;
            let h1 = (qh >> (j + 12)) & 0x10;
            lo[j] = (((b[6 + j] & 0x0f) as u32 | h0) as i32 - 16) as f32 * d;
            hi[j] = (((b[6 + j] >> 4) as u32 | h1) as i32 - 16) as f32 * d;
        }
    }
}
}

multiversioned! {
/// `{ d: f16, m: f16, qh: u32, qs: [u8; 16] }`: 32 values `(nibble | fifth bit << 4) * d + m`.
fn q5_1(blocks: &[u8], out: &mut [f32]) {
    for (b, y) in blocks.chunks_exact(24).zip(out.chunks_exact_mut(32)) {
        let (d, m) = (f16_at(b, 0), f16_at(b, 2));
        let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let (lo, hi) = y.split_at_mut(16);
        for j in 0..16 {
            let h0 = ((qh >> j) << 4) & 0x10;
            let h1 = (qh >> (j + 12)) & 0x10;
            lo[j] = ((b[8 + j] & 0x0f) as u32 | h0) as f32 * d + m;
            hi[j] = ((b[8 + j] >> 4) as u32 | h1) as f32 * d + m;
        }
    }
}
}

multiversioned! {
/// `{ d: f16, qs: [i8; 32] }`: 32 values `q * d`.
fn q8_0(blocks: &[u8], out: &mut [f32]) {
    for (b, y) in blocks.chunks_exact(34).zip(out.chunks_exact_mut(32)) {
        let d = f16_at(b, 0);
        for j in 0..32 {
            y[j] = b[2 + j] as i8 as f32 * d;
        }
    }
}
}

/// The 6-bit scale and min of sub-block `j` of a Q4_K or Q5_K block's 12 packed scale bytes.
#[inline(always)]
fn scale_min_k4(j: usize, s: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((s[j] & 63) as f32, (s[j + 4] & 63) as f32)
    } else {
        (((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4)) as f32, ((s[j + 4] >> 4) | ((s[j] >> 6) << 4)) as f32)
    }
}

multiversioned! {
/// `{ d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128] }`: 256 values in 8 sub-blocks of 32,
/// `d * scale * nibble - dmin * min`.
fn q4_k(blocks: &[u8], out: &mut [f32]) {
    for (b, y) in blocks.chunks_exact(144).zip(out.chunks_exact_mut(256)) {
        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
        let (scales, qs) = (&b[4..16], &b[16..144]);
        for (c, y) in y.chunks_exact_mut(64).enumerate() {
            let q = &qs[c * 32..c * 32 + 32];
            let (s1, m1) = scale_min_k4(2 * c, scales);
            let (s2, m2) = scale_min_k4(2 * c + 1, scales);
            let (d1, m1, d2, m2) = (d * s1, dmin * m1, d * s2, dmin * m2);
            let (lo, hi) = y.split_at_mut(32);
            for l in 0..32 {
                lo[l] = d1 * (q[l] & 0x0f) as f32 - m1;
                hi[l] = d2 * (q[l] >> 4) as f32 - m2;
            }
        }
    }
}
}

multiversioned! {
/// `{ d: f16, dmin: f16, scales: [u8; 12], qh: [u8; 32], qs: [u8; 128] }`: as Q4_K with a fifth
/// bit per value from `qh`.
fn q5_k(blocks: &[u8], out: &mut [f32]) {
    for (b, y) in blocks.chunks_exact(176).zip(out.chunks_exact_mut(256)) {
        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
        let (scales, qh, qs) = (&b[4..16], &b[16..48], &b[48..176]);
        for (c, y) in y.chunks_exact_mut(64).enumerate() {
            let q = &qs[c * 32..c * 32 + 32];
            let (s1, m1) = scale_min_k4(2 * c, scales);
            let (s2, m2) = scale_min_k4(2 * c + 1, scales);
            let (d1, m1, d2, m2) = (d * s1, dmin * m1, d * s2, dmin * m2);
            let (u1, u2) = (1u8 << (2 * c), 2u8 << (2 * c));
            let (lo, hi) = y.split_at_mut(32);
            for l in 0..32 {
                let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
                let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
                lo[l] = d1 * ((q[l] & 0x0f) + h1) as f32 - m1;
                hi[l] = d2 * ((q[l] >> 4) + h2) as f32 - m2;
            }
        }
    }
}
}

multiversioned! {
/// `{ ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16 }`: 256 values in two halves of
/// 128, each value 4 low bits from `ql` and 2 high from `qh`, minus 32, times `d * scale`.
fn q6_k(blocks: &[u8], out: &mut [f32]) {
    for (b, y) in blocks.chunks_exact(210).zip(out.chunks_exact_mut(256)) {
        let d = f16_at(b, 208);
        for (h, y) in y.chunks_exact_mut(128).enumerate() {
            let ql = &b[h * 64..h * 64 + 64];
            let qh = &b[128 + h * 32..128 + h * 32 + 32];
            let sc = |i: usize| d * (b[192 + h * 8 + i] as i8) as f32;
            let (y01, y23) = y.split_at_mut(64);
            let (y0, y1) = y01.split_at_mut(32);
            let (y2, y3) = y23.split_at_mut(32);
            for l in 0..32 {
                let is = l / 16;
                let q1 = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i32 - 32;
                let q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                y0[l] = sc(is) * q1 as f32;
                y1[l] = sc(is + 2) * q2 as f32;
                y2[l] = sc(is + 4) * q3 as f32;
                y3[l] = sc(is + 6) * q4 as f32;
            }
        }
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};

    /// Every type, decoded here, equals candle's own dequantization bit for bit, and the slab
    /// product equals candle's dense matmul of that dequantized weight (up to summation order).
    #[test]
    fn decoders_and_product_match_candle() -> candle_core::Result<()> {
        use GgmlDType as D;
        let dev = Device::Cpu;
        let (n, k, m) = (300, 512, 7);
        let w = Tensor::randn(0f32, 1.0, (n, k), &dev)?;
        let x = Tensor::randn(0f32, 1.0, (m, k), &dev)?;
        for dtype in [D::Q4_0, D::Q4_1, D::Q5_0, D::Q5_1, D::Q8_0, D::Q4K, D::Q5K, D::Q6K] {
            let q = QTensor::quantize(&w, dtype)?;
            let theirs = q.dequantize(&dev)?;
            let bytes = q.data()?;
            let mut ours = vec![0f32; n * k];
            dequantize(dtype, &bytes, &mut ours);
            assert_eq!(ours, theirs.flatten_all()?.to_vec1::<f32>()?, "{dtype:?}");

            // Written at column 5 of a wider result, whose other columns stay untouched.
            let cols = n + 9;
            let mut y = vec![f32::NAN; m * cols];
            matmul(&x.flatten_all()?.to_vec1()?, k, &bytes, dtype, n, &mut y, cols, 5);
            let expected = x.matmul(&theirs.t()?)?.to_vec2::<f32>()?;
            for (i, row) in expected.iter().enumerate() {
                let got = &y[i * cols..(i + 1) * cols];
                assert!(got[..5].iter().chain(&got[5 + n..]).all(|v| v.is_nan()), "{dtype:?}: wrote outside");
                for (j, e) in row.iter().enumerate() {
                    assert!((got[5 + j] - e).abs() <= 1e-3 * (1.0 + e.abs()), "{dtype:?} [{i}, {j}]: {} vs {e}", got[5 + j]);
                }
            }
        }
        Ok(())
    }
}
