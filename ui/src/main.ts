// Dream Writer's window: the editor, the toolbar and the panels, wired to the app's commands.
import { EditorState, Transaction, type Extension } from "@codemirror/state";
import { EditorView, type ViewUpdate } from "@codemirror/view";
import { isolateHistory } from "@codemirror/commands";
import { api, describeError, isCommandError, type SamplingSettings, type Settings } from "./ipc";
import { addSpan, clampTokens, clearSpans, marked, newSpan, setSpanTokens, spansField } from "./spans";
import { endRun, liveField, pickKey, reviewRun, runAlg, shownSpans, startRun, stepRun, toggleHeat, type LiveRun } from "./live";
import { acceptChanges, acceptedEnd, acceptedRanges, lowConfidenceRuns, planRequest, remaskRuns, type Planned } from "./request";
import { addAuthored, authoredField, authoredRanges, modelShare, restoreAuthored } from "./authorship";
import { pinned, placeEnding, setPinned } from "./ending";
import { clampSteps, stepsLabel } from "./steps";
import { DEFAULT_SETTINGS, SHARED, type Speed, type StepFlops } from "./bindings";
import { clampTemperature, engineSettings, fromSaved, isFast, runCandidates, savedSettings, variesWithSeed } from "./sampling";
import { plannedSteps, SpeedModel, stepFlops, type RunShape } from "./estimate";
import { onChoiceChange, readChoice, showChoice } from "./sampling-panel";
import { setupModelDialog } from "./models";
import { changed, startDocuments, type Host } from "./documents";
import { $ } from "./dom";
import { setupInstruction, unfollowedNote } from "./instruction";
import { editorExtensions } from "./editor";
import { focusTarget, reviewed, showReview } from "./review-panel";
import { applyTheme } from "./theme";
import { shortcuts } from "./shortcuts";

/** The writer's settings as the app last saved them (null until read). */
let settings: Settings | null = null;
const speedModel = new SpeedModel();

/** The loaded model, as the page uses it: set in one place, when a model loads. */
const model = {
  /** What its steps cost (null: none loaded). */
  flops: null as StepFlops | null,
  /** Who the words Dream writes are credited to. */
  author: "",
  /** Its context: a step never sees more tokens than this. */
  context: 2048,
  /** Whether it follows instructions on marks (it has a chat template). */
  instructable: false,
  /** A load's progress while one runs: Write waits for it. */
  loading: null as string | null,
};

/** Why nothing happens when the writer types or edits during a run or its review. */
const LOCKED = "The text is locked while Dream writes and while you review: accept (Ctrl+Enter) or reject (Esc) first.";

function say(text: string, kind: "info" | "error" = "info") {
  const m = $("message");
  m.textContent = text;
  m.className = kind;
}

// ---- The editor ----------------------------------------------------------------------------

/** Everything that follows an edit, a selection or a change of marks, ending or run. */
function onUpdate(u: ViewUpdate) {
  // Counting is O(document): not on every step event of a run, only when the text or the
  // authorship changed.
  if (u.docChanged || u.startState.field(authoredField) !== u.state.field(authoredField)) updateWords();
  const marksOrEnding = u.startState.field(spansField) !== u.state.field(spansField) || pinned(u.startState) !== pinned(u.state);
  if (u.docChanged || marksOrEnding) {
    // A message describes the state it was said in: a new state clears it.
    say("");
    showPinned();
  }
  if (u.selectionSet || marksOrEnding) instruction.show();
  if (u.docChanged || u.transactions.some((t) => t.effects.length > 0)) {
    updateSteps();
    changed();
  }
}

const extensions = (): Extension[] => editorExtensions({ mark: markSelection, update: onUpdate });

const view: EditorView = new EditorView({ parent: $("editor"), state: EditorState.create({ doc: "", extensions: extensions() }) });
const instruction = setupInstruction(view, () => model.instructable);

