// Span bookkeeping, pinned endings, the steps slider and event-to-decoration mapping, on real
// CodeMirror states (no DOM needed).
import { describe, expect, it } from "vitest";
import { EditorState } from "@codemirror/state";
import { history, redo, undo } from "@codemirror/commands";
import { addSpan, clearSpans, markAt, marked, newSpan, removeSpan, setSpanInstruction, setSpanTokens, spans, spansField } from "../src/spans";
import { SHARED } from "../src/bindings";
import { endRun, liveField, pickKey, reviewRun, slotClasses, startRun, stepRun, togglePick } from "../src/live";
import { acceptChanges, displayConfidence, lowConfidenceRuns, planRequest, remaskRuns } from "../src/request";
import { clampSteps, stepsLabel } from "../src/steps";
import { toCharOffset } from "../src/offsets";
import { ending, pinned, placeEnding, setPinned } from "../src/ending";
import type { FilledSpan, Written, SamplingSettings, SpanView } from "../src/ipc";

const settings: SamplingSettings = {
  steps: 8,
  alg: "entropy",
  temperature: 0,
  top_p: null,
  top_k: null,
  alg_temp: null,
  eps: 1e-3,
  seed: 0,
  threshold: null,
  cache_refresh: null,
};

function editor(doc: string) {
  return EditorState.create({ doc, extensions: [history(), spans(), liveField] });
}

/** Runs a history command on a state and returns the new state. */
function command(state: EditorState, cmd: typeof undo): EditorState {
  let next = state;
  cmd({ state, dispatch: (tr) => (next = tr.state) });
  return next;
}

describe("marked spans follow the text", () => {
  it("stay the same value when a transaction changes neither the text nor a mark", () => {
    let s = editor("The storm broke at dawn.").update({ effects: addSpan.of(newSpan(4, 9, 3)) }).state;
    const before = s.field(spansField);
    s = s.update({ selection: { anchor: 2 } }).state;
    expect(s.field(spansField)).toBe(before);
  });

  const doc = "The storm broke at dawn.";
  const storm = () => newSpan(4, 9, 3); // "storm"

  it("shift with edits before them and stay put for edits after", () => {
    let s = editor(doc);
    s = s.update({ effects: addSpan.of(storm()) }).state;
    s = s.update({ changes: { from: 0, insert: "Oh. " } }).state;
    expect(marked(s).map((m) => s.sliceDoc(m.from, m.to))).toEqual(["storm"]);
    s = s.update({ changes: { from: s.doc.length, insert: " Then quiet." } }).state;
    expect(marked(s)[0]).toMatchObject({ from: 8, to: 13, tokens: 3 });
  });

  it("grow and shrink with edits inside, and keep typing at their edges outside", () => {
    let s = editor(doc).update({ effects: addSpan.of(storm()) }).state;
    s = s.update({ changes: { from: 6, insert: "ooo" } }).state; // inside
    expect(s.sliceDoc(marked(s)[0].from, marked(s)[0].to)).toBe("stoooorm");
    s = s.update({ changes: { from: marked(s)[0].to, insert: "!" } }).state; // at the end: outside
    s = s.update({ changes: { from: marked(s)[0].from, insert: "«" } }).state; // at the start: outside
    expect(s.sliceDoc(marked(s)[0].from, marked(s)[0].to)).toBe("stoooorm");
    expect(s.doc.toString()).toBe("The «stoooorm! broke at dawn.");
  });

  it("disappear when their text is deleted, and come back on undo", () => {
    let s = editor(doc).update({ effects: addSpan.of(storm()) }).state;
    s = s.update({ changes: { from: 2, to: 12 } }).state;
    expect(marked(s)).toEqual([]);
    s = command(s, undo);
    expect(s.doc.toString()).toBe(doc);
    expect(marked(s).map((m) => s.sliceDoc(m.from, m.to))).toEqual(["storm"]);
    s = command(s, redo);
    expect(marked(s)).toEqual([]);
  });

  it("undo and redo a mark itself and its length", () => {
    let s = editor(doc).update({ effects: addSpan.of(storm()) }).state;
    const id = marked(s)[0].id;
    s = s.update({ effects: setSpanTokens.of({ id, tokens: 7 }) }).state;
    expect(marked(s)[0].tokens).toBe(7);
    s = command(s, undo);
    expect(marked(s)[0].tokens).toBe(3);
    s = command(s, undo);
    expect(marked(s)).toEqual([]);
    s = command(s, redo);
    expect(marked(s)).toHaveLength(1);
  });

  it("hold several spans in order, refuse overlaps, remove one, clear all", () => {
    let s = editor(doc);
    s = s.update({ effects: [addSpan.of(newSpan(19, 23, 2)), addSpan.of(storm()), addSpan.of(newSpan(10, 10, 5))] }).state;
    expect(marked(s).map((m) => [m.from, m.to])).toEqual([
      [4, 9],
      [10, 10],
      [19, 23],
    ]);
    s = s.update({ effects: addSpan.of(newSpan(6, 12, 2)) }).state; // overlaps "storm"
    expect(marked(s)).toHaveLength(3);
    s = s.update({ effects: removeSpan.of(marked(s)[0].id) }).state;
    expect(marked(s)).toHaveLength(2);
    s = s.update({ effects: clearSpans.of(null) }).state;
    expect(marked(s)).toEqual([]);
  });

  it("holes move with the text after them and clamp their length", () => {
    let s = editor(doc).update({ effects: addSpan.of(newSpan(9, 9, 5000)) }).state;
    expect(marked(s)[0].tokens).toBe(SHARED.max_mark_tokens);
    s = s.update({ changes: { from: 9, insert: "y" } }).state; // typing at the hole
    expect(marked(s)[0]).toMatchObject({ from: 10, to: 10 });
    s = s.update({ effects: setSpanTokens.of({ id: marked(s)[0].id, tokens: 0 }) }).state;
    expect(marked(s)[0].tokens).toBe(1);
  });
});

