//! Requests over real text: a document plus masked spans, a continuation and a pinned ending,
//! turned into a token canvas and mapped back to text.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sampler::SamplingSettings;
use crate::tokenizer::DreamTokenizer;

/// Replace the characters `start..end` of the text with `tokens` masks; `start == end` inserts
/// them at that point. Offsets count Unicode scalar values (Rust `char`s).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub tokens: usize,
}

/// What to generate: masked spans anywhere in `text`, optionally `continuation` masks after
/// it, and an optional pinned `ending` after those that the generated text must lead into.
///
/// The model's mask token written literally in `text` (`<|mask|>` for Dream) is one more masked
/// position, as in the official code.
///
/// ```
/// let req: dream_engine::InfillRequest = serde_json::from_str(r#"{
///     "text": "The storm broke at dawn.",
///     "spans": [{"start": 4, "end": 9, "tokens": 3}],
///     "continuation": 16,
///     "ending": " And then there was silence.",
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
    pub ending: Option<String>,
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
    /// Index of the span: the request's spans in order, then the continuation, then literal
    /// mask tokens in text order.
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
}

/// The finished document.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfillResult {
    /// The whole text with every span filled in (and the ending, if pinned).
    pub text: String,
    /// Each span's place in `text` (chars) and its content.
    pub spans: Vec<FilledSpan>,
}

/// One span of the request as written.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilledSpan {
    /// The span's index in the request.
    pub span: usize,
    /// Its char range in the result's `text`.
    pub start: usize,
    pub end: usize,
    /// What was written into it.
    pub text: String,
    /// Its tokens, one per mask slot.
    pub slots: Vec<Slot>,
}

enum Piece {
    Text(String),
    Masks { span: usize, start: usize, len: usize },
}

/// A request tokenised into the canvas the model sees, with what is needed to map tokens back.
pub struct Prepared {
    /// The token window fed to the model.
    pub canvas: Vec<u32>,
    /// Settings with `steps` clamped to the number of masks.
    pub settings: SamplingSettings,
    /// Adjustments the engine made (for the user to see).
    pub warnings: Vec<String>,
    /// Versions to write at once (batch rows).
    pub candidates: usize,
    pieces: Vec<Piece>,
    /// Canvas positions of each piece of `pieces` that holds masks, in piece order.
    mask_positions: Vec<Range<usize>>,
}

impl InfillRequest {
    /// Tokenises the request around its spans (each text piece on its own, so span boundaries
    /// are token boundaries and the text is never re-tokenised across them) and windows it to
    /// `context` tokens, keeping the text nearest the spans.
    pub fn prepare(&self, tok: &DreamTokenizer, context: usize) -> Result<Prepared> {
        self.settings.validate()?;
        self.check_sizes(context)?;
        if !(1..=MAX_CANDIDATES).contains(&self.candidates) {
            return Err(Error::invalid(
                "candidates",
                format!("{} is not between 1 and {MAX_CANDIDATES}", self.candidates),
            ));
        }
        let pieces = self.pieces(tok)?;
        // Only the text a window can reach is tokenised: the end of what comes before the
        // first masks and the start of what follows the last needed piece (a 16 MiB novel
        // would otherwise be tokenised whole for a 2,048-token window).
        let pinned_end = self.ending.as_ref().is_some_and(|e| !e.is_empty());
        let is_masks = |p: &Piece| matches!(p, Piece::Masks { .. });
        let first_masks = pieces.iter().position(is_masks).unwrap_or(pieces.len());
        let last_needed = if pinned_end { pieces.len() - 1 } else { pieces.iter().rposition(is_masks).unwrap_or(0) };
        let mut tokens: Vec<u32> = Vec::new();
        let mut ranges = Vec::new();
        let mut cut = false;
        for (i, piece) in pieces.iter().enumerate() {
            let start = tokens.len();
            match piece {
                Piece::Text(t) if i < first_masks => tokens.extend(edge_tokens(tok, t, context, Edge::End, &mut cut)?),
                Piece::Text(t) if i > last_needed => {
                    tokens.extend(edge_tokens(tok, t, context, Edge::Start, &mut cut)?)
                }
                Piece::Text(t) => tokens.extend(tok.encode(t)?),
                Piece::Masks { len, .. } => {
                    tokens.extend(std::iter::repeat_n(tok.mask_id(), *len));
                    ranges.push(start..tokens.len());
                }
            }
        }
        let masks: usize = ranges.iter().map(|r| r.len()).sum();
        if masks == 0 {
            return Err(Error::invalid("spans", "nothing to generate: no span, no continuation and no mask token"));
        }
        // The masks and the pinned ending (the last piece) must be in the window; context fills
        // the rest.
        let first = ranges[0].start;
        let last = if pinned_end { tokens.len() } else { ranges[ranges.len() - 1].end };
        let needed = last - first;
        if needed > context {
            return Err(Error::ContextOverflow { needed, limit: context });
        }
        let spare = context.saturating_sub(needed);
        let (before, after) = (first, tokens.len() - last);
        let take_before = before.min(spare.saturating_sub(after.min(spare / 2)));
        let take_after = after.min(spare - take_before);
        let window = first - take_before..last + take_after;
        let mut warnings = Vec::new();
        if cut || window.len() < tokens.len() {
            warnings.push(format!(
                "the document is longer than the model's context; it sees the {} tokens nearest the spans",
                window.len()
            ));
        }
        let mut settings = self.settings.clone();
        let random = settings.temperature > 0.0
            || settings.alg_temp.is_some_and(|t| t > 0.0)
            || settings.alg == crate::Alg::Origin;
        if self.candidates > 1 && !random {
            warnings.push(
                "greedy decoding writes the same text for every candidate: raise the temperature to vary them".into(),
            );
        }
        if settings.steps > masks {
            warnings.push(format!("steps {} > {masks} masked tokens: using {masks} steps", settings.steps));
            settings.steps = masks;
        }
        let mask_positions = ranges.iter().map(|r| r.start - window.start..r.end - window.start).collect();
        Ok(Prepared {
            canvas: tokens[window].to_vec(),
            settings,
            warnings,
            candidates: self.candidates,
            pieces,
            mask_positions,
        })
    }

