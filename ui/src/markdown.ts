// Writing in Markdown: headings, emphasis, lists and quotes styled as they read (CodeMirror's
// Markdown language with a highlight style), and formatting keys that do not take the Mark
// shortcut: Ctrl+B bold, Ctrl+E emphasis (Ctrl+I marks a phrase for Dream).
import { EditorSelection, type Extension } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { markdown } from "@codemirror/lang-markdown";
import { tags as t } from "@lezer/highlight";

const proseStyle = HighlightStyle.define([
  { tag: t.heading1, fontSize: "1.6em", fontWeight: "700" },
  { tag: t.heading2, fontSize: "1.35em", fontWeight: "700" },
  { tag: [t.heading3, t.heading4, t.heading5, t.heading6], fontSize: "1.15em", fontWeight: "700" },
  { tag: t.strong, fontWeight: "700" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.strikethrough, textDecoration: "line-through" },
  { tag: t.quote, color: "var(--muted)", fontStyle: "italic" },
  { tag: t.link, color: "var(--accent)", textDecoration: "underline" },
  { tag: t.monospace, fontFamily: "ui-monospace, monospace", fontSize: "0.9em" },
  // The Markdown marks themselves (#, *, >, list bullets) recede.
  { tag: [t.processingInstruction, t.meta, t.list], color: "var(--muted)" },
]);

/** Wraps the selection in `marker` (or removes it when already wrapped). */
function wrap(marker: string) {
  return (view: EditorView) => {
    view.dispatch(
      view.state.changeByRange((range) => {
        const before = view.state.sliceDoc(range.from - marker.length, range.from);
        const after = view.state.sliceDoc(range.to, range.to + marker.length);
        if (before === marker && after === marker) {
          return {
            changes: [
              { from: range.from - marker.length, to: range.from },
              { from: range.to, to: range.to + marker.length },
            ],
            range: EditorSelection.range(range.from - marker.length, range.to - marker.length),
          };
        }
        return {
          changes: [
            { from: range.from, insert: marker },
            { from: range.to, insert: marker },
          ],
          range: EditorSelection.range(range.from + marker.length, range.to + marker.length),
        };
      }),
    );
    return true;
  };
}

export function prose(): Extension {
  return [
    markdown(),
    syntaxHighlighting(proseStyle),
    // The platform's spellchecker, as in any text field.
    EditorView.contentAttributes.of({ spellcheck: "true", autocorrect: "on", autocapitalize: "sentences" }),
    keymap.of([
      { key: "Mod-b", run: wrap("**") },
      { key: "Mod-e", run: wrap("*") },
    ]),
  ];
}