describe("the pinned ending", () => {
  it("follows the text, and Pin selection is one undo step (the sentence and the pin come back together)", () => {
    let s = EditorState.create({ doc: "It began to rain. Nobody came home.", extensions: [history(), spans(), ending(), liveField] });
    s = s.update({ changes: { from: 18, to: 35 }, effects: setPinned.of({ at: 18, text: "Nobody came home.", gap: 8 }) }).state;
    expect(s.doc.toString()).toBe("It began to rain. ");
    s = s.update({ changes: { from: 0, insert: "Oh. " } }).state;
    expect(pinned(s)).toEqual({ at: 22, text: "Nobody came home.", gap: 8 });
    s = command(s, undo);
    s = command(s, undo);
    expect(s.doc.toString()).toBe("It began to rain. Nobody came home.");
    expect(pinned(s)).toBeNull();
    s = command(s, redo);
    expect(pinned(s)).toEqual({ at: 18, text: "Nobody came home.", gap: 8 });
  });

  it("is not placed inside a mark or on a hole", () => {
    let s = EditorState.create({ doc: "abcdef", extensions: [spans(), ending(), liveField] });
    s = s.update({ effects: [addSpan.of(newSpan(1, 4, 2)), addSpan.of(newSpan(5, 5, 2))] }).state;
    expect(placeEnding(s, 2)).toMatchObject({ problem: expect.stringMatching(/inside a marked phrase/) });
    expect(placeEnding(s, 5)).toMatchObject({ problem: expect.stringMatching(/already a hole/) });
    expect(placeEnding(s, 4)).toEqual({ at: 4 }); // right after the mark: the natural order
  });
});

