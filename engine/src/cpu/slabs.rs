//! `y = x Wᵀ` on the CPU in f32, a slab of `W`'s rows at a time: each thread takes a slab,
//! multiplies the whole `x` by it with a single-threaded gemm and writes its columns of `y` in
//! place.
//!
//! Given a whole `[out, in]` weight, gemm repacks it on every call, and with the few rows of a
//! span-local step (65) that repacking was a third of the step's time. So a float weight is
//! stored in *panels* ([`ToPanels`]): `PANEL_ROWS` rows at a time, each panel column-major,
//! which is the order gemm's kernel reads and needs no packing. Measured with gemm on
//! Qwen2.5-0.5B's shapes, weights in cache (Intel Xeon, AVX-512, 2 threads, one run):
//! 65 rows 233-260 GFLOP/s against 152-168 for the better of `[out, in]` and `[in, out]`;
//! 256 and 1024 rows 307-333 against 251-310. The sums run in the same order, so the products
//! are bit for bit candle's.
//!
//! A quantized weight is decoded a slab at a time into a buffer that stays in cache
//! ([`crate::cpu::dequant`]), never whole: dequantizing whole matrices wrote and re-read 2 GB of f32
//! per step at 0.5B, and held them.

use candle_core::quantized::GgmlDType;
use candle_core::{CpuStorage, InplaceOp1, Layout};
use rayon::prelude::*;

use crate::cpu::dequant;

/// Rows of a weight per panel: one AVX-512 gemm kernel's height (4 x 16 f32).
pub const PANEL_ROWS: usize = 64;

/// Weights decoded per quantized slab: 128K values, 512 KB of f32, fit a core's L2 cache.
const QUANTIZED_SLAB_VALUES: usize = 128 << 10;

/// Where a slab's weights are, as gemm's right-hand side `[in, rows]`: the weight of input `l`
/// in row `j` is at `ptr + l * row_stride + j * col_stride`.
#[derive(Clone, Copy)]
struct Slab {
    ptr: *const f32,
    row_stride: isize,
    col_stride: isize,
}

/// Where a product goes: columns `first..` of `y`, a row-major matrix of `cols` columns.
pub struct Columns<'a> {
    pub y: &'a mut [f32],
    pub cols: usize,
    pub first: usize,
}

