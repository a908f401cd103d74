// Dream Writer's window: the editor, the toolbar and the panels, wired to the app's commands.
import { EditorState, Transaction, type Extension } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { markdown } from "@codemirror/lang-markdown";
import { api, describeError, isCommandError, type FilledSpan, type Infilled, type SamplingSettings, type Settings } from "./ipc";
import { addSpan, clampTokens, clearSpans, marked, newSpan, spans } from "./spans";
import { endRun, liveField, pickKey, reviewRun, startRun, stepRun, toggleHeat } from "./live";
import { acceptChanges, lowConfidenceRuns, planRequest, remaskRuns, type PinnedEnding, type Planned } from "./request";
import { AUTO_THRESHOLD, isAuto, stepsLabel, StepTimer } from "./steps";
import { setupModelDialog } from "./models";
import { changed, startDocuments, type Host } from "./documents";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let settings: Settings | null = null;
let last: { planned: Planned; result: Infilled } | null = null;
/** The candidate shown (and accepted) in review. */
let shown = 0;

/** The spans of the candidate on show. */
function shownSpans(result: Infilled): FilledSpan[] {
  return (result.candidates?.[shown] ?? result).spans;
}
let running = false;
const timer = new StepTimer();

function say(text: string, kind: "info" | "error" = "info") {
  const m = $("message");
  m.textContent = text;
  m.className = kind;
}

// ---- The editor ----------------------------------------------------------------------------

/** A calm page: a serif at reading size, a measured column, the app's colours. */
const writingTheme = EditorView.theme({
  "&": { height: "100%", color: "var(--fg)", backgroundColor: "var(--bg)" },
  ".cm-scroller": { fontFamily: 'Charter, "Iowan Old Style", Georgia, serif', fontSize: "18px", lineHeight: "1.7" },
  ".cm-content": { maxWidth: "44em", margin: "0 auto", padding: "40px 24px 30vh", caretColor: "var(--accent)" },
  "&.cm-focused": { outline: "none" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground": { backgroundColor: "var(--mark)" },
});

function extensions(): Extension[] {
  return [
    writingTheme,
    placeholder("Write here. Select a phrase and press Ctrl+I for Dream to rewrite it, or press Ctrl+I with nothing selected to leave a hole for Dream to fill."),
    history(),
    markdown(),
    EditorView.lineWrapping,
    spans(),
    liveField,
    keymap.of([
      { key: "Mod-i", run: () => (markSelection(), true) },
      { key: "Mod-Enter", run: () => (view.state.field(liveField)?.phase === "review" ? accept() : void run(), true) },
      { key: "Escape", run: () => (running ? void stop() : view.state.field(liveField) ? reject() : null, true) },
      ...defaultKeymap,
      ...historyKeymap,
    ]),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) updateWords();
      if (u.docChanged || u.transactions.some((t) => t.effects.length > 0)) {
        updateSteps();
        changed();
      }
    }),
  ];
}

const view: EditorView = new EditorView({ parent: $("editor"), state: EditorState.create({ doc: "", extensions: extensions() }) });

// Read-only access to the document for automation (the browser and WebDriver tests): what
// the widgets draw over the text is not the text.
(window as unknown as { dreamWriter: object }).dreamWriter = { text: () => view.state.doc.toString() };

function updateWords() {
  const words = view.state.doc.toString().match(/\S+/g)?.length ?? 0;
  $("words").textContent = `${words} ${words === 1 ? "word" : "words"}`;
}

// ---- Marks, ending, steps ---------------------------------------------------------------------

/** Marks the selection (same length in tokens, refined by the model's tokenizer) or drops a hole. */
function markSelection() {
  if (view.state.field(liveField)) return;
  const sel = view.state.selection.main;
  // Dream's tokens carry their leading space (" word"): a marked word takes the space before
  // it, so the text around keeps its natural tokens and no space is doubled.
  const from = !sel.empty && /^\S/.test(view.state.sliceDoc(sel.from, sel.from + 1)) && view.state.sliceDoc(sel.from - 1, sel.from) === " " ? sel.from - 1 : sel.from;
  const text = view.state.sliceDoc(from, sel.to);
  const span = newSpan(from, sel.to, sel.empty ? 16 : Math.max(1, Math.ceil(text.length / 4)));
  const before = marked(view.state).length;
  view.dispatch({ effects: addSpan.of(span) });
  if (marked(view.state).length === before) return say("That overlaps a mark already there.", "error");
  if (!sel.empty) {
    api.countTokens(text).then(
      (n) => view.dispatch({ effects: addSpan.of({ ...span, tokens: clampTokens(n) }) }),
      () => {},
    );
  }
}

