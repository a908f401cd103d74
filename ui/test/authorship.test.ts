import { EditorState } from "@codemirror/state";
import { history, isolateHistory, redo, undo } from "@codemirror/commands";
import { describe, expect, it } from "vitest";
import { addAuthored, authoredRanges, authorship, modelShare, restoreAuthored } from "../src/authorship";

const start = (doc: string) => EditorState.create({ doc, extensions: [history(), authorship()] });
/** Runs a history command on a bare state. */
const run = (s: EditorState, cmd: typeof undo) => {
  let out = s;
  cmd({ state: s, dispatch: (tr) => (out = tr.state) });
  return out;
};
const words = (s: EditorState) => authoredRanges(s).map((r) => s.sliceDoc(r.from, r.to));
const [DEMO, DREAM] = ["Built-in demo", "Dream-org/Dream-v0-Instruct-7B"];

describe("authorship", () => {
  it("marks an accepted fill as the model's, not the writer's text around it", () => {
    let s = start("It rained. Nobody came.");
    s = s.update({
      changes: { from: 10, insert: " The sky wept." },
      effects: addAuthored.of([{ from: 10, to: 24, by: DEMO }]),
      userEvent: "input.dream",
    }).state;
    expect(words(s)).toEqual([" The sky wept."]);
    expect(modelShare(s)).toBeCloseTo(11 / 31); // white space not counted
  });

  it("gives a word the writer edits to the writer, whole, and keeps the rest", () => {
    let s = start("It rained. The sky wept all night.");
    s = s.update({ effects: restoreAuthored([{ from: 10, to: 34, by: DEMO }]) }).state;
    // One letter typed inside "wept": "wept" becomes the writer's.
    s = s.update({ changes: { from: 21, insert: "x" }, userEvent: "input.type" }).state;
    expect(s.doc.toString()).toBe("It rained. The sky wexpt all night.");
    expect(words(s)).toEqual([" The sky ", " all night."]);
    // Typing at the edge of the model's words is the writer's too, and moves them along.
    s = s.update({ changes: { from: 0, insert: "So " }, userEvent: "input.type" }).state;
    expect(words(s)).toEqual([" The sky ", " all night."]);
  });

  it("comes back with undo and goes again with redo", () => {
    let s = start("A B");
    // An accept is its own undo step (as the app dispatches it), whatever is typed right after.
    const accept = { changes: { from: 1, insert: " x y" }, effects: addAuthored.of([{ from: 1, to: 5, by: DEMO }]), userEvent: "input.dream" };
    s = s.update({ ...accept, annotations: isolateHistory.of("full") }).state;
    s = s.update({ changes: { from: 4, to: 5, insert: "z" }, userEvent: "input.type" }).state; // the writer's "z" for "y"
    expect(s.doc.toString()).toBe("A x z B");
    expect(words(s)).toEqual([" x "]);
    s = run(s, undo);
    expect(words(s)).toEqual([" x y"]);
    s = run(s, undo);
    expect(s.doc.toString()).toBe("A B");
    expect(words(s)).toEqual([]);
    s = run(s, redo);
    expect(words(s)).toEqual([" x y"]);
    s = run(s, redo);
    expect(words(s)).toEqual([" x "]);
  });

  it("keeps which model wrote each range, through edits and beside another model's words", () => {
    let s = start("It rained.");
    s = s.update({ changes: { from: 10, insert: " The sky" }, effects: addAuthored.of([{ from: 10, to: 18, by: DEMO }]), userEvent: "input.dream" }).state;
    // Another model writes right after the first one's words: two ranges, not one.
    s = s.update({ changes: { from: 18, insert: " wept." }, effects: addAuthored.of([{ from: 18, to: 24, by: DREAM }]), userEvent: "input.dream" }).state;
    expect(authoredRanges(s)).toEqual([
      { from: 10, to: 18, by: DEMO },
      { from: 18, to: 24, by: DREAM },
    ]);
    // The writer types before them: both move along, each still its model's.
    s = s.update({ changes: { from: 0, insert: "So. " }, userEvent: "input.type" }).state;
    expect(authoredRanges(s).map((r) => [s.sliceDoc(r.from, r.to), r.by])).toEqual([
      [" The sky", DEMO],
      [" wept.", DREAM],
    ]);
  });
});
