// Which words the model wrote: ranges of the document, kept through every edit, undo and redo,
// saved beside the document (the backend's `<file>.authorship.json`), each naming the model that
// wrote it. An accepted fill is the model's; a word the writer then edits, even by one letter,
// is the writer's.
import { StateEffect, StateField, type EditorState, type Extension, type Transaction } from "@codemirror/state";
import { Decoration, EditorView, type DecorationSet } from "@codemirror/view";
import { invertedEffects } from "@codemirror/commands";

/** A model-written range, in UTF-16 offsets, and the model that wrote it. */
export interface Authored {
  from: number;
  to: number;
  by: string;
}

/** The mark of one model's words (one decoration per model, so that ranges keep theirs). */
const marks = new Map<string, Decoration>();
const modelWritten = (by: string) => {
  let mark = marks.get(by);
  if (!mark) marks.set(by, (mark = Decoration.mark({ class: "cm-authored", attributes: { title: `Written by ${by}` }, by })));
  return mark;
};

const setOf = (ranges: readonly Authored[]): DecorationSet =>
  Decoration.set(
    ranges.filter((r) => r.to > r.from).map((r) => modelWritten(r.by).range(r.from, r.to)),
    true,
  );

/** Replaces every range (opening a document, reloading it, undo and redo). */
export const setAuthored = StateEffect.define<DecorationSet>({ map: (set, changes) => set.map(changes) });
/** Ranges of the document after this transaction that the model just wrote (an accepted fill). */
export const addAuthored = StateEffect.define<readonly Authored[]>();

export const authoredField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(set, tr) {
    let out = set.map(tr.changes);
    if (tr.docChanged && !tr.isUserEvent("input.dream")) out = writersEdits(out, tr);
    for (const e of tr.effects) {
      if (e.is(setAuthored)) out = e.value;
      else if (e.is(addAuthored)) out = setOf(merge([...authored(out), ...e.value]));
    }
    return out;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/** Every word an edit touches becomes the writer's: the words around each change are taken
 * out of the model's ranges. */
function writersEdits(set: DecorationSet, tr: Transaction): DecorationSet {
  const doc = tr.state.doc;
  const touched: { from: number; to: number }[] = [];
  tr.changes.iterChangedRanges((_fromA, _toA, fromB, toB) => {
    let [from, to] = [fromB, toB];
    while (from > 0 && /\S/.test(doc.sliceString(from - 1, from))) from--;
    while (to < doc.length && /\S/.test(doc.sliceString(to, to + 1))) to++;
    touched.push({ from, to });
  });
  const kept: Authored[] = [];
  for (const r of authored(set)) {
    let pieces = [r];
    for (const t of touched)
      pieces = pieces.flatMap((p) =>
        t.to <= p.from || t.from >= p.to
          ? [p]
          : [
              { ...p, to: t.from },
              { ...p, from: t.to },
            ],
      );
    kept.push(...pieces.filter((p) => p.to > p.from));
  }
  return setOf(kept);
}

/** Sorted ranges with touching or overlapping ones of the same model joined (an accept
 * replaces the text it writes over, so two models' ranges never overlap). */
function merge(ranges: Authored[]): Authored[] {
  const out: Authored[] = [];
  for (const r of [...ranges].sort((a, b) => a.from - b.from)) {
    const last = out.at(-1);
    if (last && r.from <= last.to && r.by === last.by) last.to = Math.max(last.to, r.to);
    else if (r.to > r.from) out.push({ ...r });
  }
  return out;
}

function authored(set: DecorationSet): Authored[] {
  const out: Authored[] = [];
  for (let it = set.iter(); it.value; it.next()) out.push({ from: it.from, to: it.to, by: it.value.spec.by as string });
  return merge(out);
}

/** Undo and redo bring back the authorship the text had. */
const undoableAuthorship = invertedEffects.of((tr) =>
  tr.startState.field(authoredField, false) !== tr.state.field(authoredField, false) ? [setAuthored.of(tr.startState.field(authoredField))] : [],
);

export function authorship(): Extension {
  return [authoredField, undoableAuthorship];
}

/** The model-written ranges of `state`, sorted and apart (what is saved). */
export function authoredRanges(state: EditorState): Authored[] {
  return authored(state.field(authoredField, false) ?? Decoration.none);
}

/** The effect that sets the model-written ranges to `ranges` (of the document it goes with). */
export const restoreAuthored = (ranges: readonly Authored[]) => setAuthored.of(setOf(merge([...ranges])));

/** How much of the document the model wrote, 0..1 (white space not counted). */
export function modelShare(state: EditorState): number {
  const text = (from: number, to: number) => state.doc.sliceString(from, to).replace(/\s/g, "").length;
  const total = text(0, state.doc.length);
  return total === 0 ? 0 : authoredRanges(state).reduce((n, r) => n + text(r.from, r.to), 0) / total;
}
