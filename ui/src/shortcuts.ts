// The page's own keys, wherever focus is: Ctrl+Enter writes or accepts, Esc stops, rejects or
// closes a menu, Ctrl+Shift+E goes to the ending, Tab moves between the places in review;
// typing into the locked text says why nothing happens. Menus close on a click elsewhere.
import { type EditorState } from "@codemirror/state";
import { liveField } from "./live";
import { asking } from "./prompt";
import { $ } from "./dom";

/** What the keys act on. */
export interface ShortcutTarget {
  state(): EditorState;
  focus(): void;
  write(): void;
  accept(): void;
  stop(): void;
  reject(): void;
  /** To the next (1) or previous (-1) place Dream wrote, in review. */
  next(direction: 1 | -1): void;
  /** Says the text is locked. */
  locked(): void;
}

export function shortcuts(page: ShortcutTarget) {
  // Menus (File, Sampling) close when the writer clicks elsewhere.
  document.addEventListener("click", (e) => {
    for (const menu of document.querySelectorAll<HTMLDetailsElement>("details.menu[open]")) {
      if (!menu.contains(e.target as Node)) menu.open = false;
    }
  });

  // The run's shortcuts work wherever focus is: the editor is read-only during a run and its
  // review, so focus may be anywhere. Handled before the editor sees them.
  window.addEventListener(
    "keydown",
    (e) => {
      if (asking() || e.defaultPrevented) return;
      const live = page.state().field(liveField);
      const mod = e.ctrlKey || e.metaKey;
      let handled = true;
      if (mod && e.key === "Enter") {
        if (live?.phase === "review") page.accept();
        else if (!live) page.write();
      } else if (e.key === "Escape" && live) {
        if (live.phase === "running") page.stop();
        else page.reject();
      } else if (e.key === "Escape" && document.querySelector("details.menu[open]")) {
        for (const menu of document.querySelectorAll<HTMLDetailsElement>("details.menu[open]")) menu.open = false;
        page.focus();
      } else if (mod && e.shiftKey && e.key.toLowerCase() === "e" && !live) {
        // (Ctrl+E alone is emphasis.)
        $("ending").focus();
      } else if (e.key === "Tab" && live?.phase === "review") {
        page.next(e.shiftKey ? -1 : 1);
      } else if (live && !mod && !e.altKey && (e.key.length === 1 || e.key === "Backspace" || e.key === "Delete" || e.key === "Enter")) {
        // Typing into a locked text: say why nothing happens (unless typing in a field).
        const field = (e.target as HTMLElement).closest?.("input, select, textarea");
        if (field) return;
        page.locked();
      } else handled = false;
      if (handled) {
        e.preventDefault();
        e.stopPropagation();
      }
    },
    true,
  );
}
