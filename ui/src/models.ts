// The model manager: known models, a folder or repo, device and precision, a "will it fit"
// estimate, loading with progress. With nothing chosen yet, the built-in demo loads. What the
// dialog shows is drawn by model-list (the models), model-system (this computer) and
// model-copies (smaller copies); this module loads models and wires the dialog.
import { api, describeError, isCommandError, precision, type DeviceChoice, type LoadRequest, type ModelInfo, type Settings } from "./ipc";
import type { CopyType, FitEstimate, LoadEvent } from "./bindings";
import { $ } from "./dom";
import { setupCopies, showCopySource } from "./model-copies";
import { showModelList } from "./model-list";
import { showSystem } from "./model-system";
import { gib } from "./units";

interface Hooks {
  settings: () => Settings | null;
  persist: (change: (s: Settings) => void) => Promise<void>;
  say: (text: string, kind?: "info" | "error") => void;
  /** Another model is loaded (or none). */
  loaded: (info: ModelInfo | null) => void;
  /** A load's progress in words while it runs; null once it ended. */
  loading: (progress: string | null) => void;
}

export async function setupModelDialog(hooks: Hooks) {
  const dialog = $<HTMLDialogElement>("model-dialog");
  const device = $<HTMLSelectElement>("device");
  const dtype = $<HTMLSelectElement>("dtype");
  const s = hooks.settings();
  const mirror = $<HTMLInputElement>("mirror");
  if (s) {
    device.value = s.device;
    dtype.value = s.dtype ?? "";
    mirror.value = s.hf_endpoint ?? "";
  }
  mirror.addEventListener("change", () => void hooks.persist((st) => (st.hf_endpoint = mirror.value.trim() || null)));
  $("load-cancel").addEventListener("click", () => void api.cancelLoad());
  const request = (model: string): LoadRequest => ({ model, device: device.value as DeviceChoice, dtype: precision(dtype.value), redownload: false });

  let loaded: ModelInfo | null = null;
  const showLoaded = (info: ModelInfo | null) => {
    if (info?.source !== loaded?.source || info?.device !== loaded?.device || info?.dtype !== loaded?.dtype) hooks.loaded(info);
    loaded = info;
    showModelButton(info);
    showCopySource(info);
  };

  const makeCopy = setupCopies(() => list());

  const fit = async (model: string, available = false) => {
    try {
      showFit(await api.estimateFit(request(model)), available ? (kind) => void makeCopy(model, kind) : null);
    } catch (e) {
      $("fit").textContent = describeError(e);
    }
  };

  /** Offers to fetch a damaged model's bad files again. */
  const offerRedownload = (model: string) => {
    const again = document.createElement("button");
    again.textContent = "Download again";
    again.id = "load-again";
    again.addEventListener("click", () => void load(model, true));
    $("load-progress").append(" ", again);
  };

  /** Loads `model` (fetching its damaged files again with `redownload`); whether it worked. */
  const load = async (model: string, redownload = false): Promise<boolean> => {
    const progress = $("load-progress");
    const cancel = $("load-cancel");
    progress.textContent = "Loading…";
    $("model-button").textContent = "Loading…";
    // The old model is let go as the load begins: nothing to write with until it ends.
    hooks.loading("Loading…");
    try {
      cancel.hidden = model === "demo";
      const info = await api.loadModel({ ...request(model), redownload }, (e) => {
        progress.textContent = progressText(e);
        hooks.loading(progress.textContent);
      });
      progress.textContent = `Loaded ${info.name} on ${info.device} (${info.dtype}).`;
      showLoaded(info);
      // What is downloaded and loaded now has changed: the list says so.
      void list();
      hooks.say(`${info.name} is ready.`);
      await hooks.persist((st) => {
        st.last_model = model;
        st.device = device.value as DeviceChoice;
        st.dtype = precision(dtype.value);
      });
      return true;
    } catch (e) {
      progress.textContent = describeError(e);
      if (isCommandError(e) && e.code === "damaged_model") offerRedownload(model);
      hooks.say(describeError(e), "error");
      showLoaded((await api.modelStatus()).loaded);
      return false;
    } finally {
      cancel.hidden = true;
      hooks.loading(null);
    }
  };

  const list = async () => {
    const estimate = (model: string) => api.estimateFit(request(model)).then((e) => e.message);
    const verify = (m: string) => void verifyModel(m, () => offerRedownload(m));
    showModelList(await api.listModels(), loaded, { load: (m) => void load(m), fit: (m, a) => void fit(m, a), estimate, verify });
  };

  $("model-button").addEventListener("click", () => {
    void list();
    void api.systemInfo().then((info) => showSystem(info, device));
    dialog.showModal();
  });
  wireModelPath({ fit: (path) => void fit(path), load: (path) => void load(path), say: hooks.say });

  const status = await api.modelStatus();
  showLoaded(status.loaded);
  if (!status.loaded && !status.loading) {
    const last = s?.last_model ?? "demo";
    // The last model may be gone (moved, deleted, not downloadable offline): the app still
    // opens ready to write, with the demo, and says why.
    if (!(await load(last)) && last !== "demo") {
      const why = $("load-progress").textContent;
      if (await load("demo")) hooks.say(`Could not load ${last} (${why}); the demo model is loaded instead.`, "error");
    }
  }
}

