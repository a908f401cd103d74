//! From tokens back to text: each span's live slots, a preview of the document, the result.

use super::{FilledSpan, InfillResult, Piece, Prepared, Slot, SpanView};
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

    /// The finished document for the final state of [`Prepared::tokens`].
    pub fn result(&self, tok: &DreamTokenizer, ids: &[u32], confidence: &[Option<f32>]) -> Result<InfillResult> {
        let views = self.span_views(tok, ids, confidence)?;
        let mut text = String::new();
        let mut chars = 0;
        let mut spans: Vec<FilledSpan> = Vec::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Text(t) | Piece::Ending(t) => {
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
                        leads_into: match self.pieces.get(i + 1) {
                            Some(Piece::Ending(e)) => Some(e.clone()),
                            _ => None,
                        },
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
