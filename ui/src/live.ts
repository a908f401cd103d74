// The run, from Write to accept or reject, as one state field: what was asked, each target
// drawn as its mask slots that turn into words as steps arrive (shaded by confidence), the
// result and the candidate on show. The document itself is untouched until the writer accepts.
import { StateEffect, StateField, type Range } from "@codemirror/state";
import { Decoration, EditorView, WidgetType, type DecorationSet } from "@codemirror/view";
import type { Alg, FilledSpan, Written, Slot, SpanView } from "./ipc";
import { displayConfidence, type Planned, type Target } from "./request";

export interface LiveRun {
  phase: "running" | "review";
  /** The request sent and where each of its targets sits in the document. */
  planned: Planned;
  /** The finished run (in review), and which of its candidates is on show. */
  result: Written | null;
  shown: number;
  /** Slots per target index. */
  slots: Map<number, Slot[]>;
  /** Slots revealed by the latest step (target index -> slot indices), for the fade-in. */
  fresh: Map<number, Set<number>>;
  heat: boolean;
  /** Slots the writer clicked in review to write again, as "target:slot". */
  picked: Set<string>;
}

export const startRun = StateEffect.define<Planned>();
export const stepRun = StateEffect.define<SpanView[]>();
/** The run finished: review its result, showing candidate `shown`. */
export const reviewRun = StateEffect.define<{ result: Written; shown: number }>();
export const toggleHeat = StateEffect.define<boolean>();
export const endRun = StateEffect.define<null>();
export const togglePick = StateEffect.define<{ target: number; slot: number }>();

export const pickKey = (target: number, slot: number) => `${target}:${slot}`;

function masked(n: number): Slot[] {
  return Array.from({ length: n }, () => ({ token: null, text: "", confidence: null }));
}

/** The order the run reveals by (what its confidences measure). */
export const runAlg = (run: LiveRun): Alg => run.planned.request.settings.alg;

/** The spans of the candidate on show (none before the run finished). */
export function shownSpans(run: LiveRun): FilledSpan[] {
  return run.result?.candidates[run.shown]?.spans ?? [];
}

function applyViews(run: LiveRun, views: SpanView[], phase: LiveRun["phase"]): LiveRun {
  const slots = new Map(run.slots);
  const fresh = new Map<number, Set<number>>();
  for (const v of views) {
    const before = slots.get(v.span) ?? [];
    const now = new Set<number>();
    v.slots.forEach((s, i) => {
      if (s.token !== null && before[i]?.token == null) now.add(i);
    });
    fresh.set(v.span, now);
    slots.set(v.span, v.slots);
  }
  return { ...run, slots, fresh, phase };
}

export const liveField = StateField.define<LiveRun | null>({
  create: () => null,
  update(run, tr) {
    for (const e of tr.effects) {
      if (e.is(startRun)) {
        const slots = new Map(e.value.targets.map((t) => [t.index, masked(t.tokens)] as const));
        run = { phase: "running", planned: e.value, result: null, shown: 0, slots, fresh: new Map(), heat: true, picked: new Set() };
      } else if (run && e.is(stepRun)) run = applyViews(run, e.value, "running");
      else if (run && e.is(reviewRun)) {
        const next = { ...run, result: e.value.result, shown: e.value.shown };
        const views = shownSpans(next).map((s) => ({ row: next.shown, span: s.span, start: s.start, slots: s.slots }));
        run = { ...applyViews(next, views, "review"), fresh: new Map() };
      } else if (run && e.is(toggleHeat)) run = { ...run, heat: e.value };
      else if (run?.phase === "review" && e.is(togglePick)) {
        const picked = new Set(run.picked);
        const key = pickKey(e.value.target, e.value.slot);
        if (!picked.delete(key)) picked.add(key);
        run = { ...run, picked };
      } else if (e.is(endRun)) run = null;
    }
    return run;
  },
  provide: (f) => [
    EditorView.decorations.from(f, liveDecorations),
    // Nothing may edit the document while Dream writes into it or the writer reviews.
    EditorView.editable.from(f, (run) => run === null),
  ],
});

