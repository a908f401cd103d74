// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit by hand.

/**
 * How the next positions to reveal are chosen.
 */

export type Alg = "origin" | "maskgit_plus" | "topk_margin" | "entropy";

/**
 * The knobs of one generation, named as in the official `diffusion_generate`.
 */

export type SamplingSettings = { steps: number, alg: Alg, temperature: number, top_p: number | null, top_k: number | null, alg_temp: number | null, eps: number, seed: number, 
/**
 * Parallel reveal (Fast-dLLM's confidence-aware decoding): each step reveals every masked
 * token whose probability is at least this (and at least one), so easy text finishes in
 * fewer than `steps` steps. `None`: the official fixed schedule.
 */
threshold: number | null, 
/**
 * Span-local decoding: between full passes, only the masked spans (and the position
 * before each, which predicts its first token) are recomputed against the other
 * positions' cached keys/values; a full pass refreshes the cache once this many tokens
 * have been revealed since it was taken (with the official one token per step: every
 * this many steps). `None` or 1: every step is a full pass (exact).
 */
cache_refresh: number | null, };

/**
 * Replace the characters `start..end` of the text with `tokens` masks; `start == end` inserts
 * them at that point. Offsets count Unicode scalar values (Rust `char`s).
 */

export type Span = { start: number, end: number, tokens: number, 
/**
 * What to write there, in the writer's words ("darker", "describe the smell of the sea"):
 * the model's chat template carries it (see [`instructions`]); a model without one
 * refuses it.
 */
instruction: string | null, };

/**
 * A model-written range of the editor's text, in UTF-16 code units (the page's offsets).
 */

export type Authored = { from: number, to: number, 
/**
 * The model that wrote it, as the app names it when loaded (`ModelInfo::author`); ranges
 * kept by older versions say only that a model wrote them.
 */
by: string, };

/**
 * A sentence the generated text must lead into: pinned at `at` (a char offset in the
 * request's text; after the text and its continuation when `None`), with `gap` masks written
 * right before it. It is read by the model and kept in the result exactly as
 * [`Ending::written`] gives it; nothing is ever generated into it.
 *
 * ```
 * use dream_engine::request::Ending;
 *
 * let end: Ending = serde_json::from_str(r#"{"text": "And then there was silence.", "at": 12, "gap": 16}"#).unwrap();
 * assert_eq!(end.written(), " And then there was silence.");
 * assert_eq!(Ending::after_text(", she said.").written(), ", she said.");
 * ```
 */

export type Ending = { text: string, at: number | null, gap: number, };

/**
 * What to generate: masked spans anywhere in `text`, optionally `continuation` masks after
 * it, and an optional pinned [`Ending`] the generated text must lead into (after the
 * continuation, or at a point of the text with a gap of masks before it).
 *
 * `text` is the writer's, plain text throughout: a control token written in it (`<|mask|>`,
 * `<|endoftext|>`) is read as its characters and kept byte for byte.
 *
 * ```
 * let req: dream_engine::InfillRequest = serde_json::from_str(r#"{
 *     "text": "The storm broke at dawn.",
 *     "spans": [{"start": 4, "end": 9, "tokens": 3}],
 *     "continuation": 16,
 *     "ending": {"text": "And then there was silence."},
 *     "settings": {"steps": 8, "alg": "entropy"}
 * }"#).unwrap();
 * assert_eq!(req.spans[0].tokens, 3);
 * ```
 */

export type InfillRequest = { text: string, spans: Array<Span>, continuation: number, ending: Ending | null, settings: SamplingSettings, 
/**
 * How many versions to write at once (1-3), from seeds `seed`, `seed + 1`, ...: one
 * batched run, to flip between before accepting one.
 */
candidates: number, };

/**
 * A text piece of one mask slot of a span.
 */

export type Slot = { 
/**
 * `None` while the slot is still masked.
 */
token: number | null, 
/**
 * The text this token adds ("" while masked, for an end-of-text token, or for a token
 * whose UTF-8 character completes in a later slot).
 */
text: string, confidence: number | null, };

/**
 * The live state of one masked span.
 */

export type SpanView = { 
/**
 * Which candidate (batch row) this is.
 */
row: number, 
/**
 * Index of the span: the request's spans in order, then the continuation, then the gap
 * before the pinned ending.
 */
span: number, 
/**
 * Where the span starts in the request's text (chars); the continuation starts at its end.
 */
start: number, slots: Array<Slot>, };