    /// Every size checked before anything is allocated for it: the masks asked for must fit
    /// the context, and the text and ending stay within their limits.
    fn check_sizes(&self, context: usize) -> Result<()> {
        let too_big = |field: &str, what: String| Err(Error::invalid(field, what));
        if self.text.len() > MAX_TEXT_BYTES {
            return too_big("text", format!("{} bytes; the limit is {MAX_TEXT_BYTES}", self.text.len()));
        }
        if let Some(e) = self.ending.as_ref().filter(|e| e.len() > MAX_ENDING_BYTES) {
            return too_big("ending", format!("{} bytes; the limit is {MAX_ENDING_BYTES}", e.len()));
        }
        if self.spans.len() > MAX_SPANS {
            return too_big("spans", format!("{} spans; the limit is {MAX_SPANS}", self.spans.len()));
        }
        let masks = self
            .spans
            .iter()
            .try_fold(self.continuation, |n, s| n.checked_add(s.tokens))
            .filter(|&n| n <= context)
            .ok_or_else(|| {
                let needed = self.spans.iter().fold(self.continuation, |n, s| n.saturating_add(s.tokens));
                Error::ContextOverflow { needed, limit: context }
            })?;
        debug_assert!(masks <= context);
        Ok(())
    }

    /// Splits the request into text pieces and mask runs, validating the spans.
    fn pieces(&self, tok: &DreamTokenizer) -> Result<Vec<Piece>> {
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
        let mask_token = tok.inner().id_to_token(tok.mask_id()).unwrap_or_default();
        let mut literal = self.spans.len() + usize::from(self.continuation > 0);
        let mut pieces = Vec::new();
        let mut push_text = |pieces: &mut Vec<Piece>, text: String, offset: usize| {
            // Literal mask tokens become one-token spans of their own.
            let mut rest = text.as_str();
            let mut at = offset;
            while let Some(idx) = (!mask_token.is_empty()).then(|| rest.find(&mask_token)).flatten() {
                let head = &rest[..idx];
                if !head.is_empty() {
                    pieces.push(Piece::Text(head.to_owned()));
                }
                at += head.chars().count();
                pieces.push(Piece::Masks { span: literal, start: at, len: 1 });
                literal += 1;
                at += mask_token.chars().count();
                rest = &rest[idx + mask_token.len()..];
            }
            if !rest.is_empty() {
                pieces.push(Piece::Text(rest.to_owned()));
            }
        };
        let mut cursor = 0;
        for &i in &order {
            let s = self.spans[i];
            push_text(&mut pieces, text_of(cursor..s.start), cursor);
            pieces.push(Piece::Masks { span: i, start: s.start, len: s.tokens });
            cursor = s.end;
        }
        push_text(&mut pieces, text_of(cursor..n_chars), cursor);
        if self.continuation > 0 {
            pieces.push(Piece::Masks { span: self.spans.len(), start: n_chars, len: self.continuation });
        }
        if let Some(ending) = self.ending.as_ref().filter(|e| !e.is_empty()) {
            if ending.contains(&mask_token) {
                return Err(Error::invalid("ending", "the pinned ending cannot contain mask tokens"));
            }
            pieces.push(Piece::Text(ending.clone()));
        }
        Ok(pieces)
    }
}

/// Which end of a text piece a window reaches.
#[derive(Clone, Copy, PartialEq)]
enum Edge {
    Start,
    End,
}

