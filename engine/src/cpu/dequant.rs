//! ggml's quantized block formats decoded to f32, in loops written so they vectorise, compiled
//! for AVX-512 and AVX2 and chosen at run time (candle's decoders are scalar in a portable
//! build: a 896 x 4864 matrix took 1.8x (Q6_K) to 4.5x (Q5_0) as long, both timed in one run
//! on an Intel Xeon with AVX-512). The CPU's slab products decode a quantized weight a slab at
//! a time with them.

use candle_core::quantized::GgmlDType;

use crate::cpu::kernels::multiversioned;

/// Whether [`dequantize`] decodes `dtype` (the types llama.cpp's and our quantizers write for Dream:
/// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K).
pub fn supports(dtype: GgmlDType) -> bool {
    use GgmlDType as D;
    matches!(dtype, D::Q4_0 | D::Q4_1 | D::Q5_0 | D::Q5_1 | D::Q8_0 | D::Q4K | D::Q5K | D::Q6K)
}

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

    /// Every type decodes bit for bit as candle's own dequantization does.
    #[test]
    fn decoders_match_candle() -> candle_core::Result<()> {
        use GgmlDType as D;
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (300, 512), &dev)?;
        for dtype in [D::Q4_0, D::Q4_1, D::Q5_0, D::Q5_1, D::Q8_0, D::Q4K, D::Q5K, D::Q6K] {
            assert!(supports(dtype));
            let q = QTensor::quantize(&w, dtype)?;
            let mut ours = vec![0f32; 300 * 512];
            dequantize(dtype, &q.data()?, &mut ours);
            assert_eq!(ours, q.dequantize(&dev)?.flatten_all()?.to_vec1::<f32>()?, "{dtype:?}");
        }
        assert!(!supports(D::Q2K) && !supports(D::F16));
        Ok(())
    }
}
