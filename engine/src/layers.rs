//! The building blocks whose weights are either dense (safetensors) or quantized (GGUF).

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Module, Tensor};
use candle_nn::{Embedding, Linear};

use crate::error::Result;

/// Above this many rows a quantized projection dequantizes its weight and runs a dense
/// matmul: Dream multiplies whole sequences at once, where candle's quantized kernels (built
/// for one-token decoding) are several times slower than the dense GEMM.
const DEQUANTIZE_ROWS: usize = 8;

/// `y = x W^T (+ b)`.
pub enum Proj {
    Dense(Linear),
    Quantized { weight: Arc<QTensor>, matmul: QMatMul, bias: Option<Tensor> },
}

impl Proj {
    pub fn quantized(weight: QTensor, bias: Option<Tensor>) -> Result<Self> {
        let weight = Arc::new(weight);
        Ok(Proj::Quantized { matmul: QMatMul::from_arc(weight.clone())?, weight, bias })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Proj::Dense(linear) => Ok(linear.forward(x)?),
            Proj::Quantized { weight, matmul, bias } => {
                let rows = x.elem_count() / x.dim(candle_core::D::Minus1)?;
                let y = if rows > DEQUANTIZE_ROWS {
                    let w = weight.dequantize(x.device())?.to_dtype(x.dtype())?;
                    x.broadcast_matmul(&w.t()?)?
                } else {
                    // candle's quantized kernels take and give f32; the model runs in its dtype.
                    matmul.forward(&x.to_dtype(DType::F32)?)?.to_dtype(x.dtype())?
                };
                Ok(match bias {
                    Some(b) => y.broadcast_add(b)?,
                    None => y,
                })
            }
        }
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
