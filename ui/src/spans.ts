// Marked spans: ranges of the document (or holes at a point) that Dream will fill, kept as a
// StateField mapped through every edit and drawn as decorations with their length.
import { EditorState, StateEffect, StateField, type ChangeDesc, type Extension, type Range } from "@codemirror/state";
import { Decoration, EditorView, WidgetType, type DecorationSet } from "@codemirror/view";
import { invertedEffects } from "@codemirror/commands";
import { liveField } from "./live";
import { SHARED } from "./bindings";
import type { MarkedSpan } from "./request";

export const addSpan = StateEffect.define<MarkedSpan>({ map: (s, ch) => mapSpan(s, ch) ?? s });
export const removeSpan = StateEffect.define<number>();
export const setSpanTokens = StateEffect.define<{ id: number; tokens: number }>();
export const setSpanInstruction = StateEffect.define<{ id: number; instruction: string }>();
export const clearSpans = StateEffect.define<null>();

let nextId = 1;

/** A new span for `from..to` (a hole when equal), with a fresh id. */
export function newSpan(from: number, to: number, tokens: number, instruction?: string | null): MarkedSpan {
  return { id: nextId++, from, to, tokens: clampTokens(tokens), ...(instruction ? { instruction } : {}) };
}

/** The mark the caret at `pos` is in or at (its first, for a caret between two). */
export function markAt(state: EditorState, pos: number): MarkedSpan | null {
  return state.field(spansField).find((s) => s.from <= pos && pos <= s.to) ?? null;
}

export function clampTokens(n: number): number {
  return Math.max(1, Math.min(SHARED.max_mark_tokens, Math.round(n)));
}

/**
 * Where a span lands after `changes`: text inserted at either edge stays outside it, edits
 * inside it resize it, and a marked range whose text is all deleted disappears (`null`).
 */
export function mapSpan(s: MarkedSpan, changes: ChangeDesc): MarkedSpan | null {
  if (s.from === s.to) {
    // A hole moves with the text after it: typing at the hole writes before it.
    const at = changes.mapPos(s.from, 1);
    return { ...s, from: at, to: at };
  }
  const from = changes.mapPos(s.from, 1);
  const to = changes.mapPos(s.to, -1);
  return to > from ? { ...s, from, to } : null;
}

/** Two marks share a position, or are the same hole. */
function overlaps(a: MarkedSpan, b: MarkedSpan): boolean {
  return (a.from < b.to && b.from < a.to) || (a.from === b.from && a.to === b.to);
}

export const spansField = StateField.define<MarkedSpan[]>({
  create: () => [],
  update(spans, tr) {
    // Unchanged (the same array) unless the text or a mark changed: a selection move costs nothing.
    const marking = (e: StateEffect<unknown>) => e.is(addSpan) || e.is(removeSpan) || e.is(setSpanTokens) || e.is(setSpanInstruction) || e.is(clearSpans);
    if (!tr.docChanged && !tr.effects.some(marking)) return spans;
    let out = tr.docChanged ? spans.map((s) => mapSpan(s, tr.changes)).filter((s): s is MarkedSpan => s !== null) : spans;
    let added = false;
    for (const e of tr.effects) {
      if (e.is(addSpan)) {
        if (!out.some((s) => s.id === e.value.id || overlaps(s, e.value))) {
          out = [...out, e.value];
          added = true;
        }
      } else if (e.is(removeSpan)) {
        out = out.filter((s) => s.id !== e.value);
      } else if (e.is(setSpanTokens)) {
        out = out.map((s) => (s.id === e.value.id ? { ...s, tokens: clampTokens(e.value.tokens) } : s));
      } else if (e.is(setSpanInstruction)) {
        out = out.map((s) => (s.id === e.value.id ? { ...s, instruction: e.value.instruction } : s));
      } else if (e.is(clearSpans)) {
        out = [];
      }
    }
    // Edits keep marks in order; only a new one needs placing.
    return added ? out.slice().sort((a, b) => a.from - b.from || a.to - b.to) : out;
  },
});

/** Marks are drawn except while a run is shown over them. */
const markDecorations = EditorView.decorations.compute([spansField, liveField], (state) =>
  state.field(liveField) ? Decoration.none : spanDecorations(state.field(spansField)),
);

