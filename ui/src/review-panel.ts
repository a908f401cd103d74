// The review under a finished run: a button per version when there are several, what each
// rewrite changes word by word, and Tab from one place Dream wrote to the next.
import { type EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { liveField, shownSpans, reviewRun, type LiveRun } from "./live";
import { targetText } from "./request";
import { wordDiff } from "./diff";
import { $ } from "./dom";
import type { Written } from "./ipc";

/** The run in review, with its result. */
export function reviewed(state: EditorState): (LiveRun & { result: Written }) | null {
  const r = state.field(liveField);
  return r?.phase === "review" && r.result ? { ...r, result: r.result } : null;
}

/** The review panel: a button per candidate when there are several, and what each rewrite
 * changes, word by word (not only on hover). */
export function showReview(view: EditorView) {
  showDiff(view);
  const box = $("candidate-switch");
  box.replaceChildren();
  const review = reviewed(view.state);
  const n = review?.result.candidates.length ?? 0;
  box.hidden = n < 2;
  for (let i = 0; review && i < n; i++) {
    const b = document.createElement("button");
    b.textContent = `Version ${i + 1}`;
    b.dataset.candidate = String(i);
    b.className = i === review.shown ? "primary" : "";
    b.title = `Show version ${i + 1} of ${n} (seed ${review.planned.request.settings.seed + i})`;
    b.setAttribute("aria-pressed", String(i === review.shown));
    b.addEventListener("click", () => {
      view.dispatch({ effects: reviewRun.of({ result: review.result, shown: i }) });
      showReview(view);
    });
    box.append(b);
  }
}

/** Each rewrite in review as a word diff: the words it removes struck out, the ones it adds
 * marked, the ones it keeps as they are. */
function showDiff(view: EditorView) {
  const box = $("review-diff");
  box.replaceChildren();
  const review = reviewed(view.state);
  const filled = review ? shownSpans(review) : [];
  for (const t of review?.planned.targets ?? []) {
    if (t.original === undefined) continue;
    const line = document.createElement("div");
    for (const part of wordDiff(t.original, targetText(t, filled).fill)) {
      const el = document.createElement(part.kind === "removed" ? "del" : part.kind === "added" ? "ins" : "span");
      el.textContent = part.text;
      line.append(el, " ");
    }
    box.append(line);
  }
  box.hidden = box.childElementCount === 0;
}

/** Moves the cursor to the next (or previous) filled span in review, and scrolls to it. */
export function focusTarget(view: EditorView, direction: 1 | -1) {
  const live = view.state.field(liveField);
  if (!live) return;
  const places = live.planned.targets.map((t) => t.from).sort((a, b) => a - b);
  const head = view.state.selection.main.head;
  const next = direction > 0 ? (places.find((p) => p > head) ?? places[0]) : ([...places].reverse().find((p) => p < head) ?? places[places.length - 1]);
  view.dispatch({ selection: { anchor: next }, effects: EditorView.scrollIntoView(next, { y: "center" }) });
  const el = view.dom.querySelector(`.cm-live[data-target="${live.planned.targets.find((t) => t.from === next)?.index}"]`);
  (el as HTMLElement | null)?.classList.add("cm-live-focus");
  setTimeout(() => (el as HTMLElement | null)?.classList.remove("cm-live-focus"), 600);
}
