// What the model dialog says about this computer: the device "auto" picks, the GPUs found, the
// free memory, and which devices this build cannot use, in plain words.
import { SHARED, type SystemInfo } from "./bindings";
import { $ } from "./dom";
import { gib } from "./units";

/** Shows `info` in the dialog and turns off the devices in `device` this build cannot use. */
export function showSystem(info: SystemInfo, device: HTMLSelectElement) {
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
}
