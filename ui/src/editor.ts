// The editor itself: a calm writing page (theme, placeholder, spelling, history, search) and
// the extensions that hold the marks, the pinned ending, authorship and the live run.
import { type Extension } from "@codemirror/state";
import { EditorView, keymap, placeholder, type ViewUpdate } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { search, searchKeymap } from "@codemirror/search";
import { prose } from "./markdown";
import { spans } from "./spans";
import { ending } from "./ending";
import { authorship } from "./authorship";
import { liveField } from "./live";

/** What the page does for the editor: mark the selection (Ctrl+I), and follow every update. */
export interface EditorHooks {
  mark(): void;
  update(u: ViewUpdate): void;
}

/** A calm page: a serif at reading size, a measured column, the app's colours. */
const writingTheme = EditorView.theme({
  "&": { height: "100%", color: "var(--fg)", backgroundColor: "var(--bg)" },
  ".cm-scroller": { fontFamily: 'Charter, "Iowan Old Style", Georgia, serif', fontSize: "18px", lineHeight: "1.7" },
  ".cm-content": { maxWidth: "44em", margin: "0 auto", padding: "40px 24px 30vh", caretColor: "var(--accent)" },
  "&.cm-focused": { outline: "none" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground": { backgroundColor: "var(--mark)" },
});

export function editorExtensions(hooks: EditorHooks): Extension[] {
  return [
    writingTheme,
    placeholder(
      "Write here. Select a phrase and press Ctrl+I for Dream to rewrite it, or press Ctrl+I with nothing selected to leave a hole for Dream to fill.",
    ),
    history(),
    prose(),
    // No highlightSelectionMatches: other occurrences of a marked phrase would look like marks.
    search({ top: true }),
    EditorView.lineWrapping,
    // The platform's spelling underlines (CodeMirror turns them off by default).
    EditorView.contentAttributes.of({ spellcheck: "true", autocorrect: "on", autocapitalize: "sentences" }),
    spans(),
    ending(),
    authorship(),
    liveField,
    // Read-only during a run, yet the editor keeps focus (a read-only contenteditable cannot
    // take it otherwise), so the writer's keys and caret stay on the page.
    EditorView.contentAttributes.from(liveField, (run): Record<string, string> => (run ? { tabindex: "0" } : {})),
    keymap.of([{ key: "Mod-i", run: () => (hooks.mark(), true) }, ...searchKeymap, ...defaultKeymap, ...historyKeymap]),
    EditorView.updateListener.of((u) => hooks.update(u)),
  ];
}
