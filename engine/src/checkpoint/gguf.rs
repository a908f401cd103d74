//! Dream in GGUF: reading quantized checkpoints (the `dream` architecture, with llama.cpp's
//! tensor and metadata names). Writing them is `quantize`'s.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};
use crate::model::config::DreamConfig;
use crate::tokenizer::DreamTokenizer;

/// `general.architecture` of a Dream GGUF.
pub const ARCH: &str = "dream";

/// The GGUF (llama.cpp) name of a tensor named as in the official checkpoint.
///
/// ```
/// use dream_engine::checkpoint::gguf::gguf_name;
/// assert_eq!(gguf_name("model.layers.3.self_attn.q_proj.bias"), "blk.3.attn_q.bias");
/// assert_eq!(gguf_name("lm_head.weight"), "output.weight");
/// ```
pub fn gguf_name(hf: &str) -> String {
    let fixed = [("model.embed_tokens.", "token_embd."), ("model.norm.", "output_norm."), ("lm_head.", "output.")];
    for (from, to) in fixed {
        if let Some(rest) = hf.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    let Some(rest) = hf.strip_prefix("model.layers.") else { return hf.to_owned() };
    let Some((layer, rest)) = rest.split_once('.') else { return hf.to_owned() };
    let parts = [
        ("input_layernorm.", "attn_norm."),
        ("post_attention_layernorm.", "ffn_norm."),
        ("self_attn.q_proj.", "attn_q."),
        ("self_attn.k_proj.", "attn_k."),
        ("self_attn.v_proj.", "attn_v."),
        ("self_attn.o_proj.", "attn_output."),
        ("mlp.gate_proj.", "ffn_gate."),
        ("mlp.up_proj.", "ffn_up."),
        ("mlp.down_proj.", "ffn_down."),
    ];
    for (from, to) in parts {
        if let Some(tail) = rest.strip_prefix(from) {
            return format!("blk.{layer}.{to}{tail}");
        }
    }
    hf.to_owned()
}

/// Whether `path` names a GGUF file (rather than a checkpoint folder).
pub fn is_gguf(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
}

/// An open GGUF file: its metadata and where each tensor is.
pub struct GgufFile {
    pub path: PathBuf,
    pub content: Content,
}

impl GgufFile {
    /// Reads the header and tensor index of a Dream GGUF at `path` (the tensors stay on disk
    /// until loaded); a truncated or foreign file is a `CorruptWeights` error naming it.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_as(path, ARCH)
    }

    /// [`open`](Self::open) for a file whose `general.architecture` is `arch` (the demo's base
    /// is a `llama` file).
    pub fn open_as(path: &Path, arch_wanted: &str) -> Result<Self> {
        crate::checkpoint::gguf_header::check(path)?;
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let content = Content::read(&mut file).map_err(|e| Error::CorruptWeights {
            path: path.to_owned(),
            reason: e.to_string().lines().next().unwrap_or_default().to_owned(),
        })?;
        // llama.cpp's `dream` architecture also hosts models that do not shift their logits
        // (Nemotron-Labs-Diffusion); this engine always shifts, as Dream does.
        for key in ["diffusion.shift_logits", "dream.diffusion.shift_logits"] {
            if let Some(Value::Bool(false)) = content.metadata.get(key) {
                return Err(Error::Config {
                    path: path.to_owned(),
                    field: "diffusion.shift_logits",
                    reason: "models that do not shift their logits are not supported (Dream does)".into(),
                });
            }
        }
        if let Some(arch) = content.metadata.get("general.architecture") {
            let arch = arch.to_string().map_err(|e| bad(path, e))?;
            if arch != arch_wanted {
                return Err(Error::Config {
                    path: path.to_owned(),
                    field: "general.architecture",
                    reason: format!(
                        "`{arch}` is not a {} model (`{arch_wanted}`)",
                        if arch_wanted == ARCH { "Dream" } else { arch_wanted }
                    ),
                });
            }
        }
        Ok(GgufFile { path: path.to_owned(), content })
    }

    /// Bytes the weights take once loaded to compute in `dtype`: quantized matrices stay as
    /// stored, float tensors (norms, biases, an F16 file's matrices) take `dtype`.
    pub fn weights_bytes(&self, dtype: DType) -> u64 {
        self.content
            .tensor_infos
            .values()
            .map(|t| {
                let elements = t.shape.elem_count() as u64;
                match t.ggml_dtype {
                    GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16 => elements * dtype.size_in_bytes() as u64,
                    q => elements / q.block_size() as u64 * q.type_size() as u64,
                }
            })
            .sum()
    }

    /// A tensor stored as floats (f32, f16, bf16), read straight from the file into a tensor
    /// of its stored type, checked and converted to `dtype` (see the engine's
    /// `read::read_float_tensor`): held once, where candle's reader would hold the
    /// raw bytes, its `QTensor` and the dequantized copy at once. `None` for a quantized tensor.
    pub fn float_tensor(&self, name: &str, dtype: DType, device: &Device) -> Result<Option<Tensor>> {
        use crate::checkpoint::read::{read_float_tensor, Stored};
        let info = self.info(name)?;
        let stored = match info.ggml_dtype {
            GgmlDType::F32 => Stored::F32,
            GgmlDType::F16 => Stored::F16,
            GgmlDType::BF16 => Stored::Bf16,
            _ => return Ok(None),
        };
        let at = self.content.tensor_data_offset.saturating_add(info.offset);
        read_float_tensor(&self.path, at, stored, info.shape.dims(), name, dtype, device).map(Some)
    }

    /// A tensor as stored (quantized), on `device`, refused when a block's scale is NaN or
    /// infinite (every value of that block would be).
    pub fn qtensor(&self, name: &str, device: &Device) -> Result<QTensor> {
        let info = self.info(name)?;
        let dims = info.shape.dims().to_vec();
        self.read_qtensor(name, info, 0, dims, device)
    }

    /// The matrix `name` (`[rows, cols]`) in parts of at most `max_elems` values, each a run of
    /// whole rows read on its own: a projection on a GPU dequantizes one part at a time, so it
    /// never holds all of a large matrix (Qwen's `lm_head`: 545 MB at 0.5B) in f32.
    pub fn qtensor_parts(&self, name: &str, max_elems: usize, device: &Device) -> Result<Vec<QTensor>> {
        let info = self.info(name)?;
        let &[rows, cols] = info.shape.dims() else {
            return self.qtensor(name, device).map(|t| vec![t]);
        };
        let per_part = (max_elems / cols.max(1)).max(1);
        let row_bytes = (cols / info.ggml_dtype.block_size() * info.ggml_dtype.type_size()) as u64;
        (0..rows)
            .step_by(per_part)
            .map(|r| {
                let n = per_part.min(rows - r);
                self.read_qtensor(name, info, r as u64 * row_bytes, vec![n, cols], device)
            })
            .collect()
    }

    /// The tensor of `dims` at byte `skip` of `name`'s data.
    fn read_qtensor(
        &self,
        name: &str,
        info: &gguf_file::TensorInfo,
        skip: u64,
        dims: Vec<usize>,
        device: &Device,
    ) -> Result<QTensor> {
        let dtype = info.ggml_dtype;
        let bytes = dims.iter().product::<usize>() / dtype.block_size() * dtype.type_size();
        let at = self.content.tensor_data_offset.saturating_add(info.offset).saturating_add(skip);
        let raw = crate::checkpoint::read::read_elements::<u8>(&self.path, at, bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        if !scales_finite(dtype, &raw) {
            return Err(Error::NonFiniteWeights { name: name.to_owned(), path: self.path.clone() });
        }
        candle_core::quantized::ggml_file::qtensor_from_ggml(dtype, &raw, dims, device).map_err(|e| bad(&self.path, e))
    }

    fn info(&self, name: &str) -> Result<&gguf_file::TensorInfo> {
        self.content
            .tensor_infos
            .get(name)
            .ok_or_else(|| Error::MissingTensor { name: name.to_owned(), files: self.path.display().to_string() })
    }

    fn meta(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    fn meta_u64(&self, key: &'static str) -> Result<Option<u64>> {
        self.meta(key)
            .map(|v| {
                v.to_u64()
                    .or_else(|_| v.to_u32().map(u64::from))
                    .or_else(|_| v.to_i32().map(|x| x as u64))
                    .map_err(|e| Error::Config { path: self.path.clone(), field: key, reason: e.to_string() })
            })
            .transpose()
    }

    /// The model's shape and special tokens from the `dream.*` and `tokenizer.ggml.*` keys
    /// (absent ones keep [`DreamConfig::default`], so validation names a missing size).
    pub fn config(&self) -> Result<DreamConfig> {
        let vocab = self.content.tensor_infos.get("token_embd.weight").map(|t| t.shape.dims()[0]).ok_or_else(|| {
            Error::MissingTensor { name: "token_embd.weight".into(), files: self.path.display().to_string() }
        })?;
        let mut cfg = DreamConfig {
            vocab_size: vocab,
            tie_word_embeddings: !self.content.tensor_infos.contains_key("output.weight"),
            ..DreamConfig::default()
        };
        let out_of_range = |key: &'static str, v: u64| Error::Config {
            path: self.path.clone(),
            field: key,
            reason: format!("{v} is out of range"),
        };
        let keys = MetadataKeys::of(&mut cfg);
        for (key, slot) in keys.sizes {
            if let Some(v) = self.meta_u64(key)? {
                *slot = usize::try_from(v).map_err(|_| out_of_range(key, v))?;
            }
        }
        for (key, slot) in keys.ids {
            if let Some(v) = self.meta_u64(key)? {
                *slot = u32::try_from(v).map_err(|_| out_of_range(key, v))?;
            }
        }
        for (key, slot) in keys.floats {
            if let Some(v) = self.meta(key) {
                *slot = v.to_f32().map(f64::from).or_else(|_| v.to_f64()).map_err(|e| bad(&self.path, e))?;
            }
        }
        cfg.validate(&self.path)?;
        Ok(cfg)
    }

    /// The tokenizer: the whole `tokenizer.json` when the file carries it
    /// (`tokenizer.huggingface.json`), else llama.cpp's `tokenizer.ggml.*` arrays; with the
    /// chat template (`tokenizer.chat_template`) when the file has one.
    pub fn tokenizer(&self, cfg: &DreamConfig) -> Result<DreamTokenizer> {
        let template = self.meta("tokenizer.chat_template").map(|t| t.to_string().cloned()).transpose();
        let template = template.map_err(|e| bad(&self.path, e))?;
        Ok(self.vocabulary(cfg)?.with_chat_template(template))
    }

    fn vocabulary(&self, cfg: &DreamConfig) -> Result<DreamTokenizer> {
        if let Some(json) = self.meta("tokenizer.huggingface.json") {
            let json = json.to_string().map_err(|e| bad(&self.path, e))?;
            let inner = json
                .parse::<tokenizers::Tokenizer>()
                .map_err(|e| Error::Tokenizer { path: self.path.clone(), reason: e.to_string() })?;
            return DreamTokenizer::new(inner, cfg);
        }
        let strings = |key: &'static str| -> Result<Vec<String>> {
            let Some(v) = self.meta(key) else {
                return Err(Error::Config { path: self.path.clone(), field: key, reason: "missing".into() });
            };
            v.to_vec()
                .map_err(|e| bad(&self.path, e))?
                .iter()
                .map(|s| s.to_string().cloned().map_err(|e| bad(&self.path, e)))
                .collect()
        };
        if let Some(pre) = self.meta("tokenizer.ggml.pre") {
            let pre = pre.to_string().map_err(|e| bad(&self.path, e))?;
            if pre != "qwen2" {
                return Err(Error::Config {
                    path: self.path.clone(),
                    field: "tokenizer.ggml.pre",
                    reason: format!("pre-tokenizer `{pre}` is not Dream's (`qwen2`)"),
                });
            }
        }
        let tokens = strings("tokenizer.ggml.tokens")?;
        let merges = strings("tokenizer.ggml.merges")?;
        let types: Vec<i32> = match self.meta("tokenizer.ggml.token_type") {
            Some(v) => v.to_vec().map_err(|e| bad(&self.path, e))?.iter().map(|t| t.to_i32().unwrap_or(1)).collect(),
            None => vec![1; tokens.len()],
        };
        DreamTokenizer::from_gguf_vocab(&tokens, &types, &merges, &self.path, cfg)
    }
}