describe("requests", () => {
  it("turn marks into char-offset spans, even after emoji", () => {
    const doc = "🌙 The night was cold.";
    const from = doc.indexOf("night");
    const { request, targets } = planRequest(doc, [newSpan(from, from + 5, 4)], null, settings);
    expect(request.spans).toEqual([{ start: 6, end: 11, tokens: 4, instruction: null }]);
    expect(targets).toEqual([{ index: 0, from, to: from + 5, tokens: 4, original: "night" }]);
  });

  it("send the pinned ending with its place and gap, and write it after the gap", () => {
    const doc = "🌙 Start. Middle. End.";
    const mark = newSpan(18, 21, 2); // "End" after the gap
    const ending = { text: "It was over.", at: 9, gap: 10 };
    const { request, targets } = planRequest(doc, [mark], ending, settings);
    // The engine places the ending (at a char offset: the emoji is one char, two UTF-16 units).
    expect(request.text).toBe(doc);
    expect(request.spans).toEqual([{ start: 17, end: 20, tokens: 2, instruction: null }]);
    expect(request.ending).toEqual({ text: "It was over.", at: 8, gap: 10 });
    expect(targets[1]).toMatchObject({ index: 1, from: 9, to: 9, pinned: "It was over." });
    // The gap is the span after the marks, and it says how the engine wrote the ending.
    const filled: FilledSpan[] = [
      { span: 0, start: 0, end: 0, text: "Finish", slots: [], leads_into: null },
      { span: 1, start: 0, end: 0, text: " Then rain.", slots: [], leads_into: " It was over." },
    ];
    const s = EditorState.create({ doc }).update({ changes: acceptChanges(targets, filled) }).state;
    expect(s.doc.toString()).toBe("🌙 Start. Then rain. It was over. Middle. Finish.");
  });

  it("send each mark's instruction with it, and none for a blank one", () => {
    const doc = "The sea was calm. We walked home.";
    let s = editor(doc);
    const [a, b] = [newSpan(11, 16, 3), newSpan(33, 33, 8)];
    s = s.update({ effects: [addSpan.of(a), addSpan.of(b)] }).state;
    s = s.update({ effects: [setSpanInstruction.of({ id: a.id, instruction: " darker " }), setSpanInstruction.of({ id: b.id, instruction: "  " })] }).state;
    // Kept through an edit before the marks.
    s = s.update({ changes: { from: 0, insert: "So. " } }).state;
    expect(markAt(s, 16)?.instruction).toBe(" darker ");
    const { request } = planRequest(s.doc.toString(), marked(s), null, settings);
    expect(request.spans.map((x) => x.instruction)).toEqual(["darker", null]);
  });

  it("send no instruction to a model that cannot follow one, and keep it on the mark", () => {
    const doc = "The sea was calm. We walked home.";
    const marks = [{ ...newSpan(11, 16, 3), instruction: "darker" }, newSpan(33, 33, 8)];
    const { request, unfollowed } = planRequest(doc, marks, null, settings, 1, false);
    expect(request.spans.map((x) => x.instruction)).toEqual([null, null]);
    expect(unfollowed).toBe(1);
    expect(marks[0].instruction).toBe("darker");
    expect(planRequest(doc, marks, null, settings).unfollowed).toBe(0);
  });

  it("send no ending, and no gap, for a blank one", () => {
    const { request, targets } = planRequest("Start.", [], { text: "  ", at: 3, gap: 4 }, settings);
    expect(request.ending).toBeNull();
    expect(targets).toEqual([]);
  });

  it("take a mark, then an ending pinned at the end of that mark (the natural order)", () => {
    const doc = "The rain came down like something that had been poured.";
    const from = doc.indexOf(" like");
    const to = doc.indexOf(".");
    const { request, targets } = planRequest(doc, [newSpan(from, to, 6)], { text: "Then silence.", at: to, gap: 8 }, settings);
    expect(request.spans).toEqual([{ start: from, end: to, tokens: 6, instruction: null }]);
    expect(request.ending).toEqual({ text: "Then silence.", at: to, gap: 8 });
    expect(targets.map((t) => [t.from, t.to])).toEqual([
      [from, to],
      [to, to],
    ]);
  });

  it("re-mask the right characters when the engine's join dropped white space", () => {
    const doc = "Before. After.";
    const { targets } = planRequest(doc, [newSpan(7, 7, 3)], null, settings);
    // As the engine joins it: its trailing space dropped before " After.", in its slot too.
    const slots = [
      { token: 1, text: " Rain", confidence: 0.9 },
      { token: 2, text: " fell", confidence: 0.1 },
      { token: 3, text: "", confidence: 0.1 },
    ];
    const filled: FilledSpan[] = [{ span: 0, start: 0, end: 0, text: " Rain fell", slots, leads_into: null }];
    const s = EditorState.create({ doc }).update({ changes: acceptChanges(targets, filled) }).state;
    expect(s.doc.toString()).toBe("Before. Rain fell After.");
    // " fell" and the dropped trailing space's token: both re-masked, over " fell" alone.
    expect(remaskRuns(targets, filled, (_t, i) => i > 0)).toEqual([{ from: 12, to: 17, tokens: 2 }]);
  });

  it("turn a picked empty fill into a hole at its place", () => {
    const doc = "Before. After.";
    const { targets } = planRequest(doc, [newSpan(7, 7, 4)], null, settings);
    const filled: FilledSpan[] = [{ span: 0, start: 0, end: 0, text: "", slots: [{ token: 2, text: "", confidence: 0.9 }], leads_into: null }];
    expect(remaskRuns(targets, filled, () => true)).toEqual([{ from: 7, to: 7, tokens: 4 }]);
    expect(remaskRuns(targets, filled, () => false)).toEqual([]);
  });
});

