//! Instructions on marks, for a model with a chat template (Dream-v0-Instruct, the demo): the
//! writer's instructions go in one user turn, each naming its mark by the writer's own words,
//! and the assistant's answer is the document itself, masks where the marks are. So the model
//! writes each mark seeing the text on both sides, as it does without instructions, and its fill
//! leads into the text after the mark and into a pinned ending; every window of a long document
//! is read after the same prompt.

use super::InfillRequest;
use crate::chat::ChatTemplate;
use crate::error::Result;
use crate::tokenizer::DreamTokenizer;

/// The prompt's tokens for the user's `message` (the writer's words): the template's markup
/// read as markup, its control tokens their ids; the message as plain text between. Also how
/// many bytes of `document` (the answer) it read: the answer's leading line breaks are read
/// with the template's last line break, as the official tokenizer reads a conversation as one
/// text ("assistant\n" then "\nDear" is `assistant`, `\n\n`, `Dear`, not `\n`, `\n`).
/// They are only white space, so reading them as markup makes no control token of them.
pub fn prompt(
    tok: &DreamTokenizer,
    template: &ChatTemplate,
    message: &str,
    document: &str,
) -> Result<(Vec<u32>, usize)> {
    let (head, tail) = template.around_message()?;
    let lead = leading_breaks(document);
    let tail = tail + &document[..lead];
    Ok(([tok.encode_markup(&head)?, tok.encode(message)?, tok.encode_markup(&tail)?].concat(), lead))
}

/// The length of `text`'s leading white space up to its last line break (what byte-level BPE
/// reads as one run with a line break before it).
fn leading_breaks(text: &str) -> usize {
    let white = text.find(|c: char| !c.is_whitespace()).unwrap_or(text.len());
    text[..white].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// The longest instruction ("describe the smell of the sea in the first person" is 50 bytes).
pub const MAX_INSTRUCTION_BYTES: usize = 2 << 10;
/// How much of a marked phrase the message quotes to name it, in chars (the model sees the
/// phrase's place in the document anyway).
const QUOTE_CHARS: usize = 160;
/// How much text before a hole names its place, in chars.
const PLACE_CHARS: usize = 60;

/// What the user's turn says: the instructions of `req`'s marks in text order, or `None` when
/// no mark has one (a blank instruction is none).
///
/// ```
/// let req: dream_engine::InfillRequest = serde_json::from_str(r#"{
///     "text": "The sea was calm. We walked home.",
///     "spans": [{"start": 11, "end": 16, "tokens": 3, "instruction": "darker"},
///               {"start": 33, "end": 33, "tokens": 8, "instruction": "describe the smell of the sea"}]
/// }"#).unwrap();
/// let message = dream_engine::request::instructions::message(&req).unwrap();
/// assert!(message.contains("Instead of \"calm\": darker"));
/// assert!(message.contains("After \"The sea was calm. We walked home.\": describe the smell of the sea"));
/// ```
pub fn message(req: &InfillRequest) -> Option<String> {
    let mut marks: Vec<_> = req.spans.iter().filter_map(|s| Some((s, s.instruction_text()?))).collect();
    if marks.is_empty() {
        return None;
    }
    marks.sort_by_key(|(s, _)| s.start);
    let chars: Vec<char> = req.text.chars().collect();
    let mut out = String::from(
        "Rewrite my text where it is marked, as each instruction below says, and keep the rest as it is.\n",
    );
    for (span, instruction) in marks {
        let quote = |from: usize, to: usize| -> String { chars[from..to].iter().collect::<String>().trim().to_owned() };
        let place = if span.end > span.start {
            let phrase = quote(span.start, span.end.min(span.start + QUOTE_CHARS));
            format!("Instead of \"{phrase}\"")
        } else {
            let before = quote(span.start.saturating_sub(PLACE_CHARS), span.start);
            // From a word's start: the quote names the place in whole words.
            let words = before.split_once(' ').filter(|_| span.start > PLACE_CHARS).map_or(before.as_str(), |(_, w)| w);
            if words.is_empty() {
                "At the start".to_owned()
            } else {
                format!("After \"{words}\"")
            }
        };
        out.push_str(&format!("\n{place}: {instruction}"));
    }
    Some(out)
}
