//! Requests over real text: a document plus masked spans, a continuation and a pinned ending,
//! turned into a token canvas and mapped back to text.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sampler::SamplingSettings;
use crate::tokenizer::DreamTokenizer;

mod ending;
pub mod instructions;
mod joins;
mod views;
mod windows;

pub use ending::Ending;

/// Replace the characters `start..end` of the text with `tokens` masks; `start == end` inserts
/// them at that point. Offsets count Unicode scalar values (Rust `char`s).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub tokens: usize,
    /// What to write there, in the writer's words ("darker", "describe the smell of the sea"):
    /// the model's chat template carries it (see [`instructions`]); a model without one
    /// refuses it.
    #[serde(default)]
    pub instruction: Option<String>,
}

impl Span {
    /// The instruction, trimmed; `None` when there is none or it is blank.
    pub fn instruction_text(&self) -> Option<&str> {
        self.instruction.as_deref().map(str::trim).filter(|i| !i.is_empty())
    }
}

/// What to generate: masked spans anywhere in `text`, optionally `continuation` masks after
/// it, and an optional pinned [`Ending`] the generated text must lead into (after the
/// continuation, or at a point of the text with a gap of masks before it).
///
/// `text` is the writer's, plain text throughout: a control token written in it (`<|mask|>`,
/// `<|endoftext|>`) is read as its characters and kept byte for byte.
///
/// ```
/// let req: dream_engine::InfillRequest = serde_json::from_str(r#"{
///     "text": "The storm broke at dawn.",
///     "spans": [{"start": 4, "end": 9, "tokens": 3}],
///     "continuation": 16,
///     "ending": {"text": "And then there was silence."},
///     "settings": {"steps": 8, "alg": "entropy"}
/// }"#).unwrap();
/// assert_eq!(req.spans[0].tokens, 3);
/// ```
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfillRequest {
    pub text: String,
    #[serde(default)]
    pub spans: Vec<Span>,
    #[serde(default)]
    pub continuation: usize,
    #[serde(default)]
    pub ending: Option<Ending>,
    #[serde(default)]
    pub settings: SamplingSettings,
    /// How many versions to write at once (1-3), from seeds `seed`, `seed + 1`, ...: one
    /// batched run, to flip between before accepting one.
    #[serde(default = "one")]
    pub candidates: usize,
}

fn one() -> usize {
    1
}

/// The most versions one request may ask for: each is a full batch row.
pub const MAX_CANDIDATES: usize = 3;
/// The largest document a request carries (a long novel is a few MB).
pub const MAX_TEXT_BYTES: usize = 16 << 20;
/// The largest pinned ending (a sentence or a paragraph; the context bounds it anyway).
pub const MAX_ENDING_BYTES: usize = 64 << 10;
/// The most spans one request marks.
pub const MAX_SPANS: usize = 1024;

/// A text piece of one mask slot of a span.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// `None` while the slot is still masked.
    pub token: Option<u32>,
    /// The text this token adds ("" while masked, for an end-of-text token, or for a token
    /// whose UTF-8 character completes in a later slot).
    pub text: String,
    pub confidence: Option<f32>,
}

/// The live state of one masked span.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanView {
    /// Which candidate (batch row) this is.
    #[serde(default)]
    pub row: usize,
    /// Index of the span: the request's spans in order, then the continuation, then the gap
    /// before the pinned ending.
    pub span: usize,
    /// Where the span starts in the request's text (chars); the continuation starts at its end.
    pub start: usize,
    pub slots: Vec<Slot>,
}

impl SpanView {
    /// The span's current text (masked slots contribute nothing).
    pub fn text(&self) -> String {
        self.slots.iter().map(|s| s.text.as_str()).collect()
    }

    /// The span as it stands: revealed slots' text, and `masked` for each slot still masked.
    pub fn shown(&self, masked: &str) -> String {
        self.slots.iter().map(|s| if s.token.is_some() { s.text.as_str() } else { masked }).collect()
    }
}

/// The finished document: what the CLI prints and what the app writes.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfillResult {
    /// The whole text with every span filled in (and the ending, if pinned), joined to the text
    /// on both sides (see [`FilledSpan::text`]).
    pub text: String,
    /// Each span's place in `text` (chars) and its content.
    pub spans: Vec<FilledSpan>,
}

