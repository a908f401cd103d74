//! Which tokens of a document the model sees: the document tokenised only as far as a window
//! can reach, and its mask runs grouped into windows of at most `context` tokens.

use std::ops::Range;

use super::Piece;
use crate::error::{Error, Result};
use crate::tokenizer::DreamTokenizer;

/// A request's tokens: each text piece tokenised on its own (whole where it is short, its ends
/// only where it is long), with the canvas position of every run of masks.
pub(super) struct Tokens {
    pub ids: Vec<u32>,
    /// The canvas positions of each masks piece, in piece order.
    pub masks: Vec<Range<usize>>,
    /// Whether some text was left out (the model never sees all of the document).
    pub cut: bool,
    /// The run of masks (an index into `masks`) that the pinned ending directly follows, and
    /// where the ending's tokens end: the window of those masks must hold all of it.
    pub lead_in: Option<(usize, usize)>,
}

/// Tokenises `pieces` for windows of `context` tokens, but for the first `read` bytes of the
/// first piece, which the prompt read (see [`super::instructions::prompt`]).
///
/// A text piece's middle is left out where it is longer than a window reaches from either
/// side: at least `context` tokens are kept at each end that borders masks. That is also why
/// no window ever spans such a cut: a window holds masks and reaches less than `context` tokens
/// beyond them.
pub(super) fn tokenise<'a>(tok: &DreamTokenizer, pieces: &'a [Piece], read: usize, context: usize) -> Result<Tokens> {
    let is_masks = |p: &Piece| matches!(p, Piece::Masks { .. });
    let first_masks = pieces.iter().position(is_masks).unwrap_or(pieces.len());
    let last_masks = pieces.iter().rposition(is_masks).unwrap_or(0);
    let mut out = Tokens { ids: Vec::new(), masks: Vec::new(), cut: false, lead_in: None };
    for (i, piece) in pieces.iter().enumerate() {
        let start = out.ids.len();
        // Dream's words carry their leading space (" word"): a text that ends in spaces right
        // before masks is read without them (the fill brings its own), or the canvas would end
        // in a lone space, which byte-level BPE writes only before a digit.
        let before_masks = pieces.get(i + 1).is_some_and(is_masks);
        let text = |t: &'a str| if before_masks { t.trim_end_matches(' ') } else { t };
        match piece {
            Piece::Masks { len, .. } => {
                out.ids.extend(std::iter::repeat_n(tok.mask_id(), *len));
                out.masks.push(start..out.ids.len());
            }
            // The ending is short (64 KiB at most) and, when it follows masks, all of it must
            // be seen with them.
            Piece::Ending(t) => {
                out.ids.extend(tok.encode(t)?);
                if i > 0 && is_masks(&pieces[i - 1]) {
                    out.lead_in = Some((out.masks.len() - 1, out.ids.len()));
                }
            }
            Piece::Text(t) if i < first_masks => {
                let t = if i == 0 { &t[read..] } else { t };
                out.ids.extend(edge_tokens(tok, text(t), context, Edge::End, &mut out.cut)?)
            }
            Piece::Text(t) if i > last_masks => {
                out.ids.extend(edge_tokens(tok, text(t), context, Edge::Start, &mut out.cut)?)
            }
            Piece::Text(t) => {
                let t = text(t);
                // Between two runs of masks: both ends. They may overlap (a text of 1.5 windows),
                // but no window holds both, and the result is built from the text, not tokens.
                let (mut long, mut tail_cut) = (false, false);
                let head = edge_tokens(tok, t, context, Edge::Start, &mut long)?;
                let tail = if long { edge_tokens(tok, t, context, Edge::End, &mut tail_cut)? } else { Vec::new() };
                match (long, tail_cut) {
                    (false, _) => out.ids.extend(head),
                    (true, false) => out.ids.extend(tail), // the tail's slice grew to the whole text
                    (true, true) => {
                        out.ids.extend(head.into_iter().chain(tail));
                        out.cut = true;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// One group of mask runs and the window of tokens the model sees while it fills them.
pub(super) struct Group {
    /// Indices into [`Tokens::masks`].
    pub masks: Range<usize>,
    /// The window: token positions of [`Tokens::ids`].
    pub window: Range<usize>,
}

/// Groups the mask runs into windows of at most `context` tokens, as few as will do, in text
/// order. Groups are formed from the end; a run of masks that leads into the pinned ending
/// reaches to the ending's end, so its window holds the ending whole. Each window is filled after the ones before it, so it may reach back over
/// their (by then written) tokens, but never forward into masks of a later window: those are
/// filled with a window of their own.
pub(super) fn group(tokens: &Tokens, context: usize) -> Result<Vec<Group>> {
    let masks = &tokens.masks;
    let mut spans: Vec<(Range<usize>, Range<usize>)> = Vec::new(); // (mask runs, positions needed)
    let reach = |run: usize| match tokens.lead_in {
        Some((r, end)) if r == run => end,
        _ => masks[run].end,
    };
    let mut hi = masks.len();
    let mut end = reach(hi - 1);
    while hi > 0 {
        let mut lo = hi - 1;
        let needed = end - masks[lo].start;
        if needed > context {
            return Err(Error::ContextOverflow { needed, limit: context });
        }
        while lo > 0 && end - masks[lo - 1].start <= context {
            lo -= 1;
        }
        spans.push((lo..hi, masks[lo].start..end));
        hi = lo;
        if hi > 0 {
            end = reach(hi - 1);
        }
    }
    spans.reverse();
    let limits: Vec<usize> = spans.iter().skip(1).map(|(_, needed)| needed.start).chain([tokens.ids.len()]).collect();
    Ok(spans
        .into_iter()
        .zip(limits)
        .map(|((runs, needed), limit)| {
            // The context left over is shared between both sides, the nearer text first.
            let spare = context - needed.len();
            let (before, after) = (needed.start, limit - needed.end);
            let take_before = before.min(spare.saturating_sub(after.min(spare / 2)));
            let take_after = after.min(spare - take_before);
            Group { masks: runs, window: needed.start - take_before..needed.end + take_after }
        })
        .collect())
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