/** The toolbar's model button (the name, cut to fit; the whole of it and the device on hover)
 * and, while the demo is loaded, one short note on what it writes. */
function showModelButton(info: ModelInfo | null) {
  const button = $("model-button");
  const name = info ? info.name : "No model";
  button.textContent = name.length > 17 ? `${name.slice(0, 16)}…` : name;
  button.title = info ? `${info.name} on ${info.device} (${info.dtype}): choose and load a model` : "Choose and load a model";
  const note = $("model-note");
  note.textContent = info?.note ? `Demo model: ${info.note.summary}` : "";
  note.title = info?.note?.about ?? "";
}

/** Whether the model fits, in words, and the smaller copy to make when one would fit (offered
 * with `makeCopy` when the model is on disk to copy from). */
function showFit(estimate: FitEstimate, makeCopy: ((kind: CopyType) => void) | null) {
  $("fit").textContent = `${estimate.name}: ${estimate.message}`;
  const suggest = estimate.suggest;
  if (suggest && makeCopy) {
    const b = document.createElement("button");
    b.id = "fit-copy";
    b.textContent = `Make a ${suggest === "q8_0" ? "Q8_0" : "Q4_K"} copy`;
    b.addEventListener("click", () => makeCopy(suggest));
    $("fit").append(" ", b);
  }
}

/** A load's progress in words: the download of each file, then the reading of the weights. */
function progressText(e: LoadEvent): string {
  if (e.stage !== "download") return `Loading ${e.model}…`;
  const again = e.again ? " whole again (what an earlier try left did not verify)" : "";
  return `Downloading ${e.file}${again}: ${e.total ? Math.round((100 * e.downloaded) / e.total) : 0}% of ${gib(e.total)}`;
}

/** Checks a downloaded model's files, and offers (`again`) to fetch the damaged ones again. */
async function verifyModel(model: string, again: () => void) {
  $("load-progress").textContent = `Checking ${model}…`;
  try {
    const damage = await api.verifyModel(model);
    $("load-progress").textContent = damage.length ? `Damaged: ${damage.map((d) => `${d.file} (${d.reason})`).join(", ")}.` : `${model}: every file matches.`;
    if (damage.length) again();
  } catch (err) {
    $("load-progress").textContent = describeError(err);
  }
}

/** A folder or file the writer names: typed (Enter or Load) or picked in the platform's
 * dialog; its fit is shown as soon as it is named. */
function wireModelPath(act: { fit(path: string): void; load(path: string): void; say: Hooks["say"] }) {
  const field = $<HTMLInputElement>("model-path");
  const loadTyped = () => {
    const path = field.value.trim();
    if (path) act.load(path);
  };
  $("model-path-load").addEventListener("click", loadTyped);
  for (const kind of ["folder", "file"] as const) {
    $(`model-pick-${kind}`).addEventListener("click", async () => {
      const path = await api.pickModel(kind).catch((e) => (act.say(describeError(e), "error"), null));
      if (!path) return;
      act.fit(path);
      act.load(path);
    });
  }
  field.addEventListener("keydown", (e) => {
    if (e.key === "Enter") loadTyped();
  });
  field.addEventListener("change", () => act.fit(field.value.trim()));
}