/** Undo/redo restore marks: undoing a mark removes it, undoing a deletion brings back the marks it removed. */
const undoableMarks = invertedEffects.of((tr) => {
  const inverse: StateEffect<unknown>[] = [];
  const before = tr.startState.field(spansField, false) ?? [];
  for (const e of tr.effects) {
    if (e.is(addSpan)) inverse.push(removeSpan.of(e.value.id));
    else if (e.is(removeSpan)) {
      const s = before.find((x) => x.id === e.value);
      if (s) inverse.push(addSpan.of(s));
    } else if (e.is(setSpanTokens)) {
      const s = before.find((x) => x.id === e.value.id);
      if (s) inverse.push(setSpanTokens.of({ id: s.id, tokens: s.tokens }));
    } else if (e.is(clearSpans)) {
      before.forEach((s) => inverse.push(addSpan.of(s)));
    }
  }
  if (tr.docChanged) {
    const after = tr.state.field(spansField);
    for (const s of before) if (!after.some((a) => a.id === s.id)) inverse.push(addSpan.of(s));
  }
  return inverse;
});

/** Words are a hint: English averages about 0.75 words per token. */
export function wordsHint(tokens: number): number {
  return Math.max(1, Math.round(tokens * 0.75));
}

/** A badge's button: it acts on mousedown, so the editor keeps its selection and focus. */
export function badgeButton(view: EditorView, label: string, cls: string, title: string, act: () => StateEffect<unknown>): HTMLButtonElement {
  const b = document.createElement("button");
  b.textContent = label;
  b.className = cls;
  b.title = title;
  b.setAttribute("aria-label", title);
  b.addEventListener("mousedown", (ev) => {
    ev.preventDefault();
    view.dispatch({ effects: act() });
  });
  return b;
}

/** "− ~N words +" for a stretch of `tokens` that Dream writes (a mark, a hole, the gap before
 * the ending); `resize(n)` is the effect of giving it `n` tokens. */
export function sizeControls(
  view: EditorView,
  tokens: number,
  titles: { shorter: string; longer: string },
  resize: (tokens: number) => StateEffect<unknown>,
): HTMLElement[] {
  const words = wordsHint(tokens);
  const count = document.createElement("span");
  count.className = "cm-span-count";
  count.textContent = `~${words} ${words === 1 ? "word" : "words"}`;
  count.title = `${tokens} tokens`;
  const step = Math.max(1, Math.round(tokens / 4));
  return [
    badgeButton(view, "−", "cm-span-shorter", titles.shorter, () => resize(tokens - step)),
    count,
    badgeButton(view, "+", "cm-span-longer", titles.longer, () => resize(tokens + step)),
  ];
}

class SpanBadge extends WidgetType {
  constructor(readonly span: MarkedSpan) {
    super();
  }
  eq(other: SpanBadge): boolean {
    return (
      other.span.id === this.span.id &&
      other.span.tokens === this.span.tokens &&
      other.span.instruction === this.span.instruction &&
      (other.span.from === other.span.to) === (this.span.from === this.span.to)
    );
  }
  toDOM(view: EditorView): HTMLElement {
    const s = this.span;
    const el = document.createElement("span");
    el.className = s.from === s.to ? "cm-span-badge cm-hole" : "cm-span-badge";
    el.dataset.span = String(s.id);
    el.title = `Dream will write about ${wordsHint(s.tokens)} words here (${s.tokens} tokens)`;
    // The instruction, when the mark has one: what Dream is asked to write there.
    const told = s.instruction?.trim();
    const instruction = document.createElement("span");
    instruction.className = "cm-span-instruction";
    instruction.textContent = told ? `“${told}”` : "";
    instruction.hidden = !told;
    el.append(
      instruction,
      ...sizeControls(view, s.tokens, { shorter: "Shorter", longer: "Longer" }, (tokens) => setSpanTokens.of({ id: s.id, tokens })),
      badgeButton(view, "×", "cm-span-remove", "Remove this mark", () => removeSpan.of(s.id)),
    );
    return el;
  }
  ignoreEvent(): boolean {
    return true;
  }
}

function spanDecorations(spans: MarkedSpan[]): DecorationSet {
  const ranges: Range<Decoration>[] = [];
  for (const s of spans) {
    if (s.to > s.from) ranges.push(Decoration.mark({ class: "cm-span", attributes: { "data-span": String(s.id) } }).range(s.from, s.to));
    ranges.push(Decoration.widget({ widget: new SpanBadge(s), side: 1 }).range(s.to));
  }
  return Decoration.set(ranges, true);
}

/** Everything the marks need in an editor. */
export function spans(): Extension {
  return [spansField, markDecorations, undoableMarks];
}

/** The marks of `state`, in document order. */
export function marked(state: EditorState): MarkedSpan[] {
  return state.field(spansField);
}
