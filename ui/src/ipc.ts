// Typed access to the app's commands (src-tauri/src/commands). The types mirror the engine's
// serde types (engine/src/request.rs, sampler/mod.rs, engine.rs).
import { Channel, invoke } from "@tauri-apps/api/core";

export type Alg = "origin" | "maskgit_plus" | "topk_margin" | "entropy";

export interface SamplingSettings {
  steps: number;
  alg: Alg;
  temperature: number;
  top_p: number | null;
  top_k: number | null;
  alg_temp: number | null;
  eps: number;
  seed: number;
  /** Parallel reveal: every token at least this probable each step (the slider's "auto"). */
  threshold: number | null;
  /** Span-local decoding: refresh the cached context every this many steps. */
  cache_refresh: number | null;
}

/** Char offsets count Unicode scalar values (see offsets.ts). */
export interface Span {
  start: number;
  end: number;
  tokens: number;
}

export interface InfillRequest {
  text: string;
  spans: Span[];
  continuation: number;
  ending: string | null;
  settings: SamplingSettings;
  /** Versions written at once (1-3), from consecutive seeds. */
  candidates: number;
}

export interface Slot {
  token: number | null;
  text: string;
  confidence: number | null;
}

export interface SpanView {
  /** Which candidate. */
  row: number;
  span: number;
  start: number;
  slots: Slot[];
}

/** One denoising step, as the app streams it (src-tauri/src/commands/generate.rs). */
export interface StepEvent {
  event: "step";
  step: number;
  steps: number;
  spans: SpanView[];
}

export interface FilledSpan {
  span: number;
  start: number;
  end: number;
  text: string;
  slots: Slot[];
}

export interface InfillResult {
  text: string;
  spans: FilledSpan[];
}

export interface Infilled {
  ids: number[];
  /** One per candidate asked for (at least one), in seed order. */
  candidates: InfillResult[];
  warnings: string[];
}

/** What the infill channel carries: the steps (the result is the command's answer). */
export type InfillEvent = StepEvent;

export interface ModelInfo {
  name: string;
  /** What was loaded: "demo", a path or a repo id. */
  source: string;
  demo: boolean;
  device: string;
  dtype: string;
  parameters: number;
  context: number;
}

export interface ModelEntry {
  id: string;
  description: string;
  available: boolean;
  download_bytes: number;
}

export type Device = "auto" | "cpu" | "cuda" | "metal";

export interface LoadRequest {
  model: string;
  device: Device;
  dtype: string | null;
  /** Fetch again the cached files that do not verify. */
  redownload?: boolean;
}

/** A file of a cached model that does not match what was verified at download. */
export interface Damage {
  file: string;
  reason: string;
}

export type LoadEvent = { stage: "download"; file: string; downloaded: number; total: number } | { stage: "loading"; model: string };

export interface FitEstimate {
  weights_bytes: number;
  activation_bytes: number;
  total_bytes: number;
  available_bytes: number | null;
  fits: boolean | null;
  message: string;
  /** The most precise smaller copy that would fit, when this does not. */
  suggest: CopyType | null;
}

export type CopyType = "q8_0" | "q4_k";

export interface SystemInfo {
  cuda: boolean;
  metal: boolean;
  auto_device: string;
  system_memory_available: number | null;
  gpus: { name: string; memory_total: number; memory_free: number }[];
}

export interface Settings {
  theme: "system" | "light" | "dark";
  sampling: SamplingSettings;
  device: Device;
  dtype: string | null;
  hf_endpoint: string | null;
  last_model: string | null;
  candidates: number;
}

/** A mark as kept in an autosave (UTF-16 offsets into its text). */
export interface SavedMark {
  from: number;
  to: number;
  tokens: number;
}

/** The editor's state of one document, as autosaved (src-tauri/src/desk.rs). */
export interface DocState {
  path: string | null;
  text: string;
  /** Fingerprint of the file version the text started from. */
  base: string | null;
  marks: SavedMark[];
  ending: string;
  ending_at: number | null;
  gap: number;
}

/** A document being opened: the file as it is on disk and its autosave, to compare. */
export interface Opened {
  path: string | null;
  file: { text: string; base: string } | null;
  autosave: DocState | null;
  /** The autosave holds changes that were never saved. */
  autosave_unsaved: boolean;
}

export interface Saved {
  path: string;
  base: string;
}

export interface RecentEntry {
  path: string;
  name: string;
  exists: boolean;
}

export type DiskState = "same" | "changed" | "missing";

export type WindowNotice = { event: "close_requested" };

/** What every command rejects with. */
export interface CommandError {
  code: string;
  message: string;
}

export function isCommandError(e: unknown): e is CommandError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** A plain sentence for any failure, for the status line. */
export function describeError(e: unknown): string {
  if (isCommandError(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export const api = {
  modelStatus: () => invoke<{ loaded: ModelInfo | null; loading: boolean }>("model_status"),
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
  makeSmallerCopy: (model: string, kind: CopyType, onProgress: (p: { done: number; total: number }) => void) => {
    const channel = new Channel<{ done: number; total: number }>();
    channel.onmessage = onProgress;
    return invoke<string>("make_smaller_copy", { model, kind, onProgress: channel });
  },
  cancelCopy: () => invoke<boolean>("cancel_copy"),
  verifyModel: (model: string) => invoke<Damage[]>("verify_model", { model }),
  countTokens: (text: string) => invoke<number>("count_tokens", { text }),
  infill: (request: InfillRequest, onEvent: (e: InfillEvent) => void) => {
    const channel = new Channel<InfillEvent>();
    channel.onmessage = onEvent;
    return invoke<Infilled>("infill", { request, onEvent: channel });
  },
  cancel: () => invoke<boolean>("cancel"),
  getSettings: () => invoke<Settings>("get_settings"),
  setSettings: (settings: Settings) => invoke<Settings>("set_settings", { settings }),
  pickModel: (kind: "folder" | "file") => invoke<string | null>("pick_model", { kind }),
  restoreSession: () => invoke<Opened>("restore_session"),
  /** Files that could not be used (moved aside), to tell the writer once. */
  takeNotices: () => invoke<string[]>("take_notices"),
  newDocument: () => invoke<void>("new_document"),
  /** The Open dialog; the path picked, or null. */
  chooseDocument: () => invoke<string | null>("choose_document"),
  openDocument: (path: string) => invoke<Opened>("open_document", { path }),
  saveDocument: (path: string, text: string, base: string | null, overwrite: boolean) => invoke<Saved>("save_document", { path, text, base, overwrite }),
  /** The Save dialog, then the save; null when cancelled. */
  saveDocumentAs: (text: string) => invoke<Saved | null>("save_document_as", { text }),
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
