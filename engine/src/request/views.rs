//! From tokens back to text: each span's live slots, a preview of the document, the result.

use super::{joins, FilledSpan, InfillResult, Piece, Prepared, Slot, SpanView};
use crate::error::Result;
use crate::tokenizer::DreamTokenizer;

impl Prepared {
    /// The text view of every span for a state of [`Prepared::tokens`] (`ids`) and the
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
    /// each slot still masked (a live view of the first candidate).
    pub fn preview(&self, views: &[SpanView], masked: &str) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) | Piece::Ending(t) => out.push_str(t),
                Piece::Masks { span, .. } => {
                    if let Some(view) = views.iter().find(|v| v.span == *span && v.row == 0) {
                        out.push_str(&view.shown(masked));
                    }
                }
            }
        }
        out
    }

    /// The finished document for the final state of [`Prepared::tokens`], every fill and the
    /// pinned ending joined to the text around them (one rule, for the CLI and the app alike).
    pub fn result(&self, tok: &DreamTokenizer, ids: &[u32], confidence: &[Option<f32>]) -> Result<InfillResult> {
        let views = self.span_views(tok, ids, confidence)?;
        let (mut text, mut chars) = (String::new(), 0);
        // The char range each piece lands on (counted as it goes: a text has many spans).
        let mut push = |text: &mut String, piece: &str| {
            text.push_str(piece);
            let start = chars;
            chars += piece.chars().count();
            start..chars
        };
        let mut spans: Vec<FilledSpan> = Vec::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Text(t) => _ = push(&mut text, t),
                Piece::Ending(e) => {
                    let written = joins::joined_ending(&text, e);
                    push(&mut text, written);
                    if let Some(span) =
                        spans.last_mut().filter(|_| i > 0 && matches!(self.pieces[i - 1], Piece::Masks { .. }))
                    {
                        span.leads_into = Some(written.to_owned());
                    }
                }
                Piece::Masks { span, replaced, .. } => {
                    let mut slots = views.iter().find(|v| v.span == *span).expect("a view per span").slots.clone();
                    let after = match self.pieces.get(i + 1) {
                        Some(Piece::Text(t) | Piece::Ending(t)) => t.as_str(),
                        _ => "",
                    };
                    joins::join(&mut slots, joins::Seam { before: &text, replaced, after });
                    let filled: String = slots.iter().map(|s| s.text.as_str()).collect();
                    let at = push(&mut text, &filled);
                    spans.push(FilledSpan {
                        span: *span,
                        start: at.start,
                        end: at.end,
                        text: filled,
                        slots,
                        leads_into: None,
                    });
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
