// The model dialog's list: the known models, the copies made, and one chosen from disk while
// it is loaded, each with its size, whether it is downloaded, its fit, and its buttons.
import type { ModelEntry, ModelInfo } from "./bindings";
import { $ } from "./dom";
import { gib } from "./units";

export interface ListActions {
  load: (model: string) => void;
  /** Shows the fit estimate of a model the pointer is on. */
  fit: (model: string, available: boolean) => void;
  /** Every model's fit, in words, without hovering. */
  estimate: (model: string) => Promise<string>;
  verify: (model: string) => void;
}

export function showModelList(models: ModelEntry[], loaded: ModelInfo | null, act: ListActions) {
  // A folder or file the writer chose is listed while it is loaded.
  if (loaded && !models.some((m) => m.id === loaded.source)) {
    models.push({ id: loaded.source, description: "Chosen from disk", available: true, download_bytes: 0 });
  }
  $("model-list").replaceChildren(...models.map((m) => entry(m, loaded, act)));
}

function entry(m: ModelEntry, loaded: ModelInfo | null, act: ListActions): HTMLLIElement {
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
  b.addEventListener("click", () => act.load(m.id));
  li.addEventListener("mouseenter", () => act.fit(m.id, m.available));
  const fits = document.createElement("span");
  fits.className = "note fit-line";
  act.estimate(m.id).then(
    (message) => (fits.textContent = message),
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
    check.addEventListener("click", () => act.verify(m.id));
    li.append(check);
  }
  return li;
}
