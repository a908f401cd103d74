// The model manager: known models, a folder or repo, device and precision, a "will it fit"
// estimate, loading with progress. With nothing chosen yet, the built-in demo loads. What the
// dialog shows is drawn by model-list (the models), model-system (this computer) and
// model-copies (smaller copies); this module loads models and wires the dialog.
import { api, describeError, isCommandError, precision, type DeviceChoice, type LoadRequest, type ModelInfo, type Settings } from "./ipc";
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
    const button = $("model-button");
    // The name, short enough for the toolbar; the whole of it and the device on hover.
    const name = info ? info.name : "No model";
    button.textContent = name.length > 17 ? `${name.slice(0, 16)}…` : name;
    button.title = info ? `${info.name} on ${info.device} (${info.dtype}): choose and load a model` : "Choose and load a model";
    // One short note while the demo is loaded (the load itself says only that it is ready).
    const note = $("model-note");
    note.textContent = info?.note ? `Demo model: ${info.note.summary}` : "";
    note.title = info?.note?.about ?? "";
    showCopySource(info);
  };

  const makeCopy = setupCopies(() => list());

  const fit = async (model: string, available = false) => {
    try {
      const estimate = await api.estimateFit(request(model));
      $("fit").textContent = `${estimate.name}: ${estimate.message}`;
      const suggest = estimate.suggest;
      if (suggest && available) {
        const b = document.createElement("button");
        b.id = "fit-copy";
        b.textContent = `Make a ${suggest === "q8_0" ? "Q8_0" : "Q4_K"} copy`;
        b.addEventListener("click", () => void makeCopy(model, suggest));
        $("fit").append(" ", b);
      }
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
        progress.textContent =
          e.stage === "download"
            ? `Downloading ${e.file}${e.again ? " whole again (what an earlier try left did not verify)" : ""}: ${e.total ? Math.round((100 * e.downloaded) / e.total) : 0}% of ${gib(e.total)}`
            : `Loading ${e.model}…`;
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

  /** Checks a downloaded model's files, and offers to fetch the damaged ones again. */
  const verify = async (model: string) => {
    $("load-progress").textContent = `Checking ${model}…`;
    try {
      const damage = await api.verifyModel(model);
      $("load-progress").textContent = damage.length ? `Damaged: ${damage.map((d) => `${d.file} (${d.reason})`).join(", ")}.` : `${model}: every file matches.`;
      if (damage.length) offerRedownload(model);
    } catch (err) {
      $("load-progress").textContent = describeError(err);
    }
  };

  const list = async () => {
    const estimate = (model: string) => api.estimateFit(request(model)).then((e) => e.message);
    showModelList(await api.listModels(), loaded, { load: (m) => void load(m), fit: (m, a) => void fit(m, a), estimate, verify: (m) => void verify(m) });
  };

  $("model-button").addEventListener("click", () => {
    void list();
    void api.systemInfo().then((info) => showSystem(info, device));
    dialog.showModal();
  });
  const loadPath = () => {
    const path = $<HTMLInputElement>("model-path").value.trim();
    if (path) void load(path);
  };
  $("model-path-load").addEventListener("click", loadPath);
  // Local models come from the platform's dialogs.
  for (const kind of ["folder", "file"] as const) {
    $(`model-pick-${kind}`).addEventListener("click", async () => {
      const path = await api.pickModel(kind).catch((e) => (hooks.say(describeError(e), "error"), null));
      if (!path) return;
      void fit(path);
      void load(path);
    });
  }
  $("model-path").addEventListener("keydown", (e) => {
    if (e.key === "Enter") loadPath();
  });
  $("model-path").addEventListener("change", () => void fit($<HTMLInputElement>("model-path").value.trim()));

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