// Read-only access to the document for automation (the browser and WebDriver tests): what
// the widgets draw over the text is not the text.
// What the end-to-end tests read: the text, the pinned ending, and the request of the run on show.
(window as unknown as { dreamWriter: object }).dreamWriter = {
  text: () => view.state.doc.toString(),
  pinned: () => pinned(view.state),
  request: () => live()?.planned.request ?? null,
};

function updateWords() {
  const words = view.state.doc.toString().match(/\S+/g)?.length ?? 0;
  $("words").textContent = `${words} ${words === 1 ? "word" : "words"}`;
  const share = modelShare(view.state);
  $("authorship-share").textContent = share > 0 ? `Dream wrote ${share < 0.01 ? "<1" : Math.round(share * 100)}%` : "all yours";
}

// ---- Marks, ending, steps ---------------------------------------------------------------------

/** Marks the selection (same length in tokens, refined by the model's tokenizer) or drops a hole. */
function markSelection() {
  if (view.state.field(liveField)) return;
  const sel = view.state.selection.main;
  // Dream's tokens carry their leading space (" word"): a marked word takes the space before
  // it, so the text around keeps its natural tokens and no space is doubled.
  const from =
    !sel.empty && /^\S/.test(view.state.sliceDoc(sel.from, sel.from + 1)) && view.state.sliceDoc(sel.from - 1, sel.from) === " " ? sel.from - 1 : sel.from;
  // A marked sentence keeps its own closing punctuation (and the space after it): Dream writes
  // towards the full stop instead of dropping it.
  const kept = view.state.sliceDoc(from, sel.to).match(/[.!?…]+["”’»)\]]*\s*$|\s+$/)?.[0].length ?? 0;
  const to = sel.to - kept > from ? sel.to - kept : sel.to;
  const text = view.state.sliceDoc(from, to);
  const span = newSpan(from, to, sel.empty ? 16 : Math.max(1, Math.ceil(text.length / 4)));
  const before = marked(view.state).length;
  view.dispatch({ effects: addSpan.of(span) });
  if (marked(view.state).length === before) return say("That overlaps a mark already there.", "error");
  if (!sel.empty) {
    // The first length is a guess (4 characters a token); the model's tokenizer corrects it,
    // unless the writer changed the length in the meantime. Not an undo step of its own.
    const guess = span.tokens;
    api.countTokens(text).then(
      (n) => {
        const now = marked(view.state).find((m) => m.id === span.id);
        if (now && now.tokens === guess)
          view.dispatch({ effects: setSpanTokens.of({ id: span.id, tokens: clampTokens(n) }), annotations: Transaction.addToHistory.of(false) });
      },
      () => {},
    );
  }
}

// The controls' bounds and defaults are the app's (src-tauri/src/shared.rs), not the page's.
$<HTMLInputElement>("temperature").max = String(SHARED.max_temperature);
Object.assign($<HTMLInputElement>("gap"), { max: String(SHARED.max_mark_tokens), value: String(SHARED.default_gap) });
$<HTMLSelectElement>("speed").append(
  new Option(`by length: fast once the text is ${SHARED.auto_fast_ratio}× the marks`, "auto"),
  new Option("exact: whole document every step", "exact"),
  new Option(`fast: marks only, whole document every ${SHARED.fast_refresh} tokens written`, "fast"),
);
$<HTMLSelectElement>("candidates").append(...Array.from({ length: SHARED.max_candidates }, (_, i) => new Option(String(i + 1))));

const gapInput = () => clampTokens(Number($<HTMLInputElement>("gap").value) || SHARED.default_gap);

/** The ending field and gap show the pinned ending (also after undo and redo). */
function showPinned() {
  const p = pinned(view.state);
  const field = $<HTMLInputElement>("ending");
  // What the writer is typing is left alone, but whether an ending is pinned is always noted:
  // an ending pinned from the field (Enter) and then accepted must leave the field empty, or
  // the next Write would pin it again.
  if (document.activeElement !== field && document.activeElement !== $("gap")) {
    if (p) {
      field.value = p.text;
      $<HTMLInputElement>("gap").value = String(p.gap);
    } else if (field.dataset.pinned === "yes") field.value = "";
  }
  field.dataset.pinned = p ? "yes" : "no";
}

/** Pins the ending typed in the field at the cursor (or says what is in the way). */
function pinAtCursor(): boolean {
  const text = $<HTMLInputElement>("ending").value;
  if (!text.trim()) {
    say("Type the ending sentence first, or select it in the text and press Pin.", "error");
    return false;
  }
  const place = placeEnding(view.state, view.state.selection.main.head);
  if ("problem" in place) {
    say(place.problem, "error");
    return false;
  }
  view.dispatch({ effects: setPinned.of({ at: place.at, text: text.trim(), gap: gapInput() }) });
  return true;
}

function totalTokens(): number {
  const p = pinned(view.state);
  return marked(view.state).reduce((n, m) => n + m.tokens, 0) + (p ? p.gap : 0);
}

/** About how many tokens each step of a run now sees: the document (4 characters a token)
 * and the masks, up to the model's context. */
const seenTokens = () => Math.min(model.context, Math.ceil(view.state.doc.length / 4) + totalTokens());

function updateSteps() {
  const slider = $<HTMLInputElement>("steps");
  const tokens = totalTokens();
  // From one step to one step per token; the wanted count is kept when marks come and go.
  const max = Math.max(1, tokens);
  slider.max = String(max);
  slider.value = String(clampSteps(Number(slider.dataset.wanted ?? slider.value), tokens));
  const choice = readChoice();
  slider.disabled = choice.auto;
  const shape = runShape(Number(slider.value));
  const seconds = model.flops && tokens > 0 ? speedModel.seconds(model.flops, plannedSteps(shape)) : null;
  $("steps-out").textContent = stepsLabel(Number(slider.value), tokens, seconds, choice.auto);
  showSpeed(choice.speed, shape);
}

/** The run the marks and settings make now, as the estimate reads it. */
function runShape(steps: number): RunShape {
  const choice = readChoice();
  const [seen, masked] = [seenTokens(), totalTokens()];
  const marks = marked(view.state).length + (pinned(view.state) ? 1 : 0);
  return { seen, masked, marks, steps, candidates: runCandidates(choice), fast: isFast(choice.speed, seen, masked) };
}

/** The speed a run takes now, in the toolbar, and why; a click chooses the other one. */
function showSpeed(speed: Speed, shape: RunShape) {
  const b = $<HTMLButtonElement>("speed-now");
  b.textContent = shape.fast ? "fast" : "exact";
  const ratio = shape.masked > 0 ? Math.floor(shape.seen / shape.masked) : 0;
  const why =
    speed !== "auto"
      ? `You chose ${speed} in Sampling.`
      : shape.fast
        ? `By length: the text Dream reads is ${ratio}× the marks, so between full passes only the marks are computed (much quicker, nearly as good: README, dream quality).`
        : `By length: the text is short next to the marks, so every step reads all of it.`;
  b.title = `${why} Click for ${shape.fast ? "exact: the whole text every step" : "fast: the marks only, between full passes"}.`;
}

// ---- Generation -------------------------------------------------------------------------------

/** The run in progress or in review, if any (the editor's state holds it). */
const live = (): LiveRun | null => view.state.field(liveField);
/** The run in review. */
const inReview = () => reviewed(view.state);

async function run() {
  if (live()) return say(LOCKED, "error");
  if (model.loading) return say(`${model.loading} Write is back once the model is ready.`, "error");
  // An ending typed but not pinned yet goes where the cursor is.
  if (!pinned(view.state) && $<HTMLInputElement>("ending").value.trim() && !pinAtCursor()) return;
  let planned: Planned;
  try {
    const choice = readChoice();
    const settings = engineSettings(choice, totalTokens(), seenTokens());
    planned = planRequest(view.state.doc.toString(), marked(view.state), pinned(view.state), settings, runCandidates(choice), model.instructable);
  } catch (e) {
    return say(describeError(e), "error");
  }
  if (planned.targets.length === 0) return say("Mark a span (Ctrl+I) or pin an ending first.", "error");
  // The progress line starts at this run's beginning, not where the last one ended.
  $("step-counter").textContent = `step 0 / ${planned.request.settings.steps}`;
  $<HTMLProgressElement>("progress-bar").value = 0;
  setBusy(true);
  speedModel.start();
  // The view follows the first place Dream writes.
  const first = Math.min(...planned.targets.map((t) => t.from));
  view.dispatch({
    effects: [startRun.of(planned), EditorView.scrollIntoView(first, { y: "nearest", yMargin: 80 })],
  });
  view.focus();
  const unfollowed = unfollowedNote(planned.unfollowed);
  say(["Dream is writing…", unfollowed].filter(Boolean).join(" "));
  try {
    const result = await api.infill(planned.request, (e) => {
      if (model.flops) speedModel.step(stepFlops(model.flops, e.cost));
      // The first candidate is drawn live; the others are there to flip to in review.
      view.dispatch({ effects: stepRun.of(e.spans.filter((v) => v.row === 0)) });
      // Marks too far apart for one window of context are written one window after another.
      const part = e.windows > 1 ? ` · part ${e.window + 1} of ${e.windows}` : "";
      $("step-counter").textContent = `step ${e.step + 1} / ${e.steps}${part}`;
      $<HTMLProgressElement>("progress-bar").value = (e.step + 1) / e.steps;
    });
    view.dispatch({ effects: reviewRun.of({ result, shown: 0 }) });
    showReview(view);
    const notes = [...result.warnings, unfollowed].filter(Boolean);
    say(notes.length ? notes.join(" ") : "Accept, reject or regenerate; click words to write them again.");
  } catch (e) {
    view.dispatch({ effects: endRun.of(null) });
    if (isCommandError(e) && e.code === "cancelled") say("Stopped; the document is as it was.");
    else say(describeError(e), "error");
  } finally {
    setBusy(false);
    updateSteps();
  }
}

function setBusy(busy: boolean) {
  // Write and Stop share one place: the toolbar does not move during a run.
  $("run").hidden = busy;
  $("stop").hidden = !busy;
  $<HTMLButtonElement>("stop").disabled = false;
  $("progress").hidden = !busy;
  $("review").hidden = busy || !inReview();
}

/** Stops the run at the model's next layer; says so at once (a step on a long document can take seconds). */
async function stop() {
  if ($<HTMLButtonElement>("stop").disabled) return;
  $<HTMLButtonElement>("stop").disabled = true;
  say("Stopping…");
  await api.cancel();
}

function accept(): boolean {
  const review = inReview();
  if (!review) return false;
  const hadEnding = review.planned.targets.some((t) => t.pinned);
  const filled = shownSpans(review);
  view.dispatch({
    changes: acceptChanges(review.planned.targets, filled),
    // The writer goes on after Dream's words, not before them.
    selection: { anchor: acceptedEnd(review.planned.targets, filled) },
    effects: [
      endRun.of(null),
      clearSpans.of(null),
      ...(hadEnding ? [setPinned.of(null)] : []),
      addAuthored.of(acceptedRanges(review.planned.targets, filled, model.author)),
    ],
    // One undo step of its own, even when the writer types right after.
    annotations: isolateHistory.of("full"),
    userEvent: "input.dream",
  });
  $("review").hidden = true;
  view.focus();
  say("Accepted (Ctrl+Z undoes it).");
  return true;
}

function reject() {
  view.dispatch({ effects: endRun.of(null) });
  $("review").hidden = true;
  view.focus();
  say("Rejected; the document is as it was.");
}

function regenerate() {
  // Candidates use consecutive seeds (seed, seed + 1, ...): the next run starts past all of
  // them, so every candidate is new.
  showChoice({ seed: readChoice().seed + Math.max(1, live()?.planned.request.candidates ?? 1) });
  view.dispatch({ effects: endRun.of(null) });
  void run();
}

/** Accepts, then marks the clicked words (or else the least confident) and writes just those again. */
function remask() {
  const review = inReview();
  if (!review) return;
  const threshold = Number($<HTMLInputElement>("remask-threshold").value) / 100;
  const filled = shownSpans(review);
  const runs =
    review.picked.size > 0
      ? remaskRuns(review.planned.targets, filled, (t, i) => review.picked.has(pickKey(t, i)))
      : lowConfidenceRuns(review.planned.targets, filled, runAlg(review), threshold);
  accept();
  if (runs.length === 0) return say(`Nothing below ${Math.round(threshold * 100)}%.`);
  view.dispatch({ effects: runs.map((r) => addSpan.of(newSpan(r.from, r.to, r.tokens))) });
  void run();
}

// ---- Documents ----------------------------------------------------------------------------------

/** What the document commands need of the editor. */
const host: Host = {
  text: () => view.state.doc.toString(),
  extras: () => {
    const p = pinned(view.state);
    return {
      marks: marked(view.state).map(({ from, to, tokens, instruction }) => ({ from, to, tokens, instruction: instruction?.trim() || null })),
      ending: p?.text ?? $<HTMLInputElement>("ending").value,
      ending_at: p?.at ?? null,
      gap: p?.gap ?? gapInput(),
      authored: authoredRanges(view.state),
    };
  },
  show(text, extras) {
    view.setState(EditorState.create({ doc: text, extensions: extensions() }));
    const marks = (extras?.marks ?? []).filter((m) => m.from <= m.to && m.to <= text.length);
    const at = extras?.ending_at;
    const pin = extras?.ending && at !== null && at !== undefined && at <= text.length ? [setPinned.of({ at, text: extras.ending, gap: extras.gap })] : [];
    // Restored marks, ending and authorship are where the writer left them, not a step to undo.
    const authored = (extras?.authored ?? []).filter((r) => r.from < r.to && r.to <= text.length);
    const effects = [...marks.map((m) => addSpan.of(newSpan(m.from, m.to, m.tokens, m.instruction))), ...pin, restoreAuthored(authored)];
    if (effects.length) view.dispatch({ effects, annotations: Transaction.addToHistory.of(false) });
    $<HTMLInputElement>("ending").value = extras?.ending ?? "";
    $<HTMLInputElement>("gap").value = String(extras?.gap ?? SHARED.default_gap);
    updateWords();
    updateSteps();
  },
  replace: (text, authored) =>
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, effects: restoreAuthored(authored), userEvent: "input.reload" }),
  locked: () => (live() ? "Finish the run first: accept or reject what Dream wrote." : null),
  say,
};