describe("the steps slider", () => {
  it("is bounded by 1 and one step per token", () => {
    expect(clampSteps(0, 10)).toBe(1);
    expect(clampSteps(50, 10)).toBe(10);
    expect(clampSteps(5, 0)).toBe(1);
    expect(stepsLabel(4, 16, null)).toBe("4 steps · 4/step");
    expect(stepsLabel(3, 16, 1.5)).toBe("3 steps · 5.3/step · ~1.5 s");
    expect(stepsLabel(350, 350, 1434)).toBe("350 steps · 1/step · ~24 min");
    expect(stepsLabel(1, 0, null)).toBe("nothing marked yet");
    // "auto" (its own toggle): parallel reveal.
    expect(stepsLabel(16, 16, null, true)).toMatch(/^auto/);
  });
});

describe("events become decorations", () => {
  const doc = "She opened the door and saw nothing.";
  const at = doc.indexOf("door");
  const plan = () => planRequest(doc, [newSpan(at, at + 4, 3)], null, settings);
  const view = (slots: [number | null, string, number | null][]): SpanView[] => [
    { row: 0, span: 0, start: 15, slots: slots.map(([token, text, confidence]) => ({ token, text, confidence })) },
  ];
  /** The run of these tests, finished: "back window" and an end token. */
  const finished = () =>
    done([
      [3, " back", -2.5],
      [7, " window", -0.1],
      [9, "", -0.05],
    ]);
  /** A finished run with one candidate whose only span has these slots. */
  const done = (slots: [number | null, string, number | null][]): { result: Written; shown: number } => {
    const filled = view(slots).map(({ span, start, slots }) => ({
      span,
      start,
      end: start,
      text: slots.map((x) => x.text).join(""),

      slots,
      leads_into: null,
    }));
    return { result: { candidates: [{ spans: filled }], warnings: [] }, shown: 0 };
  };

  it("start all masked, reveal slots step by step, mark fresh ones, keep the document", () => {
    let s = editor(doc);
    s = s.update({ effects: startRun.of(plan()) }).state;
    let live = s.field(liveField)!;
    expect(live.slots.get(0)!.every((x) => x.token === null)).toBe(true);
    s = s.update({
      effects: stepRun.of(
        view([
          [null, "", null],
          [7, " window", -0.1],
          [null, "", null],
        ]),
      ),
    }).state;
    live = s.field(liveField)!;
    expect(live.slots.get(0)![1].text).toBe(" window");
    expect([...live.fresh.get(0)!]).toEqual([1]);
    s = s.update({
      effects: stepRun.of(
        view([
          [3, " back", -2.5],
          [7, " window", -0.1],
          [null, "", null],
        ]),
      ),
    }).state;
    expect([...s.field(liveField)!.fresh.get(0)!]).toEqual([0]);
    expect(s.doc.toString()).toBe(doc);
    s = s.update({
      effects: reviewRun.of(finished()),
    }).state;
    expect(s.field(liveField)!.phase).toBe("review");
    s = s.update({ effects: endRun.of(null) }).state;
    expect(s.field(liveField)).toBeNull();
    expect(s.doc.toString()).toBe(doc);
  });

  it("shade slots by confidence for the heat map", () => {
    const slot = (confidence: number) => ({ token: 1, text: "x", confidence });
    expect(slotClasses({ token: null, text: "", confidence: null }, "entropy", false, true)).toBe("cm-slot cm-slot-masked");
    expect(slotClasses(slot(-0.05), "entropy", true, true)).toBe("cm-slot cm-slot-fresh cm-conf-high");
    expect(slotClasses(slot(0.5), "maskgit_plus", false, true)).toBe("cm-slot cm-conf-mid");
    expect(slotClasses(slot(0.1), "topk_margin", false, true)).toBe("cm-slot cm-conf-low");
    expect(slotClasses(slot(0.1), "topk_margin", false, false)).toBe("cm-slot");
    expect(displayConfidence(Math.log(0.25), "entropy")).toBeCloseTo(0.25);
  });

  it("find the low-confidence runs to re-mask in the accepted text", () => {
    const { targets } = plan();
    const filled: FilledSpan[] = [
      {
        span: 0,
        start: 0,
        end: 0,
        // As the engine joins it after "the ": its leading space dropped, in its slot too.
        text: "back window frame",
        slots: [
          { token: 1, text: "back", confidence: 0.9 },
          { token: 2, text: " window", confidence: 0.2 },
          { token: 3, text: " frame", confidence: 0.1 },
        ],
        leads_into: null,
      },
    ];
    const s = EditorState.create({ doc }).update({ changes: acceptChanges(targets, filled) }).state;
    const runs = lowConfidenceRuns(targets, filled, "maskgit_plus", 0.4);
    expect(runs).toHaveLength(1);
    expect(s.sliceDoc(runs[0].from, runs[0].to)).toBe(" window frame");
    expect(runs[0].tokens).toBe(2);
    expect(s.doc.toString()).toBe("She opened the back window frame and saw nothing.");
    // Words clicked in review: just "back".
    const picked = remaskRuns(targets, filled, (t, i) => t === 0 && i === 0);
    expect(picked.map((r) => s.sliceDoc(r.from, r.to))).toEqual(["back"]);
  });

  it("let the writer pick words in review only", () => {
    let s = editor(doc).update({ effects: startRun.of(plan()) }).state;
    s = s.update({ effects: togglePick.of({ target: 0, slot: 1 }) }).state;
    expect(s.field(liveField)!.picked.size).toBe(0);
    s = s.update({
      effects: reviewRun.of(finished()),
    }).state;
    s = s.update({ effects: togglePick.of({ target: 0, slot: 1 }) }).state;
    expect([...s.field(liveField)!.picked]).toEqual([pickKey(0, 1)]);
    s = s.update({ effects: togglePick.of({ target: 0, slot: 1 }) }).state;
    expect(s.field(liveField)!.picked.size).toBe(0);
  });
});

describe("offsets", () => {
  it("count a surrogate pair as one char", () => {
    const t = "a🌙b€c";
    expect(toCharOffset(t, t.length)).toBe(5);
    expect(toCharOffset(t, 3)).toBe(2);
    expect(toCharOffset(t, 1)).toBe(1);
  });
});