function pinnedEnding(): PinnedEnding | null {
  const text = $<HTMLInputElement>("ending").value;
  if (!text.trim()) return null;
  // The gap is at the cursor (or the end when the cursor is inside a mark).
  const cursor = view.state.selection.main.head;
  const inMark = marked(view.state).some((m) => m.from < cursor && cursor < m.to);
  const at = inMark ? view.state.doc.length : cursor;
  const lead = at > 0 && !/\s$/.test(view.state.sliceDoc(at - 1, at)) && !/^\s/.test(text) ? " " : "";
  return { text: lead + text, at, gapTokens: clampTokens(Number($<HTMLInputElement>("gap").value) || 32) };
}

function totalTokens(): number {
  const ending = pinnedEnding();
  return marked(view.state).reduce((n, m) => n + m.tokens, 0) + (ending ? ending.gapTokens : 0);
}

function updateSteps() {
  const slider = $<HTMLInputElement>("steps");
  const tokens = totalTokens();
  // One position past one step per token is "auto".
  const max = tokens > 0 ? tokens + 1 : 1;
  // A number of steps never slides into "auto" by itself: it stops at one step per token.
  const wanted = slider.dataset.wanted === "auto" ? max : Math.min(Number(slider.dataset.wanted ?? slider.value), Math.max(1, tokens));
  slider.max = String(max);
  slider.value = String(Math.min(Math.max(1, wanted), max));
  $("steps-out").textContent = stepsLabel(Number(slider.value), tokens, timer.median());
}

// ---- Generation -------------------------------------------------------------------------------

function sampling(): SamplingSettings {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  const topP = num("top-p");
  const topK = num("top-k");
  const tokens = totalTokens();
  const auto = isAuto(num("steps"), tokens);
  const alg = $<HTMLSelectElement>("alg").value as SamplingSettings["alg"];
  const refresh = Number($<HTMLSelectElement>("speed").value);
  return {
    steps: auto ? tokens : num("steps"),
    // Parallel reveal ranks by confidence, which `origin` does not have.
    threshold: auto && alg !== "origin" ? AUTO_THRESHOLD : null,
    cache_refresh: refresh > 1 ? refresh : null,
    alg,
    temperature: Math.max(0, num("temperature")),
    top_p: topP > 0 && topP < 1 ? topP : null,
    top_k: topK > 0 ? Math.round(topK) : null,
    alg_temp: null,
    eps: 1e-3,
    seed: Math.max(0, Math.round(num("seed"))),
  };
}

async function run() {
  if (running || view.state.field(liveField)) return;
  let planned: Planned;
  try {
    const candidates = Number($<HTMLSelectElement>("candidates").value) || 1;
    planned = planRequest(view.state.doc.toString(), marked(view.state), pinnedEnding(), sampling(), candidates);
  } catch (e) {
    return say(describeError(e), "error");
  }
  if (planned.targets.length === 0) return say("Mark a span (Ctrl+I) or pin an ending first.", "error");
  running = true;
  setBusy(true);
  timer.start();
  view.dispatch({ effects: startRun.of({ targets: planned.targets, alg: planned.request.settings.alg }) });
  say("Dream is writing…");
  try {
    const result = await api.infill(planned.request, (e) => {
      if (e.event !== "step") return;
      timer.mark();
      // The first candidate is drawn live; the others are there to flip to in review.
      view.dispatch({ effects: stepRun.of((e.spans ?? []).filter((v) => v.row === 0)) });
      $("step-counter").textContent = `step ${e.step + 1} / ${e.steps}`;
      $<HTMLProgressElement>("progress-bar").value = (e.step + 1) / e.steps;
    });
    last = { planned, result };
    shown = 0;
    showCandidates(result);
    showReview(result);
    say(result.warnings.length ? result.warnings.join(" ") : "Accept, reject or regenerate; click words to write them again.");
  } catch (e) {
    view.dispatch({ effects: endRun.of(null) });
    if (isCommandError(e) && e.code === "cancelled") say("Stopped; the document is as it was.");
    else say(describeError(e), "error");
  } finally {
    running = false;
    setBusy(false);
    updateSteps();
  }
}

