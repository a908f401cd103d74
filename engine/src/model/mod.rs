//! The Dream transformer: Qwen2.5's architecture with bidirectional attention.
//!
//! Per layer: RMSNorm -> grouped-query attention (q/k/v with bias, RoPE, no causal mask) ->
//! residual -> RMSNorm -> SwiGLU MLP -> residual; then a final RMSNorm and an untied `lm_head`.
//!
//! The forward pass is split into [`DreamModel::hidden_states`] and [`DreamModel::logits`] so a
//! caller can project only the positions it needs to the vocabulary (a 7B step over 512
//! positions would otherwise produce ~0.3 GB of logits), and attention computes queries and
//! keys/values in separate calls so span-local decoding (the sampler's fast mode) can run only
//! some positions against cached keys/values of the rest.

pub mod config;
pub(crate) mod layers;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cpu::kernels;
use crate::model::layers::{Proj, TokenEmbedding};
use candle_core::{DType, Device, Tensor};

use crate::checkpoint::weights::Weights;
use crate::error::{Error, Result};
use crate::model::config::DreamConfig;

/// Query positions per attention block. A block's f32 scores (heads x 128 x keys: 7 MB for
/// Qwen2.5-0.5B at 1024 tokens, against 59 MB for the whole matrix) stay in cache while they
/// are scaled, softmaxed and multiplied by the values, and the peak memory of a long sequence
/// drops with them.
pub(crate) const QUERY_BLOCK: usize = 128;

/// Token ids of a batch plus the positions and attention pattern the official code derives
/// from its 2-D attention mask.
#[derive(Debug, Clone)]
pub struct ModelInput {
    /// `[B, L]` u32 token ids.
    pub ids: Tensor,
    /// `[B, L]` position ids (u32).
    positions: Tensor,
    /// `[B, 1, L, L]` additive f32 bias (0 or a large negative) and `[B, 1, L, 1]` 0/1 row
    /// validity, only when some position is padding.
    padding: Option<(Tensor, Tensor)>,
}

/// Large enough that `exp` underflows to exactly 0 next to any real score, yet finite so a row
/// with no visible key does not produce NaN.
const MASKED: f32 = -1.0e30;

impl ModelInput {
    /// Builds the input for rows of equal length. With `attention_mask` (1 = real token, 0 =
    /// padding), positions are `cumsum(mask) - 1` (1 at padding) and a position sees only real
    /// positions, exactly as the official `_sample`; padding rows attend to nothing and yield
    /// zeros like torch's SDPA. Without padding every position sees every other one.
    pub fn new(rows: &[Vec<u32>], attention_mask: Option<&[Vec<bool>]>, device: &Device) -> Result<Self> {
        let b = rows.len();
        let l = rows.first().map_or(0, Vec::len);
        if b == 0 || l == 0 || rows.iter().any(|r| r.len() != l) {
            return Err(Error::invalid("ids", "rows must be non-empty and of equal length"));
        }
        let flat: Vec<u32> = rows.concat();
        let ids = Tensor::from_vec(flat, (b, l), device)?;
        let padded = attention_mask.filter(|m| m.iter().flatten().any(|&v| !v));
        let Some(mask) = padded else {
            let positions = Tensor::arange(0u32, l as u32, device)?.unsqueeze(0)?.repeat((b, 1))?;
            return Ok(ModelInput { ids, positions, padding: None });
        };
        if mask.len() != b || mask.iter().any(|r| r.len() != l) {
            return Err(Error::invalid("attention_mask", "must have the shape of the ids"));
        }
        let mut positions = Vec::with_capacity(b * l);
        let mut bias = Vec::with_capacity(b * l * l);
        let mut valid = Vec::with_capacity(b * l);
        for row in mask {
            let mut seen = 0u32;
            for &m in row {
                seen += m as u32;
                positions.push(if m { seen - 1 } else { 1 });
                valid.push(if m { 1f32 } else { 0f32 });
            }
            for &q in row {
                bias.extend(row.iter().map(|&k| if q && k { 0f32 } else { MASKED }));
            }
        }
        Ok(ModelInput {
            ids,
            positions: Tensor::from_vec(positions, (b, l), device)?,
            padding: Some((
                Tensor::from_vec(bias, (b, 1, l, l), device)?,
                Tensor::from_vec(valid, (b, 1, l, 1), device)?,
            )),
        })
    }