/**
 * The work of one step, in the terms its time depends on (see [`crate::DreamConfig::step_flops`]).
 */

export type StepCost = { 
/**
 * Positions the layers computed, over all rows (candidates): the whole row for a full
 * pass, the spans' windows for a span-local one.
 */
rows: number, 
/**
 * Positions each of them attends to: the row's length.
 */
keys: number, 
/**
 * Positions projected onto the vocabulary: the masked ones.
 */
logits: number, };

/**
 * What the editor draws after each step: the step and each span's slots (not the whole token
 * state, which it never reads). The result comes once, as the command's answer.
 */

export type StepUpdate = { 
/**
 * The step, counted across all windows, of `steps`.
 */
step: number, steps: number, 
/**
 * Which window of context is being filled (0-based), of `windows`: marks too far apart
 * for one are filled one window after another.
 */
window: number, windows: number, spans: Array<SpanView>, 
/**
 * What the step computed: with its time, how the page learns this device's speed.
 */
cost: StepCost, };

/**
 * One span of the request as written: the edit that writes it is "replace the span's range of
 * the request's text (a hole: insert at its place) with `text`, then `leads_into`".
 */

export type FilledSpan = { 
/**
 * The span's index in the request.
 */
span: number, 
/**
 * Its char range in the result's `text`.
 */
start: number, end: number, 
/**
 * What was written into it, joined to the text on either side (one space between words,
 * none before closing punctuation, nothing for white space alone; see the `joins` module):
 * the slots' texts one after another.
 */
text: string, 
/**
 * Its tokens, one per mask slot, each with its share of `text`.
 */
slots: Array<Slot>, 
/**
 * The pinned ending that follows it in `text`, as written there (see [`Ending::written`],
 * then joined to the fill): set on the span that leads into it.
 */
leads_into: string | null, };

/**
 * One candidate: each span's fill as the engine joined it to the text around it.
 */

export type Edits = { spans: Array<FilledSpan>, };

/**
 * What the page reads of a finished run: each candidate's edits, and what the engine adjusted.
 * (Not the whole written text, up to 16 MiB a candidate, nor the final token window the CLI
 * reports: the page writes the edits into its own document.)
 */

export type Written = { candidates: Array<Edits>, warnings: Array<string>, };

/**
 * Where to run the model.
 */

export type DeviceChoice = "auto" | "cpu" | "cuda" | "metal";

/**
 * The floating-point type of the weights and activations.
 */

export type Precision = "f32" | "bf16" | "f16";

/**
 * The floating-point operations of a step per unit of its cost (see
 * [`DreamConfig::step_flops`]).
 */

export type StepFlops = { 
/**
 * Per position the layers compute.
 */
per_row: number, 
/**
 * Per position and key it attends to.
 */
per_row_key: number, 
/**
 * Per position projected onto the vocabulary.
 */
per_logit: number, };

/**
 * A line beside a model's name, and the whole of it on hover.
 */

export type ModelNote = { summary: string, about: string, };

/**
 * What the UI shows about the loaded model.
 */

export type ModelInfo = { 
/**
 * "Built-in demo", a folder, or a Hub repo id.
 */
name: string, 
/**
 * What was loaded: "demo", a path or a repo id (what a smaller copy is made from).
 */
source: string, demo: boolean, device: string, dtype: Precision, parameters: number, context: number, 
/**
 * Whether it follows instructions on marks: it has a chat template (an Instruct model;
 * Base models have none).
 */
instructions: boolean, 
/**
 * What its steps cost, for the page's time estimate.
 */
step_flops: StepFlops, 
/**
 * How the words it writes are credited (the authorship sidecar, an annotated export):
 * what it is, and its weights' SHA-256 where the app knows it.
 */
author: string, 
/**
 * What the page says beside its name while it is loaded (the demo's limits).
 */
note: ModelNote | null, };

export type ModelStatus = { loaded: ModelInfo | null, loading: boolean, };

/**
 * One entry of the model manager.
 */

export type ModelEntry = { id: string, description: string, 
/**
 * Whether it is complete in the Hugging Face cache (always true for the demo).
 */
available: boolean, download_bytes: number, };