// ---- Settings and theme -------------------------------------------------------------------------

function showSampling(s: SamplingSettings) {
  showChoice(fromSaved(s, settings?.candidates ?? 1, settings?.speed ?? "auto"));
  showCandidatesAllowed();
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
/** Pins the selected sentence as the ending where it stands: it leaves the text and becomes
 * the pinned ending at its place, in one step that Ctrl+Z undoes whole. */
function pinSelection() {
  const sel = view.state.selection.main;
  const text = view.state.sliceDoc(sel.from, sel.to).trim();
  view.dispatch({ changes: { from: sel.from, to: sel.to }, selection: { anchor: sel.from }, effects: setPinned.of({ at: sel.from, text, gap: gapInput() }) });
}

// Pin: the selection if there is one, else the sentence typed in the field, at the cursor.
$("pin").addEventListener("click", () => {
  if (view.state.field(liveField)) return say(LOCKED, "error");
  if (!view.state.selection.main.empty) pinSelection();
  else if (!pinAtCursor()) return;
  view.focus();
});
$("ending").addEventListener("keydown", (e) => {
  if (e.key === "Escape") return view.focus();
  if (e.key !== "Enter") return;
  // Not into the editor: focus moves there, and the Enter must not follow it.
  e.preventDefault();
  if (pinAtCursor()) view.focus();
});
// Editing the field or the gap edits the pinned ending (not a step of the document's undo).
for (const id of ["ending", "gap"]) {
  $(id).addEventListener("input", () => {
    const p = pinned(view.state);
    const text = $<HTMLInputElement>("ending").value;
    if (p) view.dispatch({ effects: setPinned.of(text.trim() ? { ...p, text, gap: gapInput() } : null), annotations: Transaction.addToHistory.of(false) });
    updateSteps();
    changed();
  });
}
/** Versions differ only with a temperature above 0 or an order drawn at random: the choice is
 * off until then. */
function showCandidatesAllowed() {
  const same = !variesWithSeed(readChoice());
  const select = $<HTMLSelectElement>("candidates");
  select.disabled = same;
  // Said next to the control, not only on hover.
  $("candidates-note").textContent = same ? "At temperature 0 every version is the same text: raise the temperature for more than one." : "";
}
onChoiceChange((field) => {
  if (field === "temperature") {
    // Typed values can leave the field's range: bring them back, and say so.
    const clamped = clampTemperature(readChoice().temperature);
    if (clamped !== null) {
      showChoice({ temperature: clamped });
      say(`The temperature goes from 0 to ${SHARED.max_temperature}: set to ${clamped}.`, "error");
    }
    showCandidatesAllowed();
  }
  if (field === "alg") showCandidatesAllowed();
  if (field === "steps" || field === "auto") updateSteps();
  const choice = readChoice();
  if (field === "speed" || field === "candidates") updateSteps();
  void persistSettings((s) => {
    if (field === "candidates") s.candidates = choice.candidates;
    else if (field === "speed") s.speed = choice.speed;
    else s.sampling = savedSettings(choice);
  });
});
$("speed-now").addEventListener("click", () => {
  showChoice({ speed: runShape(1).fast ? "exact" : "fast" });
  $("speed").dispatchEvent(new Event("change"));
});
$("run").addEventListener("click", () => void run());
$("stop").addEventListener("click", () => void stop());
$("accept").addEventListener("click", () => accept());
$("reject").addEventListener("click", () => reject());
$("regenerate").addEventListener("click", () => regenerate());
$("remask").addEventListener("click", () => remask());
// Shows (or hides) which words are the model's; the share is always in the status bar.
$<HTMLInputElement>("show-authorship").addEventListener("change", (e) => {
  $("editor").classList.toggle("show-authorship", (e.target as HTMLInputElement).checked);
});
$<HTMLInputElement>("heat").addEventListener("change", (e) => view.dispatch({ effects: toggleHeat.of((e.target as HTMLInputElement).checked) }));
$("theme").addEventListener("click", () => {
  const order: Settings["theme"][] = ["system", "light", "dark"];
  const next = order[(order.indexOf(settings?.theme ?? "system") + 1) % order.length];
  applyTheme(next);
  void persistSettings((s) => (s.theme = next));
});

shortcuts({
  state: () => view.state,
  focus: () => view.focus(),
  write: () => void run(),
  accept,
  stop: () => void stop(),
  reject,
  next: (direction) => focusTarget(view, direction),
  locked: () => say(LOCKED, "error"),
});

async function start() {
  try {
    settings = await api.getSettings();
    applyTheme(settings.theme);
    showSampling(settings.sampling);
  } catch (e) {
    // The controls show what a first start has (the page restates no default of its own).
    showSampling(DEFAULT_SETTINGS.sampling);
    say(describeError(e), "error");
  }
  await startDocuments(host);
  updateSteps();
  await setupModelDialog({
    settings: () => settings,
    persist: persistSettings,
    say,
    loading: (progress) => {
      model.loading = progress;
      const write = $<HTMLButtonElement>("run");
      write.disabled = progress !== null;
      write.title = progress ? `A model is loading (${progress}): Write is back once it is ready` : "Let Dream write (Ctrl+Enter)";
      if (progress) say(`${progress} Write is back once the model is ready.`);
    },
    loaded: (info) => {
      model.instructable = info?.instructions ?? false;
      instruction.show();
      // Step times belong to the model and device they were measured on.
      model.context = info?.context ?? 2048;
      model.flops = info?.step_flops ?? null;
      model.author = info?.author ?? model.author;
      speedModel.reset();
      updateSteps();
    },
  });
  view.focus();
}

void start();