/// One span of the request as written: the edit that writes it is "replace the span's range of
/// the request's text (a hole: insert at its place) with `text`, then `leads_into`".
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilledSpan {
    /// The span's index in the request.
    pub span: usize,
    /// Its char range in the result's `text`.
    pub start: usize,
    pub end: usize,
    /// What was written into it, joined to the text on either side (one space between words,
    /// none before closing punctuation, nothing for white space alone; see the `joins` module):
    /// the slots' texts one after another.
    pub text: String,
    /// Its tokens, one per mask slot, each with its share of `text`.
    pub slots: Vec<Slot>,
    /// The pinned ending that follows it in `text`, as written there (see [`Ending::written`],
    /// then joined to the fill): set on the span that leads into it.
    pub leads_into: Option<String>,
}

enum Piece {
    Text(String),
    Masks {
        span: usize,
        start: usize,
        len: usize,
        /// The writer's text the masks stand for (empty for a hole): how the fill is joined.
        replaced: String,
    },
    /// The pinned ending as written: seen whole by the window of the masks before it.
    Ending(String),
}

/// A request tokenised into the windows the model sees, with what is needed to map tokens back.
///
/// Marks that fit one window of context are filled jointly. Marks too far apart for that get a
/// window each, filled one after another; each window also sees what the ones before it wrote.
pub struct Prepared {
    /// The chat template's prompt, with the marks' instructions, that every window is read
    /// after (see [`instructions`]); empty when no mark has an instruction.
    pub prompt: Vec<u32>,
    /// The document's tokens as far as any window reaches, with masks where text is to be
    /// written. (The middle of a long stretch between windows is left out.)
    pub tokens: Vec<u32>,
    /// The windows, in the order they are filled (one unless the marks are far apart).
    pub windows: Vec<Window>,
    /// Settings validated, with `steps` clamped to the number of masks (the total over all
    /// windows). Private, so a run can trust them: see [`Prepared::settings`].
    settings: SamplingSettings,
    /// Adjustments the engine made (for the user to see).
    pub warnings: Vec<String>,
    /// Versions to write at once (batch rows).
    pub candidates: usize,
    pieces: Vec<Piece>,
    /// Positions in `tokens` of each piece of `pieces` that holds masks, in piece order.
    mask_positions: Vec<Range<usize>>,
}

/// A stretch of [`Prepared::tokens`] the model sees at once, and how it is denoised.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub range: Range<usize>,
    /// Its share of the steps, in proportion to its masks (at least one).
    pub steps: usize,
}

/// Seeds of later windows are this far apart from the request's seed (candidate rows are 1
/// apart), so no two windows of any two candidates draw the same stream.
const WINDOW_SEED_STRIDE: u64 = 0x9E37_79B9_7F4A_7C15;

impl Prepared {
    /// The settings the run uses: the request's, validated, with the steps clamped.
    pub fn settings(&self) -> &SamplingSettings {
        &self.settings
    }

    /// The canvas of window `w` before anything is written: the prompt, then the window.
    pub fn canvas(&self, w: usize) -> Vec<u32> {
        [&self.prompt[..], &self.tokens[self.windows[w].range.clone()]].concat()
    }

    /// The settings window `w` is denoised with: its share of the steps, and its own seed
    /// (the request's seed for the first window, so a one-window request is unchanged).
    pub fn window_settings(&self, w: usize) -> SamplingSettings {
        SamplingSettings {
            steps: self.windows[w].steps,
            seed: self.settings.seed.wrapping_add((w as u64).wrapping_mul(WINDOW_SEED_STRIDE)),
            ..self.settings.clone()
        }
    }
}

