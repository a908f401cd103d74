//! Quantizing a safetensors checkpoint into a Dream GGUF file (`dream quantize`, the app's
//! smaller copies): atomically, cancellably, with the tokenizer in llama.cpp's layout.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};

use crate::checkpoint::gguf::{gguf_name, MetadataKeys, ARCH};
use crate::checkpoint::weights::Weights;
use crate::error::{Error, Result};
use crate::model::config::DreamConfig;
use crate::tokenizer::DreamTokenizer;

/// The quantization of `dream quantize`.
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantType {
    #[cfg_attr(feature = "cli", value(name = "q8_0"))]
    Q8_0,
    #[cfg_attr(feature = "cli", value(name = "q4_k"))]
    Q4K,
    #[cfg_attr(feature = "cli", value(name = "q6_k"))]
    Q6K,
    F16,
}

impl QuantType {
    fn ggml(self) -> GgmlDType {
        match self {
            QuantType::Q8_0 => GgmlDType::Q8_0,
            QuantType::Q4K => GgmlDType::Q4K,
            QuantType::Q6K => GgmlDType::Q6K,
            QuantType::F16 => GgmlDType::F16,
        }
    }

    /// The type for a matrix whose rows have `cols` values: k-quants pack rows in blocks of
    /// 256, so narrower rows (896 in Qwen2.5-0.5B, 64 in the test fixture) fall back, as
    /// llama.cpp does, to the 32-wide type of about the same size.
    fn for_rows(self, cols: usize) -> GgmlDType {
        let wanted = self.ggml();
        if cols.is_multiple_of(wanted.block_size()) {
            return wanted;
        }
        let fallback = match self {
            QuantType::Q4K => GgmlDType::Q4_0,
            _ => GgmlDType::Q8_0,
        };
        if cols.is_multiple_of(fallback.block_size()) {
            fallback
        } else {
            GgmlDType::F16
        }
    }
}

/// What [`quantize`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuantizeReport {
    pub tensors: usize,
    pub bytes: u64,
    /// Matrices stored in another type than asked (rows not a multiple of its block).
    pub fallbacks: Vec<String>,
}

/// Quantizes the safetensors checkpoint in `dir` into the GGUF file `out`: every matrix in
/// `qtype` (see [`QuantType`] for fallbacks), norms and biases in f32, the config in `dream.*`
/// keys and the tokenizer, when the folder has one, as llama.cpp's `tokenizer.ggml.*` arrays. Tensors
/// are converted one at a time, so memory stays near the quantized size.
pub fn quantize(dir: &Path, out: &Path, qtype: QuantType) -> Result<QuantizeReport> {
    quantize_with(dir, out, qtype, &AtomicBool::new(false), &mut |_, _| {})
}

/// [`quantize`], telling `progress` (tensors done, tensors in all) after each tensor and
/// stopping with [`Error::Cancelled`] once `cancel` is set. The file is written beside `out`
/// under a temporary name, flushed (a late write error is an error, not a success), synced,
/// then renamed over `out`: a failed or cancelled run leaves no file, or the old one untouched.
pub fn quantize_with(
    dir: &Path,
    out: &Path,
    qtype: QuantType,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<QuantizeReport> {
    let cfg = DreamConfig::from_file(&dir.join("config.json"))?;
    let weights = Weights::from_safetensors(&crate::checkpoint::weights::weight_files(dir)?, DType::F32, &Device::Cpu)?;
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut fallbacks = Vec::new();
    let shapes = cfg.tensor_shapes();
    for (i, (name, shape)) in shapes.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        progress(i, shapes.len());
        let (name, shape) = (name.clone(), shape.clone());
        let t: Tensor = weights.get(&shape, &name)?;
        let ggml = if shape.len() == 2 { qtype.for_rows(shape[1]) } else { GgmlDType::F32 };
        if shape.len() == 2 && ggml != qtype.ggml() {
            fallbacks.push(format!("{name}: {ggml:?}"));
        }
        tensors.push((gguf_name(&name), QTensor::quantize(&t, ggml)?));
    }
    let tokenizer = crate::tokenizer::tokenizer_files(dir).map(|_| DreamTokenizer::from_dir(dir, &cfg)).transpose()?;
    let mut metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(ARCH.into())),
        (
            "general.name".into(),
            Value::String(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
        ),
    ];
    let mut fields = cfg.clone();
    let keys = MetadataKeys::of(&mut fields);
    // Sizes are within u32 (the config's limits); rms_norm_eps and rope_theta as llama.cpp
    // stores them, in f32.
    metadata.extend(keys.sizes.into_iter().map(|(k, v)| (k.into(), Value::U32(*v as u32))));
    metadata.extend(keys.ids.into_iter().map(|(k, v)| (k.into(), Value::U32(*v))));
    metadata.extend(keys.floats.into_iter().map(|(k, v)| (k.into(), Value::F32(*v as f32))));
    if let Some(tokenizer) = tokenizer {
        metadata.extend(tokenizer_metadata(&tokenizer, &cfg, dir)?);
        // An Instruct model's copy follows instructions too: its chat template travels with it.
        if let Some(template) = tokenizer.chat_template()? {
            metadata.push(("tokenizer.chat_template".into(), Value::String(template.source().to_owned())));
        }
    }
    let meta_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    remove_stale_parts(folder);
    // Removed when dropped, so every early return below leaves nothing behind; locked while
    // this process lives, so a later run can tell it from one a killed run left.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(PART)
        .tempfile_in(folder)
        .map_err(|e| Error::io(folder, e))?;
    tmp.as_file().try_lock().map_err(|e| Error::io(tmp.path(), e.into()))?;
    let mut file = std::io::BufWriter::new(tmp);
    gguf_file::write(&mut file, &meta_refs, &tensor_refs).map_err(|e| Error::writing(out, e))?;
    let tmp = file.into_inner().map_err(|e| Error::io(out, e.into_error()))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(out, e))?;
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let bytes = tmp.as_file().metadata().map_err(|e| Error::io(out, e))?.len();
    tmp.persist(out).map_err(|e| Error::io(out, e.error))?;
    progress(shapes.len(), shapes.len());
    Ok(QuantizeReport { tensors: tensors.len(), bytes, fallbacks })
}

