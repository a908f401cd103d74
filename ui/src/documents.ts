// The document on screen and its file: New, Open, Open Recent, Save, Save As, the unsaved
// marker, outside edits, autosave and the last session. The writer's text is never replaced
// without asking, and the page never names a file: paths come from the backend's dialogs.
import { api, describeError, isCommandError, type Authored, type DocState, type Opened, type Saved, type SavedMark } from "./ipc";
import { ask, asking, type Choice } from "./prompt";
import { $ } from "./dom";
import { SHARED } from "./bindings";

/** What an autosave keeps besides the text. */
export interface Extras {
  marks: SavedMark[];
  ending: string;
  /** Where the ending is pinned; null when it is only typed in the field. */
  ending_at: number | null;
  gap: number;
  /** The ranges the model wrote. */
  authored: Authored[];
}

export interface Host {
  text(): string;
  extras(): Extras;
  /** Shows `text` as a fresh document (new undo history) with its marks and ending. */
  show(text: string, extras: Extras | null): void;
  /** Replaces the text and its authorship in one undoable change (so a reload keeps the way back). */
  replace(text: string, authored: Authored[]): void;
  /** Why the document cannot be swapped now (a run or review on screen), or null. */
  locked(): string | null;
  say(text: string, kind?: "info" | "error"): void;
}

interface Current {
  path: string | null;
  /** Fingerprint of the file version the text started from. */
  base: string | null;
  /** The file's text as last loaded or saved; null when unknown (always unsaved). */
  saved: string | null;
  /** The writer kept their text over an outside edit: Save asks before overwriting. */
  keptMine: boolean;
}

let host: Host;
let started = false;
let cur: Current = { path: null, base: null, saved: "", keptMine: false };

export const nameOf = (path: string | null) => (path ? (path.split(/[\\/]/).pop() ?? path) : "Untitled");

export function isDirty(): boolean {
  return cur.saved === null || host.text() !== cur.saved;
}

/** The unsaved marker: a dot in the window title and beside the document's name. */
export function updateTitle() {
  const dirty = isDirty();
  document.title = `${dirty ? "• " : ""}${nameOf(cur.path)} — ${SHARED.app_name}`;
  const name = $("doc-name");
  name.textContent = nameOf(cur.path);
  name.title = cur.path ?? "Not saved yet";
  name.classList.toggle("dirty", dirty);
}

// ---- The banner for a file that changed on disk -----------------------------------------------

function banner(text: string, choices: (Choice & { run: () => unknown })[]) {
  const box = $("disk-banner");
  $("disk-text").textContent = text;
  $("disk-choices").replaceChildren(
    ...choices.map((c) => {
      const b = document.createElement("button");
      b.textContent = c.label;
      b.dataset.choice = c.id;
      if (c.primary) b.className = "primary";
      b.addEventListener("click", () => {
        hideBanner();
        void c.run();
      });
      return b;
    }),
  );
  box.hidden = false;
}

function hideBanner() {
  $("disk-banner").hidden = true;
}

const keepMine = { id: "keep", label: "Keep mine", run: () => (cur.keptMine = true) };
const saveCopy = { id: "copy", label: "Save mine as a copy…", run: () => saveAs() };
const reloadTheirs = { id: "reload", label: "Reload theirs", run: () => reload() };

/** Replaces the text with the file's current version, as one undoable change. */
async function reload() {
  if (!cur.path) return;
  try {
    const o = await api.openDocument(cur.path);
    if (!o.file) return;
    host.replace(o.file.text, o.authored);
    droppedAuthorship(o);
    cur = { path: cur.path, base: o.file.base, saved: o.file.text, keptMine: false };
    updateTitle();
    host.say(`Reloaded ${nameOf(cur.path)} from disk (Ctrl+Z brings your version back).`);
  } catch (e) {
    host.say(describeError(e), "error");
  }
}

/** Checks the file against what was loaded or saved (on window focus). */
export async function checkDisk() {
  if (!cur.path || !cur.base || cur.keptMine || asking() || !$("disk-banner").hidden) return;
  const path = cur.path;
  const state = await api.checkDocument(path, cur.base).catch(() => "same" as const);
  if (state === "same" || path !== cur.path) return;
  if (state === "missing") banner(`${nameOf(path)} was moved or deleted. Your text is still here.`, [keepMine, saveCopy]);
  else banner(`${nameOf(path)} was changed by another program.`, [{ ...reloadTheirs, primary: true }, keepMine, saveCopy]);
}

// ---- Opening ----------------------------------------------------------------------------------

const extrasOf = (a: DocState): Extras => ({ marks: a.marks, ending: a.ending, ending_at: a.ending_at, gap: a.gap, authored: a.authored });

