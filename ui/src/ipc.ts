// Typed access to the app's commands (src-tauri/src/commands). Every type that crosses is
// declared in bindings.ts, generated from the Rust types (and checked against them by
// `cargo test`).
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  Authored,
  CommandError,
  CopyProgress,
  CopyType,
  Damage,
  DiskState,
  DocState,
  FitEstimate,
  Written,
  InfillRequest,
  LoadEvent,
  LoadRequest,
  ModelEntry,
  ModelInfo,
  ModelPick,
  ModelStatus,
  Opened,
  Precision,
  RecentEntry,
  Saved,
  Settings,
  StepUpdate,
  SystemInfo,
  WindowNotice,
} from "./bindings";

export type * from "./bindings";

/** A precision from the page's select ("" is the device's default). */
export const precision = (value: string): Precision | null => (value === "f32" || value === "bf16" || value === "f16" ? value : null);

export function isCommandError(e: unknown): e is CommandError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** A plain sentence for any failure, for the status line. */
export function describeError(e: unknown): string {
  if (isCommandError(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export const api = {
  modelStatus: () => invoke<ModelStatus>("model_status"),
  listModels: () => invoke<ModelEntry[]>("list_models"),
  systemInfo: () => invoke<SystemInfo>("system_info"),
  estimateFit: (request: LoadRequest) => invoke<FitEstimate>("estimate_fit", { request }),
  loadModel: (request: LoadRequest, onProgress: (e: LoadEvent) => void) => {
    const channel = new Channel<LoadEvent>();
    channel.onmessage = onProgress;
    return invoke<ModelInfo>("load_model", { request, onProgress: channel });
  },
  cancelLoad: () => invoke<boolean>("cancel_load"),
  /** Quantizes `model` into the app's data folder; resolves to the copy's path. */
  makeSmallerCopy: (model: string, kind: CopyType, onProgress: (p: CopyProgress) => void) => {
    const channel = new Channel<CopyProgress>();
    channel.onmessage = onProgress;
    return invoke<string>("make_smaller_copy", { model, kind, onProgress: channel });
  },
  cancelCopy: () => invoke<boolean>("cancel_copy"),
  verifyModel: (model: string) => invoke<Damage[]>("verify_model", { model }),
  countTokens: (text: string) => invoke<number>("count_tokens", { text }),
  /** Streams each step's spans; the result is the answer. */
  infill: (request: InfillRequest, onEvent: (e: StepUpdate) => void) => {
    const channel = new Channel<StepUpdate>();
    channel.onmessage = onEvent;
    return invoke<Written>("infill", { request, onEvent: channel });
  },
  cancel: () => invoke<boolean>("cancel"),
  getSettings: () => invoke<Settings>("get_settings"),
  setSettings: (settings: Settings) => invoke<Settings>("set_settings", { settings }),
  pickModel: (kind: ModelPick) => invoke<string | null>("pick_model", { kind }),
  restoreSession: () => invoke<Opened>("restore_session"),
  /** Files that could not be used (moved aside), to tell the writer once. */
  takeNotices: () => invoke<string[]>("take_notices"),
  newDocument: () => invoke<void>("new_document"),
  /** The Open dialog; the path picked, or null. */
  chooseDocument: () => invoke<string | null>("choose_document"),
  openDocument: (path: string) => invoke<Opened>("open_document", { path }),
  saveDocument: (path: string, text: string, base: string | null, overwrite: boolean, authored: Authored[]) =>
    invoke<Saved>("save_document", { path, text, base, overwrite, authored }),
  /** The Save dialog, then the save; null when cancelled. */
  saveDocumentAs: (text: string, authored: Authored[]) => invoke<Saved | null>("save_document_as", { text, authored }),
  /** The Save dialog, then a copy of the text, with or without its authorship block; null when cancelled. */
  exportDocument: (text: string, authored: Authored[], keepAuthorship: boolean) => invoke<string | null>("export_document", { text, authored, keepAuthorship }),
  checkDocument: (path: string, base: string) => invoke<DiskState>("check_document", { path, base }),
  recentDocuments: () => invoke<RecentEntry[]>("recent_documents"),
  autosave: (document: DocState) => invoke<void>("autosave_document", { document }),
  discardAutosave: (path: string | null) => invoke<void>("discard_autosave", { path }),
  watchWindow: (onNotice: (n: WindowNotice) => void) => {
    const channel = new Channel<WindowNotice>();
    channel.onmessage = onNotice;
    return invoke<void>("watch_window", { onEvent: channel });
  },
  closeWindow: () => invoke<void>("close_window"),
};