/** Draws the shown candidate over the marks. */
function showReview(result: Infilled) {
  view.dispatch({ effects: reviewRun.of(shownSpans(result).map((s) => ({ row: shown, span: s.span, start: s.start, slots: s.slots }))) });
}

/** One button per candidate, when there are several. */
function showCandidates(result: Infilled) {
  const box = $("candidate-switch");
  box.replaceChildren();
  const n = result.candidates?.length ?? 0;
  box.hidden = n < 2;
  for (let i = 0; i < n; i++) {
    const b = document.createElement("button");
    b.textContent = String(i + 1);
    b.dataset.candidate = String(i);
    b.className = i === shown ? "primary" : "";
    b.title = `Show candidate ${i + 1}`;
    b.addEventListener("click", () => {
      shown = i;
      showCandidates(result);
      showReview(result);
    });
    box.append(b);
  }
}

function setBusy(busy: boolean) {
  $<HTMLButtonElement>("run").disabled = busy;
  $<HTMLButtonElement>("stop").disabled = !busy;
  $("progress").hidden = !busy;
  $("review").hidden = busy || view.state.field(liveField)?.phase !== "review";
}

async function stop() {
  await api.cancel();
}

function accept(): boolean {
  const live = view.state.field(liveField);
  if (!live || live.phase !== "review" || !last) return false;
  view.dispatch({
    changes: acceptChanges(last.planned.targets, shownSpans(last.result)),
    effects: [endRun.of(null), clearSpans.of(null)],
    userEvent: "input.dream",
  });
  if (last.planned.targets.some((t) => t.pinned)) $<HTMLInputElement>("ending").value = "";
  $("review").hidden = true;
  say("Accepted (Ctrl+Z undoes it).");
  return true;
}

function reject() {
  view.dispatch({ effects: endRun.of(null) });
  $("review").hidden = true;
  say("Rejected; the document is as it was.");
}

function regenerate() {
  const seed = $<HTMLInputElement>("seed");
  seed.value = String(Number(seed.value) + 1);
  view.dispatch({ effects: endRun.of(null) });
  void run();
}

/** Accepts, then marks the clicked words (or else the least confident) and writes just those again. */
function remask() {
  if (!last) return;
  const picked = view.state.field(liveField)?.picked ?? new Set<string>();
  const threshold = Number($<HTMLInputElement>("remask-threshold").value) / 100;
  const runs =
    picked.size > 0
      ? remaskRuns(last.planned.targets, shownSpans(last.result), (t, i) => picked.has(pickKey(t, i)))
      : lowConfidenceRuns(last.planned.targets, shownSpans(last.result), last.planned.request.settings.alg, threshold);
  accept();
  if (runs.length === 0) return say(`Nothing below ${Math.round(threshold * 100)}%.`);
  view.dispatch({ effects: runs.map((r) => addSpan.of(newSpan(r.from, r.to, r.tokens))) });
  void run();
}

// ---- Documents ----------------------------------------------------------------------------------

/** What the document commands need of the editor. */
const host: Host = {
  text: () => view.state.doc.toString(),
  extras: () => ({
    marks: marked(view.state).map(({ from, to, tokens }) => ({ from, to, tokens })),
    ending: $<HTMLInputElement>("ending").value,
    gap: clampTokens(Number($<HTMLInputElement>("gap").value) || 32),
  }),
  show(text, extras) {
    view.setState(EditorState.create({ doc: text, extensions: extensions() }));
    const marks = (extras?.marks ?? []).filter((m) => m.from <= m.to && m.to <= text.length);
    // Restored marks are where the writer left them, not a step to undo.
    if (marks.length) view.dispatch({ effects: marks.map((m) => addSpan.of(newSpan(m.from, m.to, m.tokens))), annotations: Transaction.addToHistory.of(false) });
    $<HTMLInputElement>("ending").value = extras?.ending ?? "";
    $<HTMLInputElement>("gap").value = String(extras?.gap ?? 32);
    updateWords();
    updateSteps();
  },
  replace: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, userEvent: "input.reload" }),
  locked: () => (running || view.state.field(liveField) ? "Finish the run first: accept or reject what Dream wrote." : null),
  say,
};