/// Whether every block scale of quantized data `raw` is finite. Each block is its scales (f16)
/// and small integers, so a NaN or infinite value can only come from a scale: checking those
/// (2 or 4 bytes of every 18 to 210) checks the whole tensor without dequantizing it.
fn scales_finite(dtype: GgmlDType, raw: &[u8]) -> bool {
    use rayon::prelude::*;
    // Byte offsets of the f16 scales inside a block, as ggml lays the block out.
    let offsets: &[usize] = match dtype {
        GgmlDType::Q4_0 | GgmlDType::Q5_0 | GgmlDType::Q8_0 => &[0],
        GgmlDType::Q4_1 | GgmlDType::Q5_1 | GgmlDType::Q4K | GgmlDType::Q5K => &[0, 2],
        GgmlDType::Q2K => &[80, 82],
        GgmlDType::Q3K => &[108],
        GgmlDType::Q6K => &[208],
        // The header check lets no other quantized type through (gguf_header.rs).
        _ => &[],
    };
    let block = dtype.type_size();
    raw.par_chunks(block * 1024).all(|blocks| {
        blocks
            .chunks_exact(block)
            .all(|b| offsets.iter().all(|&o| half::f16::from_le_bytes([b[o], b[o + 1]]).is_finite()))
    })
}