/** Class names of a slot: masked, fresh, and a confidence band for the heat map. */
export function slotClasses(slot: Slot, alg: Alg, fresh: boolean, heat: boolean): string {
  if (slot.token === null) return "cm-slot cm-slot-masked";
  const classes = ["cm-slot"];
  if (fresh) classes.push("cm-slot-fresh");
  const c = displayConfidence(slot.confidence, alg);
  if (heat && c !== null) classes.push(c >= 0.66 ? "cm-conf-high" : c >= 0.33 ? "cm-conf-mid" : "cm-conf-low");
  return classes.join(" ");
}

class TargetWidget extends WidgetType {
  constructor(
    readonly target: Target,
    readonly slots: Slot[],
    readonly run: LiveRun,
  ) {
    super();
  }
  eq(other: TargetWidget): boolean {
    const r = other.run;
    return other.slots === this.slots && r.heat === this.run.heat && r.phase === this.run.phase && r.fresh === this.run.fresh && r.picked === this.run.picked;
  }
  toDOM(view: EditorView): HTMLElement {
    const el = document.createElement("span");
    el.className = `cm-live cm-live-${this.run.phase}`;
    el.dataset.target = String(this.target.index);
    if (this.target.original) el.title = `Replaces: “${this.target.original}”`;
    const fresh = this.run.fresh.get(this.target.index);
    this.slots.forEach((slot, i) => {
      const s = document.createElement("span");
      s.className = slotClasses(slot, runAlg(this.run), fresh?.has(i) ?? false, this.run.heat);
      if (this.run.picked.has(pickKey(this.target.index, i))) s.classList.add("cm-slot-picked");
      s.dataset.slot = String(i);
      if (this.run.phase === "review" && slot.text) {
        // In review a click picks a word to write again ("Re-mask").
        s.addEventListener("mousedown", (ev) => {
          ev.preventDefault();
          view.dispatch({ effects: togglePick.of({ target: this.target.index, slot: i }) });
        });
      }
      if (slot.token === null) s.textContent = "\u2592";
      else {
        s.textContent = slot.text;
        const c = displayConfidence(slot.confidence, runAlg(this.run));
        if (c !== null) s.title = `${Math.round(c * 100)}% confident`;
      }
      el.append(s);
    });
    if (this.run.phase === "review" && this.slots.every((slot) => !slot.text)) {
      // An empty fill would be invisible: a marker the writer can see, click and re-mask.
      const empty = document.createElement("span");
      empty.className = "cm-slot-empty";
      empty.textContent = "∅";
      empty.title = "Dream wrote nothing here: click to write it again (Re-mask)";
      if (this.run.picked.has(pickKey(this.target.index, 0))) empty.classList.add("cm-slot-picked");
      empty.addEventListener("mousedown", (ev) => {
        ev.preventDefault();
        view.dispatch({ effects: togglePick.of({ target: this.target.index, slot: 0 }) });
      });
      el.append(empty);
    }
    if (this.target.pinned) {
      const p = document.createElement("span");
      p.className = "cm-pinned";
      p.textContent = this.target.pinned;
      el.append(p);
    }
    return el;
  }
  ignoreEvent(): boolean {
    return false;
  }
}

function liveDecorations(run: LiveRun | null): DecorationSet {
  if (!run) return Decoration.none;
  const ranges: Range<Decoration>[] = [];
  for (const t of run.planned.targets) {
    const widget = new TargetWidget(t, run.slots.get(t.index) ?? [], run);
    ranges.push(t.to > t.from ? Decoration.replace({ widget }).range(t.from, t.to) : Decoration.widget({ widget, side: 1 }).range(t.from));
  }
  return Decoration.set(ranges, true);
}
