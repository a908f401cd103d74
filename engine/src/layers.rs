//! The building blocks whose weights are either dense (safetensors) or quantized (GGUF).

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Shape, Tensor};
use candle_nn::Embedding;

use crate::error::Result;
use crate::qmatmul;

/// On a GPU, above this many rows a quantized projection dequantizes its weight and runs a
/// dense matmul: Dream multiplies whole sequences at once, where candle's quantized kernels
/// (built for one-token decoding) are several times slower than the dense GEMM.
const DEQUANTIZE_ROWS: usize = 8;

/// The most values of a quantized weight a GPU dequantizes at once (32 MB in f32): larger
/// matrices are held in parts of whole rows ([`crate::gguf::GgufFile::qtensor_parts`]).
pub const QUANTIZED_PART_ELEMS: usize = 8 << 20;

/// `y = x W^T (+ b)`.
pub enum Proj {
    /// A float weight, in the layout in which a CPU GEMM with few rows (a span-local step,
    /// `lm_head` on the masked positions) reads it fastest; the weights then stream from memory
    /// and the layout decides the speed. Measured with gemm alone on Qwen2.5-0.5B's shapes, the
    /// weights out of cache (an Intel Xeon with AVX-512, 65 rows, 2 threads; both layouts in
    /// one run): gemm repacks a `[out, in]` weight on every call,
    /// which is the faster way when `out` is much larger than `in` (gate/up: 110 against 59
    /// GFLOP/s, `lm_head`: 120 against 89); for the rest reading `W^T` stored contiguous
    /// (`[in, out]`) without repacking is (down: 106 against 43, q/o: 119 against 67).
    Dense { weight: Tensor, transposed: bool, bias: Option<Tensor> },
    /// Row parts of the weight, each with candle's kernel for it.
    Quantized { parts: Vec<(Arc<QTensor>, QMatMul)>, bias: Option<Tensor> },
}

impl Proj {
    /// From a `[out, in]` weight, as checkpoints store it.
    pub fn dense(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let (out_dim, in_dim) = weight.dims2()?;
        Ok(if out_dim > 2 * in_dim {
            Proj::Dense { weight, transposed: false, bias }
        } else {
            Proj::Dense { weight: crate::kernels::transpose(&weight)?, transposed: true, bias }
        })
    }

    /// From the row parts of a `[out, in]` quantized weight, in order.
    pub fn quantized(parts: Vec<QTensor>, bias: Option<Tensor>) -> Result<Self> {
        let parts = parts
            .into_iter()
            .map(|p| {
                let p = Arc::new(p);
                Ok((p.clone(), QMatMul::from_arc(p)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Proj::Quantized { parts, bias })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Proj::Dense { weight, transposed: true, bias } => Self::add_bias(x.broadcast_matmul(weight)?, bias),
            Proj::Dense { weight, transposed: false, bias } => Self::add_bias(x.broadcast_matmul(&weight.t()?)?, bias),
            Proj::Quantized { parts, bias } => {
                if x.device().is_cpu() && parts.iter().all(|(w, _)| qmatmul::supports(w.dtype())) {
                    // Any row count: with few rows candle's kernels are as slow (Q5_0: 1.9 ms
                    // against 1.0 for a 896 x 4864 weight, one row) or fast only through a
                    // second, repacked copy of the weight (Q4_K, Q6_K, Q8_0 with AVX-512 VNNI),
                    // which more than doubles a quantized model's memory.
                    let y = x.to_dtype(DType::F32)?.contiguous()?.apply_op1_no_bwd(&SlabProduct(parts))?;
                    return Self::add_bias(y.to_dtype(x.dtype())?, bias);
                }
                let rows = x.elem_count() / x.dim(candle_core::D::Minus1)?;
                let part = |(weight, matmul): &(Arc<QTensor>, QMatMul)| -> Result<Tensor> {
                    Ok(if rows > DEQUANTIZE_ROWS {
                        let w = weight.dequantize(x.device())?.to_dtype(x.dtype())?;
                        x.broadcast_matmul(&w.t()?)?
                    } else {
                        // candle's quantized kernels take and give f32; the model runs in its dtype.
                        matmul.forward(&x.to_dtype(DType::F32)?)?.to_dtype(x.dtype())?
                    })
                };
                let y = match parts.as_slice() {
                    [one] => part(one)?,
                    _ => Tensor::cat(&parts.iter().map(part).collect::<Result<Vec<_>>>()?, candle_core::D::Minus1)?,
                };
                Self::add_bias(y, bias)
            }
        }
    }

    fn add_bias(y: Tensor, bias: &Option<Tensor>) -> Result<Tensor> {
        Ok(match bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
}

/// `x W^T` on the CPU in f32 for a quantized `W` in row parts: each part's product is written
/// straight into its columns of the result ([`qmatmul::matmul`]).
struct SlabProduct<'a>(&'a [(Arc<QTensor>, QMatMul)]);

impl CustomOp1 for SlabProduct<'_> {
    fn name(&self) -> &'static str {
        "dream-quantized-product"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(x), Some((start, end))) = (storage, layout.contiguous_offsets()) else {
            candle_core::bail!("dream-quantized-product takes contiguous f32");
        };
        let k = layout.dims().last().copied().unwrap_or(0);
        let n: usize = self.0.iter().map(|(w, _)| w.shape().dims()[0]).sum();
        let x = &x[start..end];
        let mut y = vec![0f32; x.len() / k.max(1) * n];
        let mut col0 = 0;
        for (w, _) in self.0 {
            let (rows, cols) = w.shape().dims2()?;
            if cols != k {
                candle_core::bail!("dream-quantized-product: {k} inputs for a weight of {cols}");
            }
            qmatmul::matmul(x, k, &w.data()?, w.dtype(), rows, &mut y, n, col0);
            col0 += rows;
        }
        let mut dims = layout.dims().to_vec();
        *dims.last_mut().expect("a matrix") = n;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }
}

/// Token ids to vectors.
pub enum TokenEmbedding {
    Dense(Embedding),
    /// Rows are dequantized on lookup (to f32, then the model's `dtype`), so the table stays
    /// quantized in memory.
    Quantized {
        table: QMatMul,
        dtype: DType,
    },
}

impl TokenEmbedding {
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            TokenEmbedding::Dense(e) => Ok(e.forward(ids)?),
            TokenEmbedding::Quantized { table, dtype } => Ok(table.embedding(ids)?.to_dtype(*dtype)?),
        }
    }
}