// ---- Settings and theme -------------------------------------------------------------------------

const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");

/** Light or dark; "system" follows the desktop, also when it changes while the app is open. */
function applyTheme(theme: Settings["theme"]) {
  const dark = theme === "dark" || (theme === "system" && darkScheme.matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}
darkScheme.addEventListener("change", () => applyTheme(settings?.theme ?? "system"));

function showSampling(s: SamplingSettings) {
  $<HTMLSelectElement>("alg").value = s.alg;
  $<HTMLInputElement>("temperature").value = String(s.temperature);
  $<HTMLInputElement>("top-p").value = String(s.top_p ?? 1);
  $<HTMLInputElement>("top-k").value = String(s.top_k ?? 0);
  $<HTMLInputElement>("seed").value = String(s.seed);
  $<HTMLSelectElement>("speed").value = String(s.cache_refresh ?? 1);
  $<HTMLSelectElement>("candidates").value = String(settings?.candidates ?? 1);
  $<HTMLInputElement>("steps").dataset.wanted = s.threshold !== null ? "auto" : String(s.steps);
}

async function persistSettings(change: (s: Settings) => void) {
  if (!settings) return;
  const next = structuredClone(settings);
  change(next);
  try {
    settings = await api.setSettings(next);
  } catch (e) {
    say(describeError(e), "error");
  }
}

// ---- Wiring ---------------------------------------------------------------------------------------

$("mark").addEventListener("click", () => (markSelection(), view.focus()));
$("clear-marks").addEventListener("click", () => view.dispatch({ effects: clearSpans.of(null) }));
$("pin-selection").addEventListener("click", () => {
  const sel = view.state.selection.main;
  if (sel.empty) return say("Select the sentence to end on first.", "error");
  $<HTMLInputElement>("ending").value = view.state.sliceDoc(sel.from, sel.to).trim();
  // Dream writes towards the pinned sentence from where it stood: it moves out of the document.
  view.dispatch({ changes: { from: sel.from, to: sel.to }, selection: { anchor: sel.from } });
  updateSteps();
});
for (const id of ["ending", "gap"]) {
  $(id).addEventListener("input", () => {
    updateSteps();
    changed();
  });
}
$("steps").addEventListener("input", () => {
  const slider = $<HTMLInputElement>("steps");
  slider.dataset.wanted = isAuto(Number(slider.value), totalTokens()) ? "auto" : slider.value;
  updateSteps();
  void persistSettings((s) => (s.sampling = sampling()));
});
for (const id of ["alg", "temperature", "top-p", "top-k", "seed", "speed"]) {
  $(id).addEventListener("change", () => void persistSettings((s) => (s.sampling = sampling())));
}
$("candidates").addEventListener("change", () => void persistSettings((s) => (s.candidates = Number($<HTMLSelectElement>("candidates").value))));
$("run").addEventListener("click", () => void run());
$("stop").addEventListener("click", () => void stop());
$("accept").addEventListener("click", () => accept());
$("reject").addEventListener("click", () => reject());
$("regenerate").addEventListener("click", () => regenerate());
$("remask").addEventListener("click", () => remask());
$<HTMLInputElement>("heat").addEventListener("change", (e) => view.dispatch({ effects: toggleHeat.of((e.target as HTMLInputElement).checked) }));
$("theme").addEventListener("click", () => {
  const order: Settings["theme"][] = ["system", "light", "dark"];
  const next = order[(order.indexOf(settings?.theme ?? "system") + 1) % order.length];
  applyTheme(next);
  void persistSettings((s) => (s.theme = next));
});

async function start() {
  try {
    settings = await api.getSettings();
    applyTheme(settings.theme);
    showSampling(settings.sampling);
  } catch (e) {
    say(describeError(e), "error");
  }
  await startDocuments(host);
  updateSteps();
  await setupModelDialog({
    settings: () => settings,
    persist: persistSettings,
    say,
  });
  view.focus();
}

void start();
