// From the editor's marks and pinned ending to an engine request, and from the engine's result
// back to one set of document changes.
import type { ChangeSpec } from "@codemirror/state";
import type { FilledSpan, InfillRequest, SamplingSettings, Slot, Span } from "./ipc";
import type { MarkedSpan } from "./spans";
import { toCharOffset } from "./offsets";

/** A sentence the generated passage must lead into, written after a gap at `at`. */
export interface PinnedEnding {
  text: string;
  /** UTF-16 offset of the gap in the document. */
  at: number;
  /** Tokens Dream writes in the gap. */
  gapTokens: number;
}

/** One place Dream writes: a marked range (replaced), a hole, or the gap before the ending. */
export interface Target {
  /** Index of the span in the request (and in the engine's events). */
  index: number;
  /** UTF-16 range in the document; `from == to` inserts. */
  from: number;
  to: number;
  tokens: number;
  /** The pinned ending shown and inserted right after this target. */
  pinned?: string;
}

export interface Planned {
  request: InfillRequest;
  targets: Target[];
}

/**
 * The request for `doc` with `marks` and an optional pinned `ending`. The ending is written into
 * the request's text right after its gap, so the model sees it as the text the gap leads into.
 */
export function planRequest(
  doc: string,
  marks: MarkedSpan[],
  ending: PinnedEnding | null,
  settings: SamplingSettings,
  candidates = 1,
): Planned {
  const pinned = ending && ending.text.length > 0 ? ending : null;
  const text = pinned ? doc.slice(0, pinned.at) + pinned.text + doc.slice(pinned.at) : doc;
  // A document offset in the request's text: the ending shifts everything after the gap.
  const shift = (pos: number, atGapEnd: boolean) => (pinned && (pos > pinned.at || (pos === pinned.at && atGapEnd)) ? pos + pinned.text.length : pos);
  const targets: Target[] = marks.map((m, index) => ({ index, from: m.from, to: m.to, tokens: m.tokens }));
  const spans: Span[] = marks.map((m) => {
    const inside = pinned !== null && m.from < pinned.at && pinned.at < m.to;
    if (inside) throw new Error("The pinned ending's gap is inside a marked span: move the cursor out of it.");
    const start = shift(m.from, true);
    const end = shift(m.to, true);
    return { start: toCharOffset(text, start), end: toCharOffset(text, end), tokens: m.tokens };
  });
  if (pinned) {
    const at = toCharOffset(text, pinned.at);
    spans.push({ start: at, end: at, tokens: pinned.gapTokens });
    targets.push({ index: targets.length, from: pinned.at, to: pinned.at, tokens: pinned.gapTokens, pinned: pinned.text });
  }
  return { request: { text, spans, continuation: 0, ending: null, settings, candidates }, targets };
}

/** The changes that write the result into the document: one transaction, one undo step. */
export function acceptChanges(targets: Target[], filled: FilledSpan[]): ChangeSpec[] {
  return targets.map((t) => {
    const span = filled.find((f) => f.span === t.index);
    const text = (span?.text ?? "") + (t.pinned ?? "");
    return { from: t.from, to: t.to, insert: text };
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
 * After accepting, the UTF-16 ranges (in the new document) of the runs of slots that `pick`
 * chooses, with their token counts: the marks for writing just those again.
 */
export function remaskRuns(
  targets: Target[],
  filled: FilledSpan[],
  pick: (target: number, slot: number, s: Slot) => boolean,
): { from: number; to: number; tokens: number }[] {
  const runs: { from: number; to: number; tokens: number }[] = [];
  let delta = 0; // how far earlier accepted targets moved this one
  for (const t of [...targets].sort((a, b) => a.from - b.from)) {
    const span = filled.find((f) => f.span === t.index);
    let pos = t.from + delta;
    let open: { from: number; to: number; tokens: number } | null = null;
    for (const [i, slot] of (span?.slots ?? []).entries()) {
      const low = pick(t.index, i, slot);
      const end = pos + slot.text.length;
      if (low) {
        if (open) {
          open.to = end;
          open.tokens++;
        } else open = { from: pos, to: end, tokens: 1 };
      } else if (open && slot.text.length > 0) {
        runs.push(open);
        open = null;
      }
      pos = end;
    }
    if (open) runs.push(open);
    delta += (span?.text.length ?? 0) + (t.pinned?.length ?? 0) - (t.to - t.from);
  }
  return runs.filter((r) => r.to > r.from);
}

function isLow(slot: Slot, alg: SamplingSettings["alg"], threshold: number): boolean {
  const c = displayConfidence(slot.confidence, alg);
  return c !== null && c < threshold;
}
