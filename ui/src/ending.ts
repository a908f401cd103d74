// The pinned ending: a sentence placed at a point of the document that Dream writes towards,
// after a gap of `gap` tokens. It is part of the editor state (a StateField mapped through
// every edit, undone and redone with the text) and drawn in the document where it stands: a
// hole for the gap, then the sentence.
import { EditorState, StateEffect, StateField, type Extension } from "@codemirror/state";
import { Decoration, EditorView, WidgetType } from "@codemirror/view";
import { invertedEffects } from "@codemirror/commands";
import { liveField } from "./live";
import { badgeButton, clampTokens, marked, sizeControls, wordsHint } from "./spans";
import type { Pinned } from "./request";

export const setPinned = StateEffect.define<Pinned | null>({
  map: (p, ch) => (p ? { ...p, at: ch.mapPos(p.at, 1) } : p),
});

export const pinnedField = StateField.define<Pinned | null>({
  create: () => null,
  update(pinned, tr) {
    // Like a hole, the ending moves with the text after it: typing at its place writes before it.
    let out = pinned && tr.docChanged ? { ...pinned, at: tr.changes.mapPos(pinned.at, 1) } : pinned;
    for (const e of tr.effects) if (e.is(setPinned)) out = e.value ? { ...e.value, gap: clampTokens(e.value.gap) } : null;
    return out;
  },
});

/** Undo and redo bring the ending back, or take it away, with the text. */
const undoablePin = invertedEffects.of((tr) =>
  tr.effects.some((e) => e.is(setPinned)) ? [setPinned.of(tr.startState.field(pinnedField, false) ?? null)] : [],
);

class EndingWidget extends WidgetType {
  constructor(readonly pinned: Pinned) {
    super();
  }
  eq(other: EndingWidget): boolean {
    return other.pinned.text === this.pinned.text && other.pinned.gap === this.pinned.gap;
  }
  toDOM(view: EditorView): HTMLElement {
    const el = document.createElement("span");
    el.className = "cm-ending";
    const hole = document.createElement("span");
    hole.className = "cm-span-badge cm-hole cm-ending-gap";
    hole.title = `Dream writes about ${wordsHint(this.pinned.gap)} words (${this.pinned.gap} tokens) here, leading into the ending`;
    // The pin as it is when the button is pressed.
    const repin = (gap: number | null) => {
      const now = view.state.field(pinnedField);
      return setPinned.of(gap === null || !now ? null : { ...now, gap });
    };
    hole.append(...sizeControls(view, this.pinned.gap, { shorter: "Shorter gap", longer: "Longer gap" }, repin));
    const text = document.createElement("span");
    text.className = "cm-pinned";
    text.textContent = this.pinned.text;
    text.title = "The pinned ending: Dream writes towards it";
    el.append(
      hole,
      text,
      badgeButton(view, "×", "cm-ending-remove", "Unpin the ending", () => repin(null)),
    );
    return el;
  }
  ignoreEvent(): boolean {
    return true;
  }
}

/** Drawn except while a run is shown (the live view draws the gap and the ending then). */
const endingDecoration = EditorView.decorations.compute([pinnedField, liveField], (state) => {
  const p = state.field(pinnedField);
  if (!p || state.field(liveField)) return Decoration.none;
  return Decoration.set([Decoration.widget({ widget: new EndingWidget(p), side: 1 }).range(p.at)]);
});

export function ending(): Extension {
  return [pinnedField, undoablePin, endingDecoration];
}

export function pinned(state: EditorState): Pinned | null {
  return state.field(pinnedField, false) ?? null;
}

/**
 * Where an ending pinned at `pos` goes: not inside a marked phrase, in plain words if it would.
 * At a mark's edge it sits beside the mark (marking a phrase and then pinning at the caret is
 * the natural order).
 */
export function placeEnding(state: EditorState, pos: number): { at: number } | { problem: string } {
  const inside = marked(state).find((m) => m.from < pos && pos < m.to);
  if (inside) return { problem: "The ending would go inside a marked phrase: put the cursor before or after the mark, then pin it." };
  if (marked(state).some((m) => m.from === pos && m.to === pos)) {
    return { problem: "There is already a hole here: remove the hole or pin the ending elsewhere." };
  }
  return { at: pos };
}
