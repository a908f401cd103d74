// Smaller copies in the model dialog: Q8_0 or Q4_K of the loaded full-precision model, with
// progress and Cancel.
import { api, describeError, type CopyType, type ModelInfo } from "./ipc";
import { $ } from "./dom";

/** The copy row offers a copy of `info` when it is a full-precision model (not the demo, not
 * a copy itself). */
export function showCopySource(info: ModelInfo | null) {
  const copyable = info && !info.demo && !info.source.toLowerCase().endsWith(".gguf");
  $("copy-row").hidden = !copyable;
  if (copyable) {
    $("copy-source").textContent = `${info.name}:`;
    $("copy-source").dataset.model = info.source;
  }
}

/** Makes a smaller copy of `model`, with progress and Cancel, then calls `copied`. */
const makeCopy = async (model: string, kind: CopyType, copied: () => Promise<void>) => {
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
    await copied();
  } catch (e) {
    progress.textContent = describeError(e);
  } finally {
    cancel.hidden = true;
    $<HTMLButtonElement>("copy-make").disabled = false;
  }
};
/** Wires the copy row; the function that makes a copy (for the fit estimate's offer too). */
export function setupCopies(copied: () => Promise<void>): (model: string, kind: CopyType) => Promise<void> {
  $("copy-make").addEventListener("click", () => {
    const model = $("copy-source").dataset.model;
    if (model) void makeCopy(model, $<HTMLSelectElement>("copy-kind").value as CopyType, copied);
  });
  $("copy-cancel").addEventListener("click", () => void api.cancelCopy());
  return (model, kind) => makeCopy(model, kind, copied);
}
