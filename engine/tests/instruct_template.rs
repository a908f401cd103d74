//! The instructed canvas against the official Dream tokenizer, at Qwen2.5's real vocabulary:
//! `tests/fixtures/instruct-template/reference.json` holds, per request, the tokens that the
//! official `tokenization_dream.py` with Dream-v0-Instruct-7B's chat template gives for the
//! rendered prompt followed by the document, its marks as masks (made by
//! `tools/instruct-template/make_reference.py`).
mod common;

use std::path::PathBuf;

use dream_engine::InfillRequest;
use serde_json::Value;

fn reference() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/instruct-template/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One mark, a hole and a mark with different instructions, text beyond ASCII, line breaks in
/// the document and the instruction, a document that starts with a line break (read with the
/// template's own, as one text), a mark at the start: the prompt and the document are the
/// official tokens, id for id.
#[test]
fn the_instructed_canvas_is_the_official_tokenizers_at_the_real_vocabulary() {
    let reference = reference();
    let tok = common::qwen::instruct_tokenizer_with(reference["chat_template"].as_str().unwrap());
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let req: InfillRequest = serde_json::from_value(case["request"].clone()).unwrap();
        let message = dream_engine::request::instructions::message(&req).unwrap();
        assert_eq!(message, case["message"].as_str().unwrap(), "the engine's wording changed: regenerate the fixture");
        let p = req.prepare(&tok, 4096).unwrap();
        assert_eq!(p.windows.len(), 1);
        let official: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert_eq!(p.canvas(0), official, "{:?}", req.text);
        assert_eq!(p.tokens.len(), p.windows[0].range.len(), "the window holds the whole document");
    }
}

/// A document that starts with line breaks still comes back whole: the breaks read with the
/// prompt stay in the text.
#[test]
fn a_document_starting_with_line_breaks_keeps_them_in_the_result() {
    let reference = reference();
    let tok = common::qwen::instruct_tokenizer_with(reference["chat_template"].as_str().unwrap());
    let req: InfillRequest = serde_json::from_value(reference["cases"][3]["request"].clone()).unwrap();
    assert!(req.text.starts_with("\nDear"));
    let p = req.prepare(&tok, 4096).unwrap();
    let [word] = tok.encode(" warm").unwrap()[..] else { panic!() };
    let filled: Vec<u32> = p.tokens.iter().map(|&t| if t == tok.mask_id() { word } else { t }).collect();
    let result = p.result(&tok, &filled, &vec![None; filled.len()]).unwrap();
    let marked = &req.spans[0];
    let chars: Vec<char> = req.text.chars().collect();
    let before: String = chars[..marked.start].iter().collect();
    let after: String = chars[marked.end..].iter().collect();
    assert_eq!(result.text, format!("{before}{}{after}", " warm".repeat(marked.tokens).trim_start()));
}