fn bad(path: &Path, e: candle_core::Error) -> Error {
    Error::CorruptWeights { path: path.to_owned(), reason: e.to_string().lines().next().unwrap_or_default().to_owned() }
}

/// Config fields and the GGUF keys llama.cpp's converter writes them to.
/// Where each config field lives in a GGUF file's metadata: one table for reading and writing.
pub(crate) struct MetadataKeys<'a> {
    pub sizes: [(&'static str, &'a mut usize); 6],
    pub ids: [(&'static str, &'a mut u32); 4],
    pub floats: [(&'static str, &'a mut f64); 2],
}

impl<'a> MetadataKeys<'a> {
    pub(crate) fn of(cfg: &'a mut DreamConfig) -> Self {
        MetadataKeys {
            sizes: [
                ("dream.embedding_length", &mut cfg.hidden_size),
                ("dream.feed_forward_length", &mut cfg.intermediate_size),
                ("dream.block_count", &mut cfg.num_hidden_layers),
                ("dream.attention.head_count", &mut cfg.num_attention_heads),
                ("dream.attention.head_count_kv", &mut cfg.num_key_value_heads),
                ("dream.context_length", &mut cfg.max_position_embeddings),
            ],
            ids: [
                ("tokenizer.ggml.mask_token_id", &mut cfg.mask_token_id),
                ("tokenizer.ggml.padding_token_id", &mut cfg.pad_token_id),
                ("tokenizer.ggml.bos_token_id", &mut cfg.bos_token_id),
                ("tokenizer.ggml.eos_token_id", &mut cfg.eos_token_id),
            ],
            floats: [
                ("dream.attention.layer_norm_rms_epsilon", &mut cfg.rms_norm_eps),
                ("dream.rope.freq_base", &mut cfg.rope_theta),
            ],
        }
    }
}

/// Tensor shapes of a GGUF file in candle's order, by GGUF name.
pub(crate) fn shapes(file: &GgufFile) -> HashMap<String, Vec<usize>> {
    file.content.tensor_infos.iter().map(|(name, info)| (name.clone(), info.shape.dims().to_vec())).collect()
}
