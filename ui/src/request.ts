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
}

/**
 * The request for `doc` with `marks` and an optional pinned `ending`: the engine places the
 * ending and its gap (the gap is the span after the marks), and refuses an ending inside a mark
 * or on a hole in plain words.
 */
export function planRequest(doc: string, marks: MarkedSpan[], ending: Pinned | null, settings: SamplingSettings, candidates = 1): Planned {
  // A blank ending is no ending (the engine agrees): no gap is written for it.
  const pinned = ending && ending.text.trim().length > 0 ? ending : null;
  const targets: Target[] = marks.map((m, index) => ({
    index,
    from: m.from,
    to: m.to,
    tokens: m.tokens,
    ...(m.to > m.from ? { original: doc.slice(m.from, m.to).trim() } : {}),
  }));
  const spans: Span[] = marks.map((m) => ({ start: toCharOffset(doc, m.from), end: toCharOffset(doc, m.to), tokens: m.tokens }));
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
  return { request, targets };
}

/**
 * What a target is written with in `doc`: its fill joined to the text on both sides, then the
 * pinned ending if it leads into one, as the engine wrote it after the fill (joined the same
 * way: its leading space goes where the fill already ends with white space). `lead` counts the
 * fill's characters the join dropped at its start.
 */
export function targetText(t: Target, filled: FilledSpan[], doc: string): { fill: string; ending: string; lead: number } {
  const span = filled.find((f) => f.span === t.index);
  const raw = span?.text ?? "";
  const pinned = span?.leads_into ?? null;
  const before = doc.slice(Math.max(0, t.from - 1), t.from);
  const after = doc.slice(t.to, t.to + 1);
  const cut = joinCuts(before, raw, pinned ?? after);
  const fill = raw.slice(cut.lead, raw.length - cut.trail);
  const ending = pinned ? pinned.slice(joinCuts(before + fill, pinned, after).lead) : "";
  return { fill, ending, lead: cut.lead };
}

/** The changes that write the result into `doc`: one transaction, one undo step. */
export function acceptChanges(doc: string, targets: Target[], filled: FilledSpan[]): ChangeSpec[] {
  return targets.map((t) => {
    const { fill, ending } = targetText(t, filled, doc);
    return { from: t.from, to: t.to, insert: fill + ending };
  });
}

/** Where each fill lands in the document after `acceptChanges` (its pinned ending, the
 * writer's, not included): the model-written ranges of the accept. */
export function acceptedRanges(doc: string, targets: Target[], filled: FilledSpan[]): { from: number; to: number }[] {
  return placed(doc, targets, filled)
    .filter((p) => p.fill.length > 0)
    .map((p) => ({ from: p.start, to: p.start + p.fill.length }));
}

/** Each target in document order with what it is written with (`targetText`) and where its
 * fill starts in the document after `acceptChanges` (earlier targets move it). */
function placed(doc: string, targets: Target[], filled: FilledSpan[]) {
  let delta = 0;
  return [...targets]
    .sort((a, b) => a.from - b.from)
    .map((t) => {
      const text = targetText(t, filled, doc);
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
export function lowConfidenceRuns(doc: string, targets: Target[], filled: FilledSpan[], alg: SamplingSettings["alg"], threshold: number) {
  return remaskRuns(doc, targets, filled, (_t, _i, slot) => isLow(slot, alg, threshold));
}

/**
 * After accepting into `doc`, the UTF-16 ranges (in the new document) of the runs of slots that
 * `pick` chooses, with their token counts: the marks for writing just those again. A fill that
 * came out empty is a hole at its place when any of its slots is picked.
 */
export function remaskRuns(
  doc: string,
  targets: Target[],
  filled: FilledSpan[],
  pick: (target: number, slot: number, s: Slot) => boolean,
): { from: number; to: number; tokens: number }[] {
  const runs: { from: number; to: number; tokens: number }[] = [];
  for (const { t, start, fill, lead } of placed(doc, targets, filled)) {
    const slots = filled.find((f) => f.span === t.index)?.slots ?? [];
    if (fill.length === 0) {
      if (slots.some((s, i) => pick(t.index, i, s))) runs.push({ from: start, to: start, tokens: t.tokens });
    } else {
      // White space dropped at the joins: slots start `lead` characters early, and none
      // reaches past the fill.
      let pos = start - lead;
      const last = start + fill.length;
      let open: { from: number; to: number; tokens: number } | null = null;
      for (const [i, slot] of slots.entries()) {
        const end = Math.min(last, pos + slot.text.length);
        if (pick(t.index, i, slot)) {
          if (open) {
            open.to = end;
            open.tokens++;
          } else open = { from: Math.max(start, pos), to: end, tokens: 1 };
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

/**
 * How many characters of `fill` its joins drop: its leading white space where the text before
 * already ends with white space (one space at most), and its trailing spaces where the text
 * after starts with white space or closing punctuation. The same rules hold at every join of
 * every span, and for a pinned ending after its gap.
 */
export function joinCuts(before: string, fill: string, after: string): { lead: number; trail: number } {
  const lead = /\s$/.test(before) ? fill.length - fill.replace(/^\s+/, "").length : 0;
  const rest = fill.slice(lead);
  const trail = /^[\s.,;:!?)\]»”’]/.test(after) ? rest.length - rest.replace(/[ \t]+$/, "").length : 0;
  return { lead, trail };
}
