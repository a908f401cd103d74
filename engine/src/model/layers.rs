//! The building blocks whose weights are either dense (safetensors) or quantized (GGUF).

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Shape, Storage, Tensor};
use candle_nn::Embedding;

use crate::cpu::dequant;
use crate::cpu::slabs::{self, Columns};
use crate::error::Result;

/// On a GPU, above this many rows a quantized projection dequantizes its weight and runs a
/// dense matmul: Dream multiplies whole sequences at once, where candle's quantized kernels
/// (built for one-token decoding) are several times slower than the dense GEMM.
const DEQUANTIZE_ROWS: usize = 8;

/// The most values of a quantized weight a GPU dequantizes at once (32 MB in f32): larger
/// matrices are held in parts of whole rows ([`crate::checkpoint::gguf::GgufFile::qtensor_parts`]).
pub const QUANTIZED_PART_ELEMS: usize = 8 << 20;

/// `y = x W^T (+ b)`.
pub enum Proj {
    /// A float weight `[out, in]` in f32 on the CPU, rearranged into panels and multiplied a
    /// slab at a time ([`slabs`]).
    Panels { weight: Tensor, bias: Option<Tensor> },
    /// A float weight `[out, in]` elsewhere (a GPU, bf16, f16), multiplied by candle.
    Dense { weight: Tensor, bias: Option<Tensor> },
    /// Row parts of the weight: on the CPU decoded a slab at a time ([`slabs`]), on a GPU each
    /// multiplied with candle's kernel for it.
    Quantized { parts: Vec<(Arc<QTensor>, QMatMul)>, bias: Option<Tensor> },
}

impl Proj {
    /// From a `[out, in]` weight, as checkpoints store it. On the CPU in f32 the weight's own
    /// storage is rearranged in place: the caller must hold no other handle to it.
    pub fn dense(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        Ok(if weight.device().is_cpu() && weight.dtype() == DType::F32 && weight.is_contiguous() {
            weight.inplace_op1(&slabs::ToPanels)?;
            Proj::Panels { weight, bias }
        } else {
            Proj::Dense { weight, bias }
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
            Proj::Panels { weight, bias } => {
                Self::add_bias(x.contiguous()?.apply_op1_no_bwd(&PanelProduct(weight))?, bias)
            }
            Proj::Dense { weight, bias } => Self::add_bias(x.broadcast_matmul(&weight.t()?)?, bias),
            Proj::Quantized { parts, bias } => {
                if x.device().is_cpu() && parts.iter().all(|(w, _)| dequant::supports(w.dtype())) {
                    // Any row count: with few rows candle's kernels are as slow (Q5_0: 1.9 ms
                    // against 1.0 for a 896 x 4864 weight, one row, one run on an Intel Xeon)
                    // or fast only through a second, repacked copy of the weight (Q4_K, Q6_K,
                    // Q8_0 with AVX-512 VNNI), which more than doubles a quantized model's memory.
                    let y = x.to_dtype(DType::F32)?.contiguous()?.apply_op1_no_bwd(&QuantizedProduct(parts))?;
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

/// The `[.., out]` result of `x` (`[.., in]`, contiguous f32) times `out` weight rows, filled by
/// `fill(x, in, y)`.
fn cpu_product(
    what: &str,
    storage: &CpuStorage,
    layout: &Layout,
    out: usize,
    fill: impl FnOnce(&[f32], usize, &mut [f32]) -> candle_core::Result<()>,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let (CpuStorage::F32(x), Some((start, end))) = (storage, layout.contiguous_offsets()) else {
        candle_core::bail!("{what} takes contiguous f32");
    };
    let k = layout.dims().last().copied().unwrap_or(0).max(1);
    let x = &x[start..end];
    let mut y = vec![0f32; x.len() / k * out];
    fill(x, k, &mut y)?;
    let mut dims = layout.dims().to_vec();
    *dims.last_mut().expect("a matrix") = out;
    Ok((CpuStorage::F32(y), Shape::from(dims)))
}

/// `x W^T` for `W` in panels ([`slabs::dense`]).
struct PanelProduct<'a>(&'a Tensor);

impl CustomOp1 for PanelProduct<'_> {
    fn name(&self) -> &'static str {
        "dream-panel-product"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (out, k) = self.0.dims2()?;
        let (w, w_layout) = self.0.storage_and_layout();
        let (Storage::Cpu(CpuStorage::F32(w)), Some((start, end))) = (&*w, w_layout.contiguous_offsets()) else {
            candle_core::bail!("dream-panel-product: the weight is not f32 panels on the CPU");
        };
        cpu_product(self.name(), storage, layout, out, |x, x_k, y| {
            if x_k != k {
                candle_core::bail!("dream-panel-product: {x_k} inputs for a weight of {k}");
            }
            slabs::dense(x, k, &w[start..end], Columns { y, cols: out, first: 0 });
            Ok(())
        })
    }
}

/// `x W^T` for a quantized `W` in row parts, each written into its own columns
/// ([`slabs::quantized`]).
struct QuantizedProduct<'a>(&'a [(Arc<QTensor>, QMatMul)]);

impl CustomOp1 for QuantizedProduct<'_> {
    fn name(&self) -> &'static str {
        "dream-quantized-product"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let out = self.0.iter().map(|(w, _)| w.shape().dims()[0]).sum();
        cpu_product(self.name(), storage, layout, out, |x, k, y| {
            let mut col0 = 0;
            for (w, _) in self.0 {
                let (rows, cols) = w.shape().dims2()?;
                if cols != k {
                    candle_core::bail!("dream-quantized-product: {k} inputs for a weight of {cols}");
                }
                slabs::quantized(x, k, &w.data()?, w.dtype(), rows, Columns { y: &mut *y, cols: out, first: col0 });
                col0 += rows;
            }
            Ok(())
        })
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