/// The tokens of `text` at `edge`, at least `need` of them when it has that many. Only a
/// slice of the text is tokenised, doubled until it yields enough. The cut falls on white
/// space where there is some near it (a word-level vocabulary has no half words), and the
/// token at the cut is dropped all the same. Sets `cut` when the text was not tokenised whole.
fn edge_tokens(tok: &DreamTokenizer, text: &str, need: usize, edge: Edge, cut: &mut bool) -> Result<Vec<u32>> {
    let mut bytes = need.saturating_mul(8).max(256);
    loop {
        if bytes >= text.len() {
            return tok.encode(text);
        }
        let slice = match edge {
            Edge::End => {
                let at = (text.len() - bytes..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                let space = text[at..].find(char::is_whitespace).filter(|&s| s < bytes / 2);
                &text[at + space.unwrap_or(0)..]
            }
            Edge::Start => {
                let at = (0..=bytes).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                let space = text[..at].rfind(char::is_whitespace).filter(|&s| at - s < bytes / 2);
                &text[..space.unwrap_or(at)]
            }
        };
        let mut ids = tok.encode(slice)?;
        if ids.len() > need {
            *cut = true;
            match edge {
                Edge::End => ids.remove(0),
                Edge::Start => ids.pop().unwrap_or_default(),
            };
            return Ok(ids);
        }
        bytes = bytes.saturating_mul(2);
    }
}

impl Prepared {
    /// The text view of every span for a canvas state (`ids` is the window) and the
    /// confidence each position was revealed with.
    pub fn span_views(&self, tok: &DreamTokenizer, ids: &[u32], confidence: &[Option<f32>]) -> Result<Vec<SpanView>> {
        let mut views = Vec::new();
        let mut ranges = self.mask_positions.iter();
        for piece in &self.pieces {
            let Piece::Masks { span, start, .. } = piece else { continue };
            let range = ranges.next().expect("one range per mask piece").clone();
            views.push(SpanView {
                row: 0,
                span: *span,
                start: *start,
                slots: slots(tok, &ids[range.clone()], &confidence[range])?,
            });
        }
        views.sort_by_key(|v| v.span);
        Ok(views)
    }

    /// The whole document as it stands: text pieces, revealed slots' text, and `masked` for
    /// each slot still masked (a live view).
    pub fn preview(&self, views: &[SpanView], masked: &str) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Masks { span, .. } => {
                    for slot in views.iter().filter(|v| v.span == *span).flat_map(|v| &v.slots) {
                        out.push_str(if slot.token.is_some() { &slot.text } else { masked });
                    }
                }
            }
        }
        out
    }

    /// The finished document for the final canvas.
    pub fn result(&self, tok: &DreamTokenizer, ids: &[u32], confidence: &[Option<f32>]) -> Result<InfillResult> {
        let views = self.span_views(tok, ids, confidence)?;
        let mut text = String::new();
        let mut chars = 0;
        let mut spans = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => {
                    text.push_str(t);
                    chars += t.chars().count();
                }
                Piece::Masks { span, .. } => {
                    let view = views.iter().find(|v| v.span == *span).expect("a view per span");
                    let filled = view.text();
                    let len = filled.chars().count();
                    text.push_str(&filled);
                    spans.push(FilledSpan {
                        span: *span,
                        start: chars,
                        end: chars + len,
                        text: filled,
                        slots: view.slots.clone(),
                    });
                    chars += len;
                }
            }
        }
        spans.sort_by_key(|s| s.span);
        Ok(InfillResult { text, spans })
    }
}

/// Per-slot text of a span: each run of revealed tokens is decoded incrementally, so a token
/// whose character is completed by the next token shows nothing until then, and end-of-text
/// tokens add nothing.
fn slots(tok: &DreamTokenizer, ids: &[u32], confidence: &[Option<f32>]) -> Result<Vec<Slot>> {
    let mask = tok.mask_id();
    let mut out: Vec<Slot> = ids
        .iter()
        .zip(confidence)
        .map(|(&id, &c)| Slot {
            token: (id != mask).then_some(id),
            text: String::new(),
            confidence: c.filter(|_| id != mask),
        })
        .collect();
    let mut i = 0;
    while i < ids.len() {
        if ids[i] == mask {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < ids.len() && ids[i] != mask {
            i += 1;
        }
        let run: Vec<usize> = (run_start..i).filter(|&j| !tok.is_end(ids[j])).collect();
        let mut pending: usize = 0; // index into `run` of the first token not yet emitted
        for k in 0..run.len() {
            let context = pending.checked_sub(1);
            let from = context.unwrap_or(pending);
            let window: Vec<u32> = run[from..=k].iter().map(|&j| ids[j]).collect();
            let full = tok.decode(&window)?;
            if full.ends_with('\u{FFFD}') && k + 1 < run.len() {
                continue; // the character completes in a later token of this run
            }
            let prefix = match context {
                Some(c) => tok.decode(&[ids[run[c]]])?,
                None => String::new(),
            };
            let piece = full.strip_prefix(prefix.as_str()).unwrap_or(&full);
            out[run[k]].text = piece.trim_end_matches('\u{FFFD}').to_owned();
            pending = k + 1;
        }
    }
    Ok(out)
}