    /// Replaces the token ids, keeping positions and padding (the sampler's per-step update).
    pub fn set_ids(&mut self, rows: &[Vec<u32>]) -> Result<()> {
        let shape = self.ids.shape().clone();
        self.ids = Tensor::from_vec(rows.concat(), shape, self.ids.device())?;
        Ok(())
    }

    /// `(batch, length)` of the canvas.
    pub fn dims(&self) -> Result<(usize, usize)> {
        Ok(self.ids.dims2()?)
    }
}

/// RoPE's cos and sin, built once at load for every position; a forward pass gathers the rows
/// of its position ids.
struct Rope {
    /// `[P, D/2]` cos and sin of every position the model can see, on its device in its dtype,
    /// built once at load: a forward pass only gathers rows (no host round trip per step).
    cos: Tensor,
    sin: Tensor,
}

/// Positions the RoPE table covers at most (Dream trained on 2048; longer benchmarks fit).
const ROPE_POSITIONS: usize = 1 << 15;

impl Rope {
    fn new(cfg: &DreamConfig, dtype: DType, device: &Device) -> Result<Self> {
        let d = cfg.head_dim();
        // Like the official code: inv_freq in f32, freqs = f32(pos) * inv_freq in f32.
        let inv_freq: Vec<f32> =
            (0..d / 2).map(|i| (1.0 / cfg.rope_theta.powf((2 * i) as f64 / d as f64)) as f32).collect();
        let positions = cfg.max_position_embeddings.clamp(cfg.context_limit(), ROPE_POSITIONS);
        let half = inv_freq.len();
        let mut cos = Vec::with_capacity(positions * half);
        let mut sin = Vec::with_capacity(positions * half);
        for p in 0..positions {
            for &f in &inv_freq {
                let angle = (p as f32 * f) as f64;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Ok(Rope {
            cos: Tensor::from_vec(cos, (positions, half), device)?.to_dtype(dtype)?,
            sin: Tensor::from_vec(sin, (positions, half), device)?.to_dtype(dtype)?,
        })
    }

    /// `[B, L, D/2]` cos and sin for the given positions, in `dtype`.
    fn tables(&self, positions: &Tensor, dtype: DType) -> Result<(Tensor, Tensor)> {
        let (b, l) = positions.dims2()?;
        let limit = self.cos.dim(0)?;
        // Positions are cumulative counts inside the row, so below its length.
        if l > limit {
            return Err(Error::ContextOverflow { needed: l, limit });
        }
        let flat = positions.flatten_all()?;
        let half = self.cos.dim(1)?;
        let gather =
            |t: &Tensor| -> Result<Tensor> { Ok(t.index_select(&flat, 0)?.reshape((b, l, half))?.to_dtype(dtype)?) };
        Ok((gather(&self.cos)?, gather(&self.sin)?))
    }
}

struct RmsNorm {
    weight: Tensor,
    eps: f32,
}

impl RmsNorm {
    fn load(w: &Weights, size: usize, eps: f64) -> Result<Self> {
        Ok(RmsNorm { weight: w.get(&[size], "weight")?, eps: eps as f32 })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        kernels::rms_norm(x, &self.weight, self.eps)
    }
}

struct Attention {
    q_proj: Proj,
    k_proj: Proj,
    v_proj: Proj,
    o_proj: Proj,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    fn load(w: &Weights, cfg: &DreamConfig) -> Result<Self> {
        let (h, d) = (cfg.hidden_size, cfg.head_dim());
        let (heads, kv_heads) = (cfg.num_attention_heads, cfg.num_key_value_heads);
        Ok(Attention {
            q_proj: w.pp("q_proj").linear(heads * d, h, true)?,
            k_proj: w.pp("k_proj").linear(kv_heads * d, h, true)?,
            v_proj: w.pp("v_proj").linear(kv_heads * d, h, true)?,
            o_proj: w.pp("o_proj").linear(h, heads * d, false)?,
            heads,
            kv_heads,
            head_dim: d,
        })
    }

    /// Projects `x [B, L, H]` to `[B, heads, L, D]` with RoPE applied.
    fn project(&self, proj: &Proj, x: &Tensor, heads: usize, rope: &(Tensor, Tensor)) -> Result<Tensor> {
        let (b, l, _) = x.dims3()?;
        let y = proj.forward(x)?.reshape((b, l, heads, self.head_dim))?.transpose(1, 2)?.contiguous()?;
        Ok(candle_nn::rotary_emb::rope(&y, &rope.0, &rope.1)?)
    }

    /// Keys and values `[B, kv_heads, L, D]` of `x`: what a span-local decoder would cache.
    fn keys_values(&self, x: &Tensor, rope: &(Tensor, Tensor)) -> Result<(Tensor, Tensor)> {
        let (b, l, _) = x.dims3()?;
        let k = self.project(&self.k_proj, x, self.kv_heads, rope)?;
        let v = self.v_proj.forward(x)?.reshape((b, l, self.kv_heads, self.head_dim))?.transpose(1, 2)?.contiguous()?;
        Ok((k, v))
    }

    /// Attention of the queries of `x` over keys/values `kv`, with an optional padding mask,
    /// `block` queries at a time ([`QUERY_BLOCK`]; the result does not depend on it).
    fn attend(
        &self,
        x: &Tensor,
        kv: &(Tensor, Tensor),
        rope: &(Tensor, Tensor),
        padding: Option<&(Tensor, Tensor)>,
        block: usize,
    ) -> Result<Tensor> {
        let (b, l, _) = x.dims3()?;
        // The score scale is folded into the (far fewer) queries.
        let q = (self.project(&self.q_proj, x, self.heads, rope)? * (1.0 / (self.head_dim as f64).sqrt()))?;
        let blocks = (0..l)
            .step_by(block)
            .map(|start| {
                let n = block.min(l - start);
                let rows = |t: &Tensor| t.narrow(2, start, n);
                let padding = padding.map(|(bias, valid)| Ok::<_, candle_core::Error>((rows(bias)?, rows(valid)?)));
                self.attend_block(&rows(&q)?, kv, padding.transpose()?.as_ref())
            })
            .collect::<Result<Vec<_>>>()?;
        let out = Tensor::cat(&blocks, 2)?;
        let out = out.transpose(1, 2)?.reshape((b, l, self.heads * self.head_dim))?;
        self.o_proj.forward(&out)
    }

    /// One block of scaled queries `q [B, heads, n, D]` over all of `kv`: `[B, heads, n, D]`.
    fn attend_block(&self, q: &Tensor, kv: &(Tensor, Tensor), padding: Option<&(Tensor, Tensor)>) -> Result<Tensor> {
        let (b, _, n, _) = q.dims4()?;
        let lk = kv.0.dim(2)?;
        let group = self.heads / self.kv_heads;
        // Grouped-query attention without copying K/V per head: the `group` query heads that
        // share a KV head are consecutive, so fold them into the query length.
        let q = q.reshape((b, self.kv_heads, group * n, self.head_dim))?;
        let scores = q.matmul(&kv.0.t()?)?;
        let mut scores = scores.to_dtype(DType::F32)?.reshape((b, self.heads, n, lk))?;
        if let Some((bias, _)) = padding {
            scores = scores.broadcast_add(bias)?;
        }
        let mut probs = kernels::softmax_last_dim(&scores)?;
        if let Some((_, valid)) = padding {
            // A query row that sees no key gets zero output, as torch's SDPA gives.
            probs = probs.broadcast_mul(valid)?;
        }
        let probs = probs.to_dtype(kv.1.dtype())?.reshape((b, self.kv_heads, group * n, lk))?;
        Ok(probs.matmul(&kv.1)?.reshape((b, self.heads, n, self.head_dim))?)
    }
}

struct Mlp {
    gate_proj: Proj,
    up_proj: Proj,
    down_proj: Proj,
}

impl Mlp {
    fn load(w: &Weights, cfg: &DreamConfig) -> Result<Self> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(Mlp {
            gate_proj: w.pp("gate_proj").linear(i, h, false)?,
            up_proj: w.pp("up_proj").linear(i, h, false)?,
            down_proj: w.pp("down_proj").linear(h, i, false)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let hidden = kernels::silu_mul(&self.gate_proj.forward(x)?, &self.up_proj.forward(x)?)?;
        self.down_proj.forward(&hidden)
    }
}

struct DecoderLayer {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

impl DecoderLayer {
    fn load(w: &Weights, cfg: &DreamConfig) -> Result<Self> {
        Ok(DecoderLayer {
            input_layernorm: RmsNorm::load(&w.pp("input_layernorm"), cfg.hidden_size, cfg.rms_norm_eps)?,
            self_attn: Attention::load(&w.pp("self_attn"), cfg)?,
            post_attention_layernorm: RmsNorm::load(
                &w.pp("post_attention_layernorm"),
                cfg.hidden_size,
                cfg.rms_norm_eps,
            )?,
            mlp: Mlp::load(&w.pp("mlp"), cfg)?,
        })
    }

    /// The layer over a whole sequence; its keys/values go to `record` when given.
    fn forward(
        &self,
        x: &Tensor,
        rope: &(Tensor, Tensor),
        padding: Option<&(Tensor, Tensor)>,
        record: Option<&mut Vec<(Tensor, Tensor)>>,
    ) -> Result<Tensor> {
        let normed = self.input_layernorm.forward(x)?;
        let kv = self.self_attn.keys_values(&normed, rope)?;
        let x = (x + self.self_attn.attend(&normed, &kv, rope, padding, QUERY_BLOCK)?)?;
        if let Some(record) = record {
            record.push(kv);
        }
        self.finish(&x)
    }

    /// The layer for the positions in `windows` only (`x` holds them in order), attending over
    /// the whole sequence: fresh keys/values for the windows, `cached` ones elsewhere.
    fn forward_windows(
        &self,
        x: &Tensor,
        rope: &(Tensor, Tensor),
        cached: &(Tensor, Tensor),
        windows: &[Range<usize>],
    ) -> Result<Tensor> {
        let normed = self.input_layernorm.forward(x)?;
        let fresh = self.self_attn.keys_values(&normed, rope)?;
        let kv = (splice(&cached.0, &fresh.0, windows)?, splice(&cached.1, &fresh.1, windows)?);
        let x = (x + self.self_attn.attend(&normed, &kv, rope, None, QUERY_BLOCK)?)?;
        self.finish(&x)
    }

    fn finish(&self, x: &Tensor) -> Result<Tensor> {
        let normed = self.post_attention_layernorm.forward(x)?;
        Ok((x + self.mlp.forward(&normed)?)?)
    }
}

/// `cached [B, H, L, D]` with the rows of `windows` (sorted, disjoint) replaced by the rows of
/// `fresh [B, H, A, D]`, in order.
fn splice(cached: &Tensor, fresh: &Tensor, windows: &[Range<usize>]) -> Result<Tensor> {
    let l = cached.dim(2)?;
    let mut pieces = Vec::with_capacity(2 * windows.len() + 1);
    let (mut at, mut taken) = (0, 0);
    for w in windows {
        if w.start > at {
            pieces.push(cached.narrow(2, at, w.start - at)?);
        }
        pieces.push(fresh.narrow(2, taken, w.len())?);
        taken += w.len();
        at = w.end;
    }
    if at < l {
        pieces.push(cached.narrow(2, at, l - at)?);
    }
    Ok(Tensor::cat(&pieces, 2)?)
}

/// Keys and values of every layer over a whole sequence, from the last full pass: what
/// span-local decoding reuses for the context between refreshes.
pub struct KvCache {
    layers: Vec<(Tensor, Tensor)>,
}

/// A loaded Dream model.
///
/// ```
/// # fn main() -> dream_engine::Result<()> {
/// use dream_engine::{DreamModel, ModelInput, Weights, DreamConfig};
/// use candle_core::{DType, Device};
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
/// let cfg = DreamConfig::from_file(&dir.join("config.json"))?;
/// let weights = Weights::from_safetensors(&[dir.join("model.safetensors")], DType::F32, &Device::Cpu)?;
/// let model = DreamModel::load(&weights, &cfg)?;
/// let input = ModelInput::new(&[vec![5, 17, 997, 3]], None, &Device::Cpu)?;
/// let logits = model.forward(&input)?;
/// assert_eq!(logits.dims(), &[1, 4, 1000]);
/// # Ok(()) }
/// ```
pub struct DreamModel {
    embed_tokens: TokenEmbedding,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Proj,
    rope: Rope,
    config: DreamConfig,
    device: Device,
    dtype: DType,
}

impl DreamModel {
    /// Builds the model from checkpoint weights (official state-dict names).
    pub fn load(weights: &Weights, cfg: &DreamConfig) -> Result<Self> {
        Self::load_cancellable(weights, cfg, &AtomicBool::new(false))
    }

    /// [`DreamModel::load`], stopping between layers ([`Error::Cancelled`]) once `cancel` is
    /// set: reading a 7B model's weights takes long enough to change one's mind.
    pub fn load_cancellable(weights: &Weights, cfg: &DreamConfig, cancel: &AtomicBool) -> Result<Self> {
        let m = weights.pp("model");
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                check(Some(cancel))?;
                DecoderLayer::load(&m.pp(format!("layers.{i}")), cfg)
            })
            .collect::<Result<Vec<_>>>()?;
        let lm_head = if cfg.tie_word_embeddings { m.pp("embed_tokens") } else { weights.pp("lm_head") };
        Ok(DreamModel {
            embed_tokens: m.pp("embed_tokens").embedding(cfg.vocab_size, cfg.hidden_size)?,
            lm_head: lm_head.linear(cfg.vocab_size, cfg.hidden_size, false)?,
            layers,
            norm: RmsNorm::load(&m.pp("norm"), cfg.hidden_size, cfg.rms_norm_eps)?,
            rope: Rope::new(cfg, weights.dtype(), weights.device())?,
            device: weights.device().clone(),
            dtype: weights.dtype(),
            config: cfg.clone(),
        })
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &DreamConfig {
        &self.config
    }

    /// Where the weights live and the forward pass runs.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The dtype of activations (and of the weights, unless they are quantized).
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Final-norm hidden states `[B, L, hidden]` in the model's dtype. With `cancel`, the pass
    /// stops between layers once it is set ([`Error::Cancelled`]), so a long pass can be
    /// interrupted within a fraction of its time.
    pub fn hidden_states(&self, input: &ModelInput, cancel: Option<&AtomicBool>) -> Result<Tensor> {
        self.run_layers(input, None, cancel)
    }

    /// [`DreamModel::hidden_states`], also keeping every layer's keys/values.
    pub fn hidden_states_cached(&self, input: &ModelInput, cancel: Option<&AtomicBool>) -> Result<(Tensor, KvCache)> {
        let mut layers = Vec::with_capacity(self.layers.len());
        let hidden = self.run_layers(input, Some(&mut layers), cancel)?;
        Ok((hidden, KvCache { layers }))
    }

    fn run_layers(
        &self,
        input: &ModelInput,
        mut record: Option<&mut Vec<(Tensor, Tensor)>>,
        cancel: Option<&AtomicBool>,
    ) -> Result<Tensor> {
        let mut x = self.embed_tokens.forward(&input.ids)?;
        let rope = self.rope.tables(&input.positions, x.dtype())?;
        for layer in &self.layers {
            check(cancel)?;
            x = layer.forward(&x, &rope, input.padding.as_ref(), record.as_deref_mut())?;
        }
        self.norm.forward(&x)
    }

    /// Final-norm hidden states `[B, A, hidden]` of just the positions in `windows` (sorted,
    /// disjoint ranges; `A` positions in all), computed against `cache` for every other
    /// position. Right after the cache was taken from the same tokens this equals the full
    /// pass at those positions; later it is the "dual cache" approximation (Fast-dLLM).
    pub fn hidden_states_windows(
        &self,
        input: &ModelInput,
        windows: &[Range<usize>],
        cache: &KvCache,
        cancel: Option<&AtomicBool>,
    ) -> Result<Tensor> {
        if input.padding.is_some() {
            return Err(Error::invalid("attention_mask", "span-local decoding does not support padded batches"));
        }
        let active: Vec<u32> = windows.iter().flat_map(|w| w.start as u32..w.end as u32).collect();
        let n = active.len();
        let index = Tensor::from_vec(active, n, input.ids.device())?;
        let mut x = self.embed_tokens.forward(&input.ids.index_select(&index, 1)?)?;
        let rope = self.rope.tables(&input.positions.index_select(&index, 1)?, x.dtype())?;
        for (layer, cached) in self.layers.iter().zip(&cache.layers) {
            check(cancel)?;
            x = layer.forward_windows(&x, &rope, cached, windows)?;
        }
        self.norm.forward(&x)
    }

    /// Vocabulary logits (f32) of hidden states `[..., hidden]`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        Ok(self.lm_head.forward(hidden)?.to_dtype(DType::F32)?)
    }

    /// Raw logits `[B, L, vocab]` (f32) for every position, before the sampler's shift.
    pub fn forward(&self, input: &ModelInput) -> Result<Tensor> {
        self.logits(&self.hidden_states(input, None)?)
    }
}

/// [`Error::Cancelled`] once `cancel` is set.
fn check(cancel: Option<&AtomicBool>) -> Result<()> {
    match cancel {
        Some(c) if c.load(Ordering::Relaxed) => Err(Error::Cancelled),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixtures' sequences fit one block; longer ones (and padded batches) are split into
    /// blocks of queries, which must not change the result.
    #[test]
    fn attention_in_query_blocks_equals_one_block() {
        let dream = crate::demo::demo(&Device::Cpu).unwrap();
        let model = &dream.model;
        let attn = &model.layers[0].self_attn;
        let l = 2 * QUERY_BLOCK + 37;
        let rows: Vec<Vec<u32>> = (0..2).map(|r| (0..l as u32).map(|i| (i * 7 + r) % 256).collect()).collect();
        // Row 1 is left-padded: 50 positions of padding.
        let mask: Vec<Vec<bool>> = vec![vec![true; l], (0..l).map(|i| i >= 50).collect()];
        for attention_mask in [None, Some(mask.as_slice())] {
            let input = ModelInput::new(&rows, attention_mask, &Device::Cpu).unwrap();
            let x = model.embed_tokens.forward(&input.ids).unwrap();
            let rope = model.rope.tables(&input.positions, x.dtype()).unwrap();
            let kv = attn.keys_values(&x, &rope).unwrap();
            let padding = input.padding.as_ref();
            let blocked = attn.attend(&x, &kv, &rope, padding, QUERY_BLOCK).unwrap();
            let whole = attn.attend(&x, &kv, &rope, padding, l).unwrap();
            let diff = (blocked - whole).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-6, "blocked attention differs by {diff}");
        }
    }
}
