// The model manager: known models, a folder or repo, device and precision, a "will it fit"
// estimate, loading with progress. With nothing chosen yet, the built-in demo loads.
import { api, describeError, isCommandError, precision, type CopyType, type DeviceChoice, type LoadRequest, type ModelInfo, type Settings } from "./ipc";
import { $ } from "./dom";
import { SHARED } from "./bindings";

interface Hooks {
  settings: () => Settings | null;
  persist: (change: (s: Settings) => void) => Promise<void>;
  say: (text: string, kind?: "info" | "error") => void;
  /** Another model is loaded (or none). */
  loaded: (info: ModelInfo | null) => void;
  /** A load's progress in words while it runs; null once it ended. */
  loading: (progress: string | null) => void;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
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
    button.textContent = name.length > 22 ? `${name.slice(0, 21)}…` : name;
    button.title = info ? `${info.name} on ${info.device} (${info.dtype}): choose and load a model` : "Choose and load a model";
    $("model-note").textContent = info?.demo ? "Demo model: random weights, its text is noise." : "";
    // A smaller copy can be made of a full-precision model (not the demo, not a copy).
    const copyable = info && !info.demo && !info.source.toLowerCase().endsWith(".gguf");
    $("copy-row").hidden = !copyable;
    if (copyable) {
      $("copy-source").textContent = `${info.name}:`;
      $("copy-source").dataset.model = info.source;
    }
  };

  /** Makes a smaller copy of `model`, with progress and Cancel, then lists it. */
  const makeCopy = async (model: string, kind: CopyType) => {
    const progress = $("load-progress");
    const cancel = $("copy-cancel");
    const label = kind === "q8_0" ? "Q8_0" : "Q4_K";
    progress.textContent = `Making a ${label} copy…`;
    cancel.hidden = false;
    $<HTMLButtonElement>("copy-make").disabled = true;
    try {
      const path = await api.makeSmallerCopy(model, kind, (p) => {
        progress.textContent = `Making a ${label} copy: ${Math.round((100 * p.done) / Math.max(1, p.total))}% (${p.done} of ${p.total} tensors)`;
      });
      progress.textContent = `The ${label} copy is ready: ${path}. Load it from the list.`;
      await list();
    } catch (e) {
      progress.textContent = describeError(e);
    } finally {
      cancel.hidden = true;
      $<HTMLButtonElement>("copy-make").disabled = false;
    }
  };
  $("copy-make").addEventListener("click", () => {
    const model = $("copy-source").dataset.model;
    if (model) void makeCopy(model, $<HTMLSelectElement>("copy-kind").value as CopyType);
  });
  $("copy-cancel").addEventListener("click", () => void api.cancelCopy());

  const fit = async (model: string, available = false) => {
    try {
      const estimate = await api.estimateFit(request(model));
      const shown = model === "demo" ? "Built-in demo" : /^([A-Za-z]:)?[\\/]/.test(model) ? model.split(/[\\/]/).pop() : model;
      $("fit").textContent = `${shown}: ${estimate.message}`;
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
            ? `Downloading ${e.file}: ${e.total ? Math.round((100 * e.downloaded) / e.total) : 0}% of ${gib(e.total)}`
            : `Loading ${e.model}…`;
        hooks.loading(progress.textContent);
      });
      progress.textContent = `Loaded ${info.name} on ${info.device} (${info.dtype}).`;
      showLoaded(info);
      // What is downloaded and loaded now has changed: the list says so.
      void list();
      hooks.say(info.demo ? "Demo model loaded: its output is noise; load Dream 7B for real text." : `${info.name} is ready.`);
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
    const models = await api.listModels();
    // A folder or file the writer chose is listed while it is loaded.
    if (loaded && !models.some((m) => m.id === loaded?.source)) {
      models.push({ id: loaded.source, description: "Chosen from disk", available: true, download_bytes: 0 });
    }
    const ul = $("model-list");
    ul.replaceChildren();
    for (const m of models) {
      const li = document.createElement("li");
      li.dataset.model = m.id;
      const name = document.createElement("strong");
      // A copy in the app's folder goes by its file name; the full path is in the tooltip.
      const isPath = m.id.startsWith("/") || /^[A-Za-z]:[\\/]/.test(m.id);
      name.textContent = m.id === "demo" ? "Built-in demo" : isPath ? (m.id.split(/[\\/]/).pop() ?? m.id) : m.id;
      name.title = m.id;
      const about = document.createElement("span");
      about.textContent = ` ${m.description}${m.download_bytes ? ` · ${gib(m.download_bytes)}${m.available ? ", downloaded" : ""}` : ""}`;
      const b = document.createElement("button");
      b.textContent = m.available || m.id === "demo" ? "Load" : "Download and load";
      b.addEventListener("click", () => void load(m.id));
      li.addEventListener("mouseenter", () => void fit(m.id, m.available));
      // Every model's fit, without hovering.
      const fits = document.createElement("span");
      fits.className = "note fit-line";
      api.estimateFit(request(m.id)).then(
        (e) => (fits.textContent = e.message),
        () => (fits.textContent = ""),
      );
      if (loaded && loaded.source === m.id) {
        li.classList.add("loaded");
        b.textContent = "Loaded ✓";
        b.disabled = true;
      }
      const text = document.createElement("span");
      text.className = "model-text";
      text.append(name, about, document.createElement("br"), fits);
      li.append(text, b);
      if (m.available && m.id !== "demo" && !m.id.toLowerCase().endsWith(".gguf")) {
        const check = document.createElement("button");
        check.textContent = "Verify";
        check.title = "Re-hash every file against what was checked when it was downloaded";
        check.className = "verify";
        check.addEventListener("click", async () => {
          $("load-progress").textContent = `Checking ${m.id}…`;
          try {
            const damage = await api.verifyModel(m.id);
            $("load-progress").textContent = damage.length
              ? `Damaged: ${damage.map((d) => `${d.file} (${d.reason})`).join(", ")}.`
              : `${m.id}: every file matches.`;
            if (damage.length) offerRedownload(m.id);
          } catch (err) {
            $("load-progress").textContent = describeError(err);
          }
        });
        li.append(check);
      }
      ul.append(li);
    }
  };

  $("model-button").addEventListener("click", () => {
    void list();
    void api.systemInfo().then((info) => {
      const support = [info.cuda && "CUDA", info.metal && "Metal"].filter(Boolean).join(", ") || "none in this build";
      const found = info.gpus.map((g) => `${g.name}, ${gib(g.memory_free)} of ${gib(g.memory_total)} free`).join("; ");
      const mem = info.system_memory_available ? `; ${gib(info.system_memory_available)} RAM free` : "";
      $("system").textContent = `auto → ${info.auto_device} (GPU support: ${support}${found ? `; found ${found}` : ""}${mem})`;
      // Devices this build cannot use are there, off, with the reason in plain words.
      const reasons: Record<string, string | null> = {
        cuda: info.cuda
          ? null
          : info.gpus.length
            ? `This copy of ${SHARED.app_name} was built without NVIDIA (CUDA) support; install the CUDA build to use your GPU.`
            : `No NVIDIA GPU was found, or this copy of ${SHARED.app_name} was built without CUDA support.`,
        metal: info.metal ? null : "Metal is for Apple computers; it is not available here.",
      };
      for (const option of Array.from(device.options)) {
        const why = reasons[option.value] ?? null;
        option.disabled = why !== null;
        option.title = why ?? "";
        if (why) option.textContent = `${option.value === "cuda" ? "CUDA" : "Metal"} (not available)`;
      }
      $("device-note").textContent = [reasons.cuda, reasons.metal].filter(Boolean)[0] ?? "";
    });
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