/** Says when the authorship file beside a document no longer matched parts of its text. */
function droppedAuthorship(o: Opened) {
  const n = o.authored_dropped;
  if (n > 0)
    host.say(
      `${nameOf(o.path)} was edited outside ${SHARED.app_name}: ${n} ${n === 1 ? "mark" : "marks"} of Dream's words no longer matched the text and ${n === 1 ? "was" : "were"} dropped.`,
      "error",
    );
}

/** Shows an opened document: the file, or its autosave when that holds unsaved changes, and
 * says so whenever the two differ. */
function load(o: Opened, atStart: boolean) {
  hideBanner();
  const { file, autosave: a } = o;
  const name = nameOf(o.path);
  if (!o.path) {
    host.show(a?.text ?? "", a ? extrasOf(a) : null);
    cur = { path: null, base: null, saved: "", keptMine: false };
  } else if (!file) {
    host.show(a?.text ?? "", a ? extrasOf(a) : null);
    cur = { path: o.path, base: a?.base ?? null, saved: null, keptMine: false };
    banner(`${name} could not be found: it was moved or deleted. ${a ? "Your last text of it is here." : ""}`, [keepMine, saveCopy]);
  } else if (!a || a.text === file.text || !o.autosave_unsaved) {
    // Nothing unsaved: the file as it is (its marks too, if the text is the one they belong
    // to), and which of its words are Dream's.
    const extras = a && a.text === file.text ? extrasOf(a) : { marks: [], ending: "", ending_at: null, gap: SHARED.default_gap };
    host.show(file.text, { ...extras, authored: o.authored });
    droppedAuthorship(o);
    cur = { path: o.path, base: file.base, saved: file.text, keptMine: false };
    if (atStart && a && a.text !== file.text) host.say(`${name} changed on disk since last time; this is its new version.`);
  } else if (a.base === file.base) {
    host.show(a.text, extrasOf(a));
    cur = { path: o.path, base: file.base, saved: file.text, keptMine: false };
    banner(`Your unsaved changes to ${name} from last time are restored; the file itself is unchanged.`, [
      { id: "keep", label: "Keep my changes", primary: true, run: () => {} },
      { id: "reload", label: "Use the saved file", run: () => reload() },
    ]);
  } else {
    host.show(a.text, extrasOf(a));
    cur = { path: o.path, base: a.base, saved: null, keptMine: false };
    banner(`${name} was changed by another program, and you have unsaved changes to it.`, [
      { id: "reload", label: "Use the file on disk", run: () => reload() },
      keepMine,
      saveCopy,
    ]);
  }
  updateTitle();
}

/** Before the document is replaced or closed: save, drop or keep unsaved changes. Resolves to
 * whether to go on. */
async function confirmLeave(): Promise<boolean> {
  if (!isDirty()) {
    await autosave();
    return true;
  }
  const answer = await ask("Unsaved changes", `Save the changes to ${nameOf(cur.path)}?`, [
    { id: "save", label: "Save", primary: true },
    { id: "discard", label: "Don't save" },
    { id: "cancel", label: "Cancel" },
  ]);
  if (answer === "save") return save();
  if (answer !== "discard") return false;
  window.clearTimeout(autosaveTimer);
  await api.discardAutosave(cur.path).catch(() => {});
  return true;
}

function refuseWhileLocked(): boolean {
  const why = host.locked();
  if (why) host.say(why, "error");
  return why !== null;
}

export async function newDocument() {
  if (refuseWhileLocked() || !(await confirmLeave())) return;
  try {
    await api.newDocument();
    load({ path: null, file: null, autosave: null, autosave_unsaved: false, authored: [], authored_dropped: 0 }, false);
    host.say("New document.");
  } catch (e) {
    host.say(describeError(e), "error");
  }
}

/** Opens `path` (from Open Recent), or the file picked in the Open dialog. */
export async function openDocument(path?: string) {
  if (refuseWhileLocked()) return;
  try {
    const chosen = path ?? (await api.chooseDocument());
    if (!chosen || !(await confirmLeave())) return;
    const opened = await api.openDocument(chosen);
    // Said first: what loading finds (authorship that no longer matches) is said over it.
    host.say(`Opened ${nameOf(chosen)}.`);
    load(opened, false);
  } catch (e) {
    host.say(describeError(e), "error");
  }
}

// ---- Saving -----------------------------------------------------------------------------------

function saved(s: Saved, text: string) {
  cur = { path: s.path, base: s.base, saved: text, keptMine: false };
  hideBanner();
  updateTitle();
  host.say(`Saved ${nameOf(s.path)}.`);
  void autosave();
}

/** Saves to the document's file (Save As for a new one); whether it was saved. An outside
 * edit since it was opened is never overwritten without asking. */