/// `y[i, first + j] = Σ_l x[i, l] W[j, l]` for the `n` rows of `W`, `slab_rows` rows per task:
/// `slab(first, rows, buffer)` says where rows `first..first + rows` are (in `buffer` if it
/// decodes them). `x` is `m × k`.
fn product(
    x: &[f32],
    k: usize,
    n: usize,
    slab_rows: usize,
    out: Columns,
    slab: impl Fn(usize, usize, &mut Vec<f32>) -> Slab + Sync,
) {
    let m = x.len() / k.max(1);
    let Columns { y, cols: y_cols, first: col0 } = out;
    assert!(y.len() >= m * y_cols && col0 + n <= y_cols, "a product of {m} x {n} at column {col0} of {y_cols}");
    let y_ptr = SendPtr(y.as_mut_ptr());
    (0..n.div_ceil(slab_rows)).into_par_iter().for_each_init(Vec::new, |buffer, s| {
        let first = s * slab_rows;
        let rows = slab_rows.min(n - first);
        let w = slab(first, rows, buffer);
        let y = y_ptr;
        // SAFETY: `x` is `m × k`; `w` points at the `k × rows` slab its strides describe, alive
        // until this call returns; the destination is columns `col0 + first ..` (`rows` of them)
        // of the `m × y_cols` `y`, checked above to hold them, and each task writes only its own
        // columns, so no two threads write one element.
        unsafe {
            gemm::gemm(
                m,
                rows,
                k,
                y.0.add(col0 + first),
                1,
                y_cols as isize,
                false,
                x.as_ptr(),
                1,
                k as isize,
                w.ptr,
                w.col_stride,
                w.row_stride,
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

/// The result pointer the tasks share; each writes its own elements.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: see `product`: the tasks write disjoint elements.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// `x Wᵀ` into `out`, for `W` (`n × k`) in panels.
pub fn dense(x: &[f32], k: usize, panels: &[f32], out: Columns) {
    let n = panels.len() / k.max(1);
    assert_eq!(panels.len(), n * k, "panels of rows of {k}");
    product(x, k, n, PANEL_ROWS, out, |first, rows, _| Slab {
        ptr: panels[first * k..].as_ptr(),
        row_stride: rows as isize,
        col_stride: 1,
    });
}

/// `x Wᵀ` into `out`, for `W` the `n` rows of `k` values stored as `dtype` blocks in `w`.
///
/// # Panics
/// If `dtype` is not [`dequant::supports`]ed or a size disagrees (callers check shapes first).
pub fn quantized(x: &[f32], k: usize, w: &[u8], dtype: GgmlDType, n: usize, out: Columns) {
    assert!(k > 0 && k.is_multiple_of(dtype.block_size()), "{dtype:?} rows of {k}");
    let row_bytes = k / dtype.block_size() * dtype.type_size();
    assert_eq!(w.len(), n * row_bytes, "a quantized weight of {n} rows of {k}");
    let slab_rows = (QUANTIZED_SLAB_VALUES / k).max(1);
    product(x, k, n, slab_rows, out, |first, rows, buffer| {
        buffer.resize(rows * k, 0.0);
        dequant::dequantize(dtype, &w[first * row_bytes..(first + rows) * row_bytes], buffer);
        Slab { ptr: buffer.as_ptr(), row_stride: 1, col_stride: k as isize }
    });
}

/// Rearranges a contiguous f32 `[out, in]` matrix into panels, in place: each `PANEL_ROWS` rows
/// (fewer in the last) become column-major, so the panel keeps its place and the matrix takes
/// no second copy while it loads.
pub struct ToPanels;

impl InplaceOp1 for ToPanels {
    fn name(&self) -> &'static str {
        "dream-to-panels"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(data), Some((start, end)), &[_, k]) =
            (storage, layout.contiguous_offsets(), layout.dims())
        else {
            candle_core::bail!("dream-to-panels takes a contiguous f32 matrix");
        };
        data[start..end].par_chunks_mut(PANEL_ROWS * k.max(1)).for_each(|panel| {
            let rows_first = panel.to_vec();
            let rows = panel.len() / k;
            for (j, row) in rows_first.chunks_exact(k).enumerate() {
                for (l, &v) in row.iter().enumerate() {
                    panel[l * rows + j] = v;
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};

    /// The slab products equal candle's matmul, written only into their own columns, for a
    /// weight with a short last panel and slab, a few rows and many.
    #[test]
    fn slab_products_match_candles_matmul() -> candle_core::Result<()> {
        use GgmlDType as D;
        let dev = Device::Cpu;
        let (n, k) = (300, 512);
        let w = Tensor::randn(0f32, 1.0, (n, k), &dev)?;
        let panels = w.copy()?;
        panels.inplace_op1(&ToPanels)?;
        let panels = panels.flatten_all()?.to_vec1::<f32>()?;
        for m in [1, 7, 130] {
            let x = Tensor::randn(0f32, 1.0, (m, k), &dev)?;
            let xs = x.flatten_all()?.to_vec1::<f32>()?;
            let cols = n + 9;
            let check = |y: &[f32], w: &Tensor, what: &str| -> candle_core::Result<()> {
                let expected = x.matmul(&w.t()?)?.to_vec2::<f32>()?;
                for (i, row) in expected.iter().enumerate() {
                    let got = &y[i * cols..(i + 1) * cols];
                    assert!(got[..5].iter().chain(&got[5 + n..]).all(|v| v.is_nan()), "{what}: wrote outside");
                    for (j, e) in row.iter().enumerate() {
                        assert!(
                            (got[5 + j] - e).abs() <= 1e-4 * (1.0 + e.abs()),
                            "{what} [{i}, {j}]: {} vs {e}",
                            got[5 + j]
                        );
                    }
                }
                Ok(())
            };
            let mut y = vec![f32::NAN; m * cols];
            dense(&xs, k, &panels, Columns { y: &mut y, cols, first: 5 });
            check(&y, &w, "dense")?;
            for dtype in [D::Q4_0, D::Q5_0, D::Q8_0, D::Q4K, D::Q6K] {
                let q = QTensor::quantize(&w, dtype)?;
                let mut y = vec![f32::NAN; m * cols];
                quantized(&xs, k, &q.data()?, dtype, n, Columns { y: &mut y, cols, first: 5 });
                check(&y, &q.dequantize(&dev)?, &format!("{dtype:?}"))?;
            }
        }
        Ok(())
    }
}
