// From the editor's marks and pinned ending to an engine request, and from the engine's result
// back to one set of document changes. Plain data in, plain data out: the editor's fields
// (spans, ending, live) build on these types, and nothing here depends on them.
import type { ChangeSpec } from "@codemirror/state";
import type { FilledSpan, InfillRequest, SamplingSettings, Slot, Span } from "./ipc";
import { toCharOffset } from "./offsets";

/** A marked range the writer asked Dream to write (a hole when `from == to`). */
export interface MarkedSpan {
  id: number;
  /** UTF-16 offsets; `from == to` is a hole that inserts text. */
  from: number;
  to: number;
  /** Masked tokens Dream generates for it. */
  tokens: number;
  /** What to write there ("darker"), for a model that follows instructions. */
  instruction?: string;
}

/** The pinned ending: a sentence at a point of the document, after a gap Dream writes. */
export interface Pinned {
  /** UTF-16 offset where the gap (and then the sentence) goes. */
  at: number;
  text: string;
  /** Tokens Dream writes in the gap. */
  gap: number;
}

/** One place Dream writes: a marked range (replaced), a hole, or the gap before the ending. */
export interface Target {
  /** Index of the span in the request (and in the engine's events). */
  index: number;
  /** UTF-16 range in the document; `from == to` inserts. */
  from: number;
  to: number;
  tokens: number;
  /** The pinned ending shown right after this target (the engine says how it is written). */
  pinned?: string;
  /** The text a marked phrase had, shown in review beside what replaces it. */
  original?: string;
}

export interface Planned {
  request: InfillRequest;
  targets: Target[];
  /** Marks whose instruction is kept but not sent: the model cannot follow instructions. */
  unfollowed: number;
}

/**
 * The request for `doc` with `marks` and an optional pinned `ending`: the engine places the
 * ending and its gap (the gap is the span after the marks), and refuses an ending inside a mark
 * or on a hole in plain words. A model that cannot follow instructions (`instructable` false: a
 * Base model) gets none; the marks keep theirs for a model that can.
 */
export function planRequest(doc: string, marks: MarkedSpan[], ending: Pinned | null, settings: SamplingSettings, candidates = 1, instructable = true): Planned {
  // A blank ending is no ending (the engine agrees): no gap is written for it.
  const pinned = ending && ending.text.trim().length > 0 ? ending : null;
  const targets: Target[] = marks.map((m, index) => ({
    index,
    from: m.from,
    to: m.to,
    tokens: m.tokens,
    ...(m.to > m.from ? { original: doc.slice(m.from, m.to).trim() } : {}),
  }));
  const spans: Span[] = marks.map((m) => ({
    start: toCharOffset(doc, m.from),
    end: toCharOffset(doc, m.to),
    tokens: m.tokens,
    instruction: (instructable && m.instruction?.trim()) || null,
  }));
  const unfollowed = instructable ? 0 : marks.filter((m) => m.instruction?.trim()).length;
  if (pinned) {
    targets.push({ index: targets.length, from: pinned.at, to: pinned.at, tokens: pinned.gap, pinned: pinned.text.trim() });
  }
  const request: InfillRequest = {
    text: doc,
    spans,
    continuation: 0,
    ending: pinned ? { text: pinned.text, at: toCharOffset(doc, pinned.at), gap: pinned.gap } : null,
    settings,
    candidates,
  };
  return { request, targets, unfollowed };
}

/**
 * What a target is written with: the engine's edit, its fill and the pinned ending it leads into,
 * both already joined to the text around them.
 */
export function targetText(t: Target, filled: FilledSpan[]): { fill: string; ending: string } {
  const span = filled.find((f) => f.span === t.index);
  return { fill: span?.text ?? "", ending: span?.leads_into ?? "" };
}

/** The changes that write the result into `doc`: one transaction, one undo step. */
export function acceptChanges(targets: Target[], filled: FilledSpan[]): ChangeSpec[] {
  return targets.map((t) => {
    const { fill, ending } = targetText(t, filled);
    return { from: t.from, to: t.to, insert: fill + ending };
  });
}

/** Where each fill lands in the document after `acceptChanges` (its pinned ending, the
 * writer's, not included): the model-written ranges of the accept, credited to `by`. */
export function acceptedRanges(targets: Target[], filled: FilledSpan[], by: string): { from: number; to: number; by: string }[] {
  return placed(targets, filled)
    .filter((p) => p.fill.length > 0)
    .map((p) => ({ from: p.start, to: p.start + p.fill.length, by }));
}

/** Where the last of Dream's words (its pinned ending included) ends after `acceptChanges`:
 * the caret goes there. */
export function acceptedEnd(targets: Target[], filled: FilledSpan[]): number {
  return Math.max(...placed(targets, filled).map((p) => p.start + p.fill.length + p.ending.length));
}

/** Each target in document order with what it is written with (`targetText`) and where its
 * fill starts in the document after `acceptChanges` (earlier targets move it). */
function placed(targets: Target[], filled: FilledSpan[]) {
  let delta = 0;
  return [...targets]
    .sort((a, b) => a.from - b.from)
    .map((t) => {
      const text = targetText(t, filled);
      const start = t.from + delta;
      delta += text.fill.length + text.ending.length - (t.to - t.from);
      return { t, start, ...text };
    });
}

/**
 * A confidence in [0, 1] for display, whatever the algorithm ranked by: probabilities and
 * margins are already there; negative entropy becomes exp(-entropy).
 */
export function displayConfidence(confidence: number | null, alg: SamplingSettings["alg"]): number | null {
  if (confidence === null) return null;
  const c = alg === "entropy" ? Math.exp(confidence) : confidence;
  return Math.max(0, Math.min(1, c));
}

/** The runs of slots whose confidence is below `threshold`: what "re-mask below X%" marks. */
export function lowConfidenceRuns(targets: Target[], filled: FilledSpan[], alg: SamplingSettings["alg"], threshold: number) {
  return remaskRuns(targets, filled, (_t, _i, slot) => isLow(slot, alg, threshold));
}

/**
 * After accepting, the UTF-16 ranges (in the new document) of the runs of slots that
 * `pick` chooses, with their token counts: the marks for writing just those again. A fill that
 * came out empty is a hole at its place when any of its slots is picked.
 */
export function remaskRuns(
  targets: Target[],
  filled: FilledSpan[],
  pick: (target: number, slot: number, s: Slot) => boolean,
): { from: number; to: number; tokens: number }[] {
  const runs: { from: number; to: number; tokens: number }[] = [];
  for (const { t, start, fill } of placed(targets, filled)) {
    const slots = filled.find((f) => f.span === t.index)?.slots ?? [];
    if (fill.length === 0) {
      if (slots.some((s, i) => pick(t.index, i, s))) runs.push({ from: start, to: start, tokens: t.tokens });
    } else {
      // The slots' texts are the fill, joined: one after another from its start.
      let pos = start;
      let open: { from: number; to: number; tokens: number } | null = null;
      for (const [i, slot] of slots.entries()) {
        const end = pos + slot.text.length;
        if (pick(t.index, i, slot)) {
          if (open) {
            open.to = end;
            open.tokens++;
          } else open = { from: pos, to: end, tokens: 1 };
        } else if (open && slot.text.length > 0) {
          if (open.to > open.from) runs.push(open);
          open = null;
        }
        pos = end;
      }
      if (open && open.to > open.from) runs.push(open);
    }
  }
  return runs;
}

function isLow(slot: Slot, alg: SamplingSettings["alg"], threshold: number): boolean {
  const c = displayConfidence(slot.confidence, alg);
  return c !== null && c < threshold;
}