impl InfillRequest {
    /// Tokenises the request around its spans (each text piece on its own, so span boundaries
    /// are token boundaries and the text is never re-tokenised across them) and groups its
    /// masks into windows of `context` tokens, each keeping the text nearest its spans.
    pub fn prepare(&self, tok: &DreamTokenizer, context: usize) -> Result<Prepared> {
        self.settings.validate()?;
        self.check_sizes(context)?;
        if !(1..=MAX_CANDIDATES).contains(&self.candidates) {
            return Err(Error::invalid(
                "candidates",
                format!("{} is not between 1 and {MAX_CANDIDATES}", self.candidates),
            ));
        }
        let pieces = self.pieces()?;
        let document = match pieces.first() {
            Some(Piece::Text(t)) => t.as_str(),
            _ => "",
        };
        let (prompt, read) = self.prompt(tok, document, context)?;
        // Every window is read after the prompt: it takes its share of the context.
        let context = context - prompt.len();
        let tokens = windows::tokenise(tok, &pieces, read, context)?;
        let masks: usize = tokens.masks.iter().map(|r| r.len()).sum();
        if masks == 0 {
            return Err(Error::invalid("spans", "nothing to generate: no span, no continuation and no mask token"));
        }
        let groups = windows::group(&tokens, context)?;
        let mut warnings = Vec::new();
        match groups.as_slice() {
            [one] if tokens.cut || one.window.len() < tokens.ids.len() => warnings.push(format!(
                "the document is longer than the model's context; it sees the {} tokens nearest the spans",
                one.window.len()
            )),
            [_] => {}
            many => warnings.push(format!(
                "the marks are too far apart for the model to see at once ({context} tokens): they were \
                 filled in {} windows, one after another, each seeing the text nearest its marks and what \
                 the windows before it wrote",
                many.len()
            )),
        }
        let mut settings = self.settings.clone();
        // The writer's document gets text: a control token written into a fill would reach it.
        settings.banned = tok.control_ids();
        if self.candidates > 1 && !settings.varies_with_seed() {
            warnings.push(
                "greedy decoding writes the same text for every candidate: raise the temperature to vary them".into(),
            );
        }
        if settings.steps > masks {
            warnings.push(format!("steps {} > {masks} masked tokens: using {masks} steps", settings.steps));
            settings.steps = masks;
        }
        let windows = groups
            .into_iter()
            .map(|g| {
                let held: usize = tokens.masks[g.masks].iter().map(|r| r.len()).sum();
                let share = (settings.steps as f64 * held as f64 / masks as f64).round() as usize;
                Window { range: g.window, steps: share.clamp(1, held) }
            })
            .collect();
        Ok(Prepared {
            prompt,
            tokens: tokens.ids,
            windows,
            settings,
            warnings,
            candidates: self.candidates,
            pieces,
            mask_positions: tokens.masks,
        })
    }

    /// The chat template's prompt for the marks' instructions (none without instructions), and
    /// how many bytes of the text it read (see [`instructions::prompt`]); refused for a model
    /// without a template and when it leaves the document under half the context.
    /// `document` is the text the answer starts with (the first piece's).
    fn prompt(&self, tok: &DreamTokenizer, document: &str, context: usize) -> Result<(Vec<u32>, usize)> {
        let Some(message) = instructions::message(self) else { return Ok((Vec::new(), 0)) };
        let Some(template) = tok.chat_template()? else {
            let i = self.spans.iter().position(|s| s.instruction_text().is_some()).unwrap_or_default();
            return Err(Error::invalid(
                format!("spans[{i}].instruction"),
                "this model has no chat template, so it cannot follow instructions (a Base model): \
                 load an Instruct model, or write without the instruction",
            ));
        };
        let (prompt, read) = instructions::prompt(tok, template, &message, document)?;
        if prompt.len() > context / 2 {
            return Err(Error::invalid(
                "spans",
                format!(
                    "the instructions take {} tokens, over half the model's context ({context}): shorten them",
                    prompt.len()
                ),
            ));
        }
        Ok((prompt, read))
    }

    /// Every size checked before anything is allocated for it: each span's masks must fit the
    /// context, and the text and ending stay within their limits.
    fn check_sizes(&self, context: usize) -> Result<()> {
        let too_big = |field: &str, what: String| Err(Error::invalid(field, what));
        if self.text.len() > MAX_TEXT_BYTES {
            return too_big("text", format!("{} bytes; the limit is {MAX_TEXT_BYTES}", self.text.len()));
        }
        if let Some(e) = self.ending.as_ref().filter(|e| e.text.len() > MAX_ENDING_BYTES) {
            return too_big("ending", format!("{} bytes; the limit is {MAX_ENDING_BYTES}", e.text.len()));
        }
        if self.spans.len() > MAX_SPANS {
            return too_big("spans", format!("{} spans; the limit is {MAX_SPANS}", self.spans.len()));
        }
        for (i, s) in self.spans.iter().enumerate() {
            let len = s.instruction.as_ref().map_or(0, String::len);
            if len > instructions::MAX_INSTRUCTION_BYTES {
                let limit = instructions::MAX_INSTRUCTION_BYTES;
                return too_big(&format!("spans[{i}].instruction"), format!("{len} bytes; the limit is {limit}"));
            }
        }
        // Each run of masks must fit one window; all of them together are then bounded by
        // (MAX_SPANS + 1) windows.
        let gap = self.ending.as_ref().map_or(0, |e| e.gap);
        let largest = self.spans.iter().map(|s| s.tokens).chain([self.continuation, gap]).max().unwrap_or(0);
        if largest > context {
            return Err(Error::ContextOverflow { needed: largest, limit: context });
        }
        Ok(())
    }