export async function save(overwrite = false): Promise<boolean> {
  if (!cur.path) return saveAs();
  const text = host.text();
  try {
    saved(await api.saveDocument(cur.path, text, cur.base, overwrite, host.extras().authored), text);
    return true;
  } catch (e) {
    if (!isCommandError(e) || e.code !== "changed_on_disk") {
      host.say(describeError(e), "error");
      return false;
    }
    const answer = await ask("Changed on disk", `${e.message} Replace it with your version?`, [
      { id: "replace", label: "Replace" },
      { id: "save-as", label: "Save As…", primary: true },
      { id: "cancel", label: "Cancel" },
    ]);
    if (answer === "replace") return save(true);
    if (answer === "save-as") return saveAs();
    return false;
  }
}

export async function saveAs(): Promise<boolean> {
  const text = host.text();
  try {
    const s = await api.saveDocumentAs(text, host.extras().authored);
    if (!s) return false;
    saved(s, text);
    return true;
  } catch (e) {
    host.say(describeError(e), "error");
    return false;
  }
}

/** Writes a copy where the writer picks: with a Markdown Annotations block naming Dream's
 * words, or the text alone. The document open now stays the one being edited. */
async function exportCopy(keepAuthorship: boolean) {
  try {
    const path = await api.exportDocument(host.text(), host.extras().authored, keepAuthorship);
    if (path) host.say(`Exported ${nameOf(path)} ${keepAuthorship ? "with" : "without"} Dream's authorship marks.`);
  } catch (e) {
    host.say(describeError(e), "error");
  }
}

// ---- Autosave, recent files, closing ------------------------------------------------------------

let autosaveTimer: number | undefined;

/** Call on every change of the text, the marks or the ending. */
export function changed() {
  if (!started) return;
  updateTitle();
  window.clearTimeout(autosaveTimer);
  autosaveTimer = window.setTimeout(() => void autosave(), 1500);
}

async function autosave() {
  window.clearTimeout(autosaveTimer);
  try {
    await api.autosave({ path: cur.path, text: host.text(), base: cur.base, ...host.extras() });
  } catch (e) {
    host.say(`Autosave failed: ${describeError(e)}`, "error");
  }
}

/** Fills Open Recent: the last documents, the missing ones shown as such. */
async function fillRecent() {
  const list = $("recent-list");
  const entries = await api.recentDocuments().catch(() => []);
  list.replaceChildren(
    ...entries.map((r) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.textContent = r.exists ? r.name : `${r.name} (missing)`;
      b.title = r.path;
      b.dataset.path = r.path;
      b.disabled = !r.exists;
      b.addEventListener("click", () => {
        $<HTMLDetailsElement>("recent").open = false;
        $<HTMLDetailsElement>("file-menu").open = false;
        void openDocument(r.path);
      });
      li.append(b);
      return li;
    }),
  );
  if (entries.length === 0) list.textContent = "No recent documents.";
}

async function closeRequested() {
  if (asking()) return;
  if (await confirmLeave()) await api.closeWindow();
}

/** Restores the last session and wires the file commands. */
export async function startDocuments(h: Host) {
  host = h;
  started = true;
  // The File menu closes once a command is chosen.
  const command = (run: () => unknown) => () => {
    $<HTMLDetailsElement>("file-menu").open = false;
    void run();
  };
  $("new").addEventListener("click", command(newDocument));
  $("open").addEventListener(
    "click",
    command(() => openDocument()),
  );
  $("save").addEventListener(
    "click",
    command(() => save()),
  );
  $("save-as").addEventListener("click", command(saveAs));
  $("export-annotated").addEventListener(
    "click",
    command(() => exportCopy(true)),
  );
  $("export-plain").addEventListener(
    "click",
    command(() => exportCopy(false)),
  );
  $("recent").addEventListener("toggle", () => $<HTMLDetailsElement>("recent").open && void fillRecent());
  window.addEventListener("keydown", (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || asking()) return;
    const key = e.key.toLowerCase();
    const action = key === "n" ? newDocument : key === "o" ? () => openDocument() : key === "s" ? (e.shiftKey ? saveAs : () => save()) : null;
    if (!action) return;
    e.preventDefault();
    void action();
  });
  window.addEventListener("focus", () => void checkDisk());
  await api.watchWindow((n) => n.event === "close_requested" && void closeRequested()).catch(() => {});
  try {
    load(await api.restoreSession(), true);
  } catch (e) {
    host.say(describeError(e), "error");
    updateTitle();
  }
  const notices = await api.takeNotices().catch(() => []);
  if (notices.length) void ask("Some files could not be used", notices.join("\n\n"), [{ id: "ok", label: "OK", primary: true }]);
}