export type LoadRequest = { 
/**
 * "demo", a checkpoint folder, or a Hub repo id.
 */
model: string, device: DeviceChoice, 
/**
 * None: the device's default.
 */
dtype: Precision | null, 
/**
 * Fetch again the cached files that do not verify (after a `damaged_model` error).
 */
redownload: boolean, };

/**
 * A file of a cached model that does not match what was verified.
 */

export type Damage = { file: string, reason: string, };

/**
 * Download progress of one file.
 */

export type DownloadProgress = { file: string, downloaded: number, total: number, 
/**
 * Fetched whole again: the resumed file did not verify (bad bytes from an earlier try).
 */
again: boolean, };

/**
 * Progress of [`load_model`], streamed to the UI.
 */

export type LoadEvent = { "stage": "download" } & DownloadProgress | { "stage": "loading", model: string, };

/**
 * Bytes a model needs to run one denoising step over `context` tokens.
 */

export type MemoryEstimate = { weights_bytes: number, 
/**
 * The largest activations alive during a forward pass: hidden states and the MLP's
 * intermediate in the weights' dtype, one block of queries' f32 attention scores (and
 * their softmax), and f32 logits for every position (the worst case: all masked).
 */
activation_bytes: number, total_bytes: number, };

export type FitEstimate = { available_bytes: number | null, 
/**
 * `None` when the available memory is not known (a GPU).
 */
fits: boolean | null, message: string, 
/**
 * When it does not fit (and is not a quantized file already): the most precise smaller
 * copy that would.
 */
suggest: CopyType | null, 
/**
 * The model's name as the page shows it.
 */
name: string, weights_bytes: number, 
/**
 * The largest activations alive during a forward pass: hidden states and the MLP's
 * intermediate in the weights' dtype, one block of queries' f32 attention scores (and
 * their softmax), and f32 logits for every position (the worst case: all masked).
 */
activation_bytes: number, total_bytes: number, };

/**
 * The precisions a copy can have.
 */

export type CopyType = "q8_0" | "q4_k";

/**
 * Progress of [`make_smaller_copy`]: tensors written so far.
 */

export type CopyProgress = { done: number, total: number, };

/**
 * What the model picker looks for.
 */

export type ModelPick = "folder" | "file";

/**
 * A GPU the machine has, as its driver reports it.
 */

export type GpuInfo = { name: string, memory_total: number, memory_free: number, };

/**
 * The device this machine would use and how much memory it has.
 */

export type SystemInfo = { 
/**
 * Whether this build can use CUDA / Metal here.
 */
cuda: boolean, metal: boolean, 
/**
 * What `auto` picks.
 */
auto_device: string, system_memory_available: number | null, 
/**
 * NVIDIA GPUs the driver reports, whether or not this build can use them.
 */
gpus: Array<GpuInfo>, };

/**
 * The page's colours; `System` follows the desktop.
 */

export type Theme = "system" | "light" | "dark";

/**
 * How a run's steps read the document. Exact runs the whole text through the model every
 * step; fast only the marks between full passes (see `SamplingSettings::cache_refresh`).
 */

export type Speed = "auto" | "exact" | "fast";

export type Settings = { theme: Theme, sampling: SamplingSettings, device: DeviceChoice, 
/**
 * None: the device's default.
 */
dtype: Precision | null, 
/**
 * A Hub mirror (sets `HF_ENDPOINT` for downloads).
 */
hf_endpoint: string | null, 
/**
 * The model to load at start: "demo", a folder, or a Hub repo id.
 */
last_model: string | null, 
/**
 * Versions written per run, to flip between.
 */
candidates: number, speed: Speed, };

/**
 * A mark as the editor had it (UTF-16 offsets into the autosaved text).
 */

export type SavedMark = { from: number, to: number, tokens: number, 
/**
 * What the writer asked Dream to write there (see `dream_engine::Span::instruction`).
 */
instruction: string | null, };

/**
 * The editor's state of one document: its text, marks, pinned ending and gap.
 */

export type DocState = { 
/**
 * `None` for the untitled buffer.
 */
path: string | null, text: string, 
/**
 * Fingerprint of the file version this text started from (`None` when never saved).
 */
base: string | null, marks: Array<SavedMark>, ending: string, 
/**
 * Where the ending is pinned (UTF-16 offset); `None` when it is only typed.
 */
ending_at: number | null, gap: number, 
/**
 * The ranges the model wrote (UTF-16 offsets).
 */
authored: Array<Authored>, };

/**
 * A document as read from disk.
 */