    /// Splits the request into text pieces and mask runs, validating the spans.
    fn pieces(&self) -> Result<Vec<Piece>> {
        let n_chars = self.text.chars().count();
        let mut order: Vec<usize> = (0..self.spans.len()).collect();
        order.sort_by_key(|&i| (self.spans[i].start, self.spans[i].end));
        for (i, s) in self.spans.iter().enumerate() {
            let field = format!("spans[{i}]");
            if s.start > s.end {
                return Err(Error::invalid(field, format!("start {} is after end {}", s.start, s.end)));
            }
            if s.end > n_chars {
                return Err(Error::invalid(field, format!("end {} is past the text's {n_chars} characters", s.end)));
            }
            if s.tokens == 0 {
                return Err(Error::invalid(field, "a span needs at least 1 token"));
            }
        }
        for pair in order.windows(2) {
            let (a, b) = (&self.spans[pair[0]], &self.spans[pair[1]]);
            if b.start < a.end || (a.start == b.start && a.end == b.end) {
                return Err(Error::invalid(format!("spans[{}]", pair[1]), format!("overlaps spans[{}]", pair[0])));
            }
        }
        let chars: Vec<char> = self.text.chars().collect();
        let text_of = |r: Range<usize>| chars[r].iter().collect::<String>();
        let ending = self.pinned_ending(n_chars)?;
        let gap_span = self.spans.len() + usize::from(self.continuation > 0);
        let mut pieces = Vec::new();
        let push_text = |pieces: &mut Vec<Piece>, text: String| {
            if !text.is_empty() {
                pieces.push(Piece::Text(text));
            }
        };
        // The gap and the ending go at `at` in the text (`None`: after the continuation).
        let mut pinned = ending;
        let mut cursor = 0;
        for &i in &order {
            let s = &self.spans[i];
            if let Some(e) = pinned.take_if(|e| e.at.is_some_and(|at| at <= s.start)) {
                let at = e.at.unwrap_or(n_chars);
                push_text(&mut pieces, text_of(cursor..at));
                push_ending(&mut pieces, e, gap_span, at);
                cursor = at;
            }
            push_text(&mut pieces, text_of(cursor..s.start));
            pieces.push(Piece::Masks { span: i, start: s.start, len: s.tokens, replaced: text_of(s.start..s.end) });
            cursor = s.end;
        }
        if let Some(e) = pinned.take_if(|e| e.at.is_some()) {
            let at = e.at.unwrap_or(n_chars);
            push_text(&mut pieces, text_of(cursor..at));
            push_ending(&mut pieces, e, gap_span, at);
            cursor = at;
        }
        push_text(&mut pieces, text_of(cursor..n_chars));
        if self.continuation > 0 {
            pieces.push(Piece::Masks {
                span: self.spans.len(),
                start: n_chars,
                len: self.continuation,
                replaced: String::new(),
            });
        }
        if let Some(e) = pinned {
            push_ending(&mut pieces, e, gap_span, n_chars);
        }
        Ok(pieces)
    }

    /// The pinned ending with its text as written, checked against the text and the spans;
    /// `None` when there is none or it is blank.
    fn pinned_ending(&self, n_chars: usize) -> Result<Option<Ending>> {
        let Some(ending) = self.ending.as_ref() else { return Ok(None) };
        let text = ending.written();
        if text.is_empty() {
            return Ok(None);
        }
        if let Some(at) = ending.at {
            if at > n_chars {
                return Err(Error::invalid("ending.at", format!("{at} is past the text's {n_chars} characters")));
            }
            for (i, s) in self.spans.iter().enumerate() {
                if s.start < at && at < s.end {
                    return Err(Error::invalid(
                        "ending",
                        format!("the pinned ending is inside a marked phrase (spans[{i}]): move the ending, or remove the mark"),
                    ));
                }
                if s.start == at && s.end == at {
                    return Err(Error::invalid(
                        "ending",
                        format!("a hole (spans[{i}]) and the pinned ending are at the same place: remove the hole, or pin the ending elsewhere"),
                    ));
                }
            }
        }
        Ok(Some(Ending { text, ..ending.clone() }))
    }
}

/// The ending's gap (span `gap_span`, when it has one) and the ending, at char `at`.
fn push_ending(pieces: &mut Vec<Piece>, ending: Ending, gap_span: usize, at: usize) {
    if ending.gap > 0 {
        pieces.push(Piece::Masks { span: gap_span, start: at, len: ending.gap, replaced: String::new() });
    }
    pieces.push(Piece::Ending(ending.text));
}