/// The suffix of a GGUF file being written.
const PART: &str = ".part";

/// Removes the `.NAME.*.part` files in `folder` that no running `quantize` holds: what a
/// killed run (`kill -9`, a power cut) left. A live writer holds a lock on its file, which the
/// system releases when the process ends, however it ends. Returns what was removed.
pub fn remove_stale_parts(folder: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(folder).into_iter().flatten().flatten();
    let parts = entries.map(|e| e.path()).filter(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name.starts_with('.') && name.ends_with(PART) && p.is_file()
    });
    let stale = parts.filter(|p| File::options().write(true).open(p).is_ok_and(|f| f.try_lock().is_ok()));
    stale.filter(|p| std::fs::remove_file(p).is_ok()).collect()
}

/// The tokenizer as llama.cpp's converter stores a Qwen2 one (`gpt2` BPE with the `qwen2`
/// pre-tokenizer): every token by id, padded to the model's vocabulary with `[PAD<id>]` tokens
/// of type unused, each token's type (1 normal, 3 control, 4 user-defined, 5 unused) and the
/// merges. Arrays of short strings, so no single value grows with the vocabulary (the whole
/// `tokenizer.json` of a real vocabulary is 7 MB as one string) and llama.cpp reads it too.
/// The arrays are read back as the loader will and must give the source's ids on a probe
/// text, so a BPE that is not Qwen2's is refused rather than copied into another tokenizer.
/// A tokenizer that is not a BPE (the test fixture's word-level one) has no such arrays and
/// travels whole as `tokenizer.huggingface.json`, which must then fit one metadata string.
fn tokenizer_metadata(tokenizer: &DreamTokenizer, cfg: &DreamConfig, dir: &Path) -> Result<Vec<(String, Value)>> {
    let bad = |reason: String| Error::Tokenizer { path: dir.to_owned(), reason };
    let inner = tokenizer.inner();
    let model = serde_json::to_value(inner.get_model()).map_err(|e| bad(e.to_string()))?;
    let Some(merges) = model["merges"].as_array().filter(|_| model["type"] == "BPE") else {
        let json = inner.to_string(false).map_err(|e| bad(e.to_string()))?;
        let limit = crate::checkpoint::gguf_header::MAX_STRING_BYTES;
        if json.len() as u64 > limit {
            return Err(bad(format!("a {}-byte tokenizer that is not a BPE does not fit GGUF metadata", json.len())));
        }
        return Ok(vec![("tokenizer.huggingface.json".into(), Value::String(json))]);
    };
    // As `tokenizers` serialises them: "a b" strings or [a, b] pairs.
    let merges = merges
        .iter()
        .map(|m| match m {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Array(pair) => match pair.as_slice() {
                [serde_json::Value::String(a), serde_json::Value::String(b)] => Ok(format!("{a} {b}")),
                _ => Err(bad(format!("merge {m} is not a pair of tokens"))),
            },
            other => Err(bad(format!("merge {other} is not a pair of tokens"))),
        })
        .collect::<Result<Vec<String>>>()?;
    let mut tokens: Vec<Option<String>> = vec![None; cfg.vocab_size];
    for (token, id) in inner.get_vocab(true) {
        let slot = tokens.get_mut(id as usize).ok_or_else(|| {
            bad(format!("token `{token}` has id {id}, outside the model's vocabulary of {}", cfg.vocab_size))
        })?;
        *slot = Some(token);
    }
    let added = inner.get_added_tokens_decoder();
    let types: Vec<i32> = (0..cfg.vocab_size)
        .map(|id| match added.get(&(id as u32)) {
            Some(t) if t.special => 3,
            Some(_) => 4,
            None if tokens[id].is_none() => 5,
            None => 1,
        })
        .collect();
    let tokens: Vec<String> =
        tokens.into_iter().enumerate().map(|(id, t)| t.unwrap_or_else(|| format!("[PAD{id}]"))).collect();
    let probe = "The keeper's lamp, 1887: «Héllo» — 你好 🌍 fn x() { return 42; }\n\tend <|mask|>";
    let copy = DreamTokenizer::from_gguf_vocab(&tokens, &types, &merges, dir, cfg)?;
    if copy.encode(probe)? != tokenizer.encode(probe)? {
        return Err(bad("its BPE is not Qwen2's (Dream's), which a GGUF copy stores".into()));
    }
    let strings = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
    Ok(vec![
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Value::String("qwen2".into())),
        ("tokenizer.ggml.tokens".into(), strings(tokens)),
        ("tokenizer.ggml.token_type".into(), Value::Array(types.into_iter().map(Value::I32).collect())),
        ("tokenizer.ggml.merges".into(), strings(merges)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
    ])
}