export type OnDisk = { text: string, 
/**
 * The fingerprint of the bytes read: what a later save or check compares against.
 */
base: string, };

/**
 * A document as the editor opens it: the file (if it could be read) and its autosave (if
 * there is one), for the page to compare.
 */

export type Opened = { 
/**
 * `None` for the untitled buffer.
 */
path: string | null, file: OnDisk | null, autosave: DocState | null, 
/**
 * Whether the autosave holds changes that were never saved (its text is not the version
 * it started from).
 */
autosave_unsaved: boolean, 
/**
 * The ranges of the file's text the model wrote, from the authorship file beside it.
 */
authored: Array<Authored>, 
/**
 * Ranges in that file that no longer match the text (edited elsewhere): dropped.
 */
authored_dropped: number, };

export type Saved = { path: string, base: string, };

/**
 * One line of Open Recent.
 */

export type RecentEntry = { path: string, name: string, 
/**
 * False when the file was moved or deleted since.
 */
exists: boolean, };

/**
 * How the file on disk stands against the version the editor loaded or last saved.
 */

export type DiskState = "same" | "changed" | "missing";

/**
 * What the backend tells the page about its window.
 */

export type WindowNotice = { "event": "close_requested" };

/**
 * What kind of failure it was, for the UI to act on (the message is for the writer).
 */

export type ErrorCode = "model_file_missing" | "io" | "bad_config" | "bad_weights" | "bad_tokenizer" | "encode" | "invalid_request" | "context_overflow" | "device" | "hub" | "damaged_model" | "cancelled" | "compute" | "out_of_memory" | "busy" | "internal" | "no_model" | "unknown_model" | "invalid_settings" | "invalid_path" | "invalid_document" | "not_chosen" | "not_text" | "too_large" | "changed_on_disk" | "folder_missing";

export type CommandError = { code: ErrorCode, message: string, };

/**
 * Limits and defaults both sides apply: the page to bound its controls and say why, the app
 * to refuse what the page should never have sent.
 */

export type Shared = { 
/**
 * The app's name, as its window and its messages say it.
 */
app_name: string, 
/**
 * The largest document, in bytes of UTF-8 (the engine's request limit too).
 */
max_text_bytes: number, 
/**
 * The largest pinned ending, in bytes of UTF-8.
 */
max_ending_bytes: number, 
/**
 * The most versions one run writes.
 */
max_candidates: number, 
/**
 * The most tokens one mark, or the gap before an ending, holds.
 */
max_mark_tokens: number, 
/**
 * The gap before a newly pinned ending, in tokens.
 */
default_gap: number, 
/**
 * The warmest sampling offered (hotter is noise); the coolest is 0.
 */
max_temperature: number, 
/**
 * "Fast" speed: a full pass once this many tokens were written since the last.
 */
fast_refresh: number, 
/**
 * "Auto" speed: each step also writes every token at least this probable.
 */
auto_threshold: number, 
/**
 * Speed by length: fast once a step reads this many times the masked tokens or more.
 */
auto_fast_ratio: number, 
/**
 * The orders drawn at random: a run with one varies with the seed even at temperature 0
 * (the page's half of `SamplingSettings::varies_with_seed`).
 */
random_orders: Array<Alg>, };

/** The values of `Shared` (src-tauri/src/shared.rs). */
export const SHARED: Shared = {
  "app_name": "Dream Writer",
  "max_text_bytes": 16777216,
  "max_ending_bytes": 65536,
  "max_candidates": 3,
  "max_mark_tokens": 1024,
  "default_gap": 32,
  "max_temperature": 2.0,
  "fast_refresh": 32,
  "auto_threshold": 0.9,
  "auto_fast_ratio": 4,
  "random_orders": [
    "origin"
  ]
};

/** `Settings::default()` (src-tauri/src/settings.rs): what a first start has. */
export const DEFAULT_SETTINGS: Settings = {
  "theme": "system",
  "sampling": {
    "steps": 32,
    "alg": "entropy",
    "temperature": 0.0,
    "top_p": null,
    "top_k": null,
    "alg_temp": null,
    "eps": 0.001,
    "seed": 0,
    "threshold": null,
    "cache_refresh": null
  },
  "device": "auto",
  "dtype": null,
  "hf_endpoint": null,
  "last_model": null,
  "candidates": 1,
  "speed": "auto"
};
