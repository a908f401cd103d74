// The instruction field: what Dream is asked to write in the mark at the cursor ("darker",
// "describe the smell of the sea", or a preset). It edits that mark's instruction, which is
// saved with the marks; a model without a chat template (a Base model) cannot follow one, and
// the field says so.
import { Transaction } from "@codemirror/state";
import type { EditorView } from "@codemirror/view";
import { $ } from "./dom";
import { markAt, setSpanInstruction } from "./spans";

const NO_TEMPLATE = "This model has no chat template (a Base model), so it cannot follow instructions: load an Instruct model to give one.";
const KEPT = "This model has no chat template (a Base model), so it writes this mark without its instruction; the instruction is kept for an Instruct model.";
const NO_MARK = "Put the cursor in a mark (Ctrl+I) to tell Dream what to write there.";
const READY = "What Dream should write in the mark at the cursor: type it, or pick Rewrite, Describe, Expand or Shorten.";

/** Wires the field to `view`; `instructable` says whether the loaded model follows instructions. */
export function setupInstruction(view: EditorView, instructable: () => boolean): { show: () => void } {
  const field = $<HTMLInputElement>("instruction");
  const show = () => {
    const mark = markAt(view.state, view.state.selection.main.head);
    const why = !instructable() ? (mark?.instruction?.trim() ? KEPT : NO_TEMPLATE) : mark ? READY : NO_MARK;
    field.disabled = !instructable() || !mark;
    field.title = why;
    field.placeholder = field.disabled ? "Instruction…" : "Instruction for this mark…";
    if (document.activeElement !== field) field.value = mark?.instruction ?? "";
  };
  field.addEventListener("input", () => {
    const mark = markAt(view.state, view.state.selection.main.head);
    // Typing an instruction is not a step of the document's undo history.
    if (mark) view.dispatch({ effects: setSpanInstruction.of({ id: mark.id, instruction: field.value }), annotations: Transaction.addToHistory.of(false) });
  });
  field.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      view.focus();
    }
  });
  return { show };
}

/** What the writer is told when `n` marks' instructions are not sent (a Base model); "" for none. */
export function unfollowedNote(n: number): string {
  if (n === 0) return "";
  const marks = n === 1 ? "1 mark" : `${n} marks`;
  return `Written without the instructions on ${marks}: this model has no chat template (a Base model); they are kept for an Instruct model.`;
}
