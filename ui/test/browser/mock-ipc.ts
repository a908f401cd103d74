// A scripted backend for browser tests: Tauri's real `mockIPC` with handlers that behave like
// src-tauri's commands, streaming step events over the real Channel. Built as an IIFE and
// injected before the page loads. Tests steer it through `window.__mock`.
import { mockIPC } from "@tauri-apps/api/mocks";

interface Slot {
  token: number | null;
  text: string;
  confidence: number | null;
}

const WORDS = ["silver", "quiet", "harbor", "lanterns", "drifted", "over", "the", "water", "slowly", "home"];

const mock = {
  calls: [] as { cmd: string; args: unknown }[],
  /** Milliseconds between steps. */
  stepDelay: 120,
  /** An error the next infill rejects with, once. */
  failNext: null as { code: string; message: string } | null,
  cancelled: false,
  loadCancelled: false,
  /** The documents on "disk", by path. */
  files: {} as Record<string, string>,
  /** Answers for the next native dialogs: a path, or null for Cancel. */
  dialogs: [] as (string | null)[],
  /** The backend's desk: the current document, the recent list, autosaves by path. */
  current: null as string | null,
  recent: [] as string[],
  autosaves: {} as Record<string, DocState>,
  /** The cached Base model is damaged: loading it fails until it is fetched again. */
  damaged: false,
  /** The Base model is in the cache (so a smaller copy can be made of it). */
  baseAvailable: false,
  /** The first span comes back empty (only end tokens). */
  emptyFill: false,
  /** What count_tokens answers, when set (else characters / 4). */
  tokenCount: null as number | null,
  /** Smaller copies made so far. */
  copies: [] as string[],
  /** The authorship files beside the documents: the text they were saved with and its ranges. */
  sidecars: {} as Record<string, { text: string; authored: { from: number; to: number; by: string }[] }>,
  /** Who the built-in demo's words are credited to (the app's `ModelInfo.author`). */
  demoAuthor: "Dream Writer's built-in demo, SmolLM2-135M-Instruct adapted to diffusion",
  /** What take_notices answers once. */
  notices: [] as string[],
  /** Whether the demo has a chat template (false: it answers as a Base model does). */
  instructions: true,
  fingerprint: (text: string) => fingerprint(text),
};
(window as unknown as { __mock: typeof mock }).__mock = mock;
// A test may prepare the backend before the page starts (a session to restore, files).
(window as unknown as { __mockSetup?: (m: typeof mock) => void }).__mockSetup?.(mock);

const settings = {
  theme: "light",
  sampling: { steps: 32, alg: "entropy", temperature: 0, top_p: null, top_k: null, alg_temp: null, eps: 1e-3, seed: 0, threshold: null, cache_refresh: null },
  device: "auto",
  dtype: null,
  hf_endpoint: null,
  last_model: null,
  candidates: 1,
  speed: "auto",
};
const demo = {
  name: "Built-in demo",
  source: "demo",
  demo: true,
  device: "CPU",
  dtype: "f32",
  parameters: 123456,
  context: 2048,
  instructions: mock.instructions,
  author: mock.demoAuthor,
  step_flops: { per_row: 2.1e8, per_row_key: 69120, per_logit: 5.7e7 },
  note: {
    summary: "simple English, not Dream 7B's writing",
    about:
      "The built-in demo, no download: SmolLM2-135M-Instruct adapted to diffusion. It writes simple modern English, not Dream 7B's writing: load Dream 7B for real work.",
  } as { summary: string; about: string } | null,
};
let loaded: typeof demo | null = null;

function send(channel: { id: number }, index: number, message: unknown) {
  (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, d: unknown) => void } }).__TAURI_INTERNALS__.runCallback(channel.id, {
    index,
    message,
  });
}

interface DocState {
  path: string | null;
  text: string;
  base: string | null;
  marks: unknown[];
  ending: string;
  gap: number;
}

/** A stand-in for the backend's SHA-256 fingerprint. */
function fingerprint(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return `${text.length}-${(h >>> 0).toString(16)}`;
}

function opened(path: string | null) {
  const file = path !== null && path in mock.files ? { text: mock.files[path], base: fingerprint(mock.files[path]) } : null;
  const autosave = mock.autosaves[String(path)] ?? null;
  // The backend keeps the ranges whose text still matches; here, all or none.
  const sidecar = path !== null ? mock.sidecars[path] : undefined;
  const matches = sidecar !== undefined && file !== null && sidecar.text === file.text;
  return {
    path,
    file,
    autosave,
    autosave_unsaved: autosave !== null && autosave.base !== fingerprint(autosave.text),
    authored: matches ? sidecar.authored : [],
    authored_dropped: sidecar && !matches ? sidecar.authored.length : 0,
  };
}

function documents(cmd: string, args: Record<string, unknown>): unknown {
  const path = args.path as string;
  const choose = (p: string) => {
    mock.current = p;
    mock.recent = [p, ...mock.recent.filter((r) => r !== p)].slice(0, 10);
  };
  switch (cmd) {
    case "restore_session":
      return opened(mock.current);
    case "take_notices":
      return mock.notices.splice(0);
    case "new_document":
      mock.current = null;
      delete mock.autosaves["null"];
      return null;
    case "choose_document":
    case "pick_model":
      return mock.dialogs.shift() ?? null;
    case "open_document":
      if (!(path in mock.files)) throw { code: "io", message: `Could not open ${path}: it does not exist.` };
      choose(path);
      return opened(path);
    case "save_document": {
      const { text, base, overwrite } = args as { text: string; base: string | null; overwrite: boolean };
      const now = path in mock.files ? fingerprint(mock.files[path]) : null;
      if (!overwrite && now !== base)
        throw { code: "changed_on_disk", message: `${path.split("/").pop()} was changed by another program since you opened it.` };
      mock.files[path] = text;
      mock.sidecars[path] = { text, authored: args.authored as { from: number; to: number; by: string }[] };
      return { path, base: fingerprint(text) };
    }
    case "export_document": {
      const to = mock.dialogs.shift() ?? null;
      if (!to) return null;
      const { text, authored, keepAuthorship } = args as { text: string; authored: { from: number; to: number; by: string }[]; keepAuthorship: boolean };
      // The backend appends a Markdown Annotations block; here, a stand-in naming the ranges.
      mock.files[to] = keepAuthorship ? `${text}\n\n---\n&${authored[0]?.by}: ${authored.map((r) => `${r.from},${r.to - r.from}`).join(" ")}\n...\n` : text;
      return to;
    }
    case "save_document_as": {
      const to = mock.dialogs.shift() ?? null;
      if (!to) return null;
      mock.files[to] = args.text as string;
      mock.sidecars[to] = { text: args.text as string, authored: args.authored as { from: number; to: number; by: string }[] };
      choose(to);
      return { path: to, base: fingerprint(args.text as string) };
    }
    case "check_document":
      return !(path in mock.files) ? "missing" : fingerprint(mock.files[path]) === args.base ? "same" : "changed";
    case "recent_documents":
      return mock.recent.map((p) => ({ path: p, name: p.split("/").pop(), exists: p in mock.files }));
    case "autosave_document": {
      const doc = args.document as DocState;
      mock.autosaves[String(doc.path)] = doc;
      return null;
    }
    case "discard_autosave":
      delete mock.autosaves[String(args.path)];
      return null;
    case "watch_window":
      return null;
    case "close_window":
      (window as unknown as { __closed: boolean }).__closed = true;
      return null;
    default:
      return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function infill(args: {
  request: {
    text: string;
    spans: { start: number; end: number; tokens: number }[];
    ending: { text: string; at: number; gap: number } | null;
    settings: { steps: number };
    candidates: number;
  };
  onEvent: { id: number };
}) {
  if (mock.failNext) {
    const e = mock.failNext;
    mock.failNext = null;
    throw e;
  }
  mock.cancelled = false;
  const { settings: s, candidates, ending } = args.request;
  // As the engine does: the ending's gap is one more span after the marks, and it leads into
  // the ending. The engine joins fills and endings to the text; these canned answers are
  // already joined for the tests' documents (a sentence after words, fills after no space).
  const gap = ending && ending.text.trim() && ending.gap > 0 ? [{ start: ending.at, end: ending.at, tokens: ending.gap }] : [];
  const spans = [...args.request.spans, ...gap];
  const leadsInto = (r: number) => (ending && gap.length && r === spans.length - 1 ? ` ${ending.text}` : null);
  const rows = Math.max(1, candidates ?? 1);
  // slots[row][span][i]: every candidate writes other words (its words shifted by the row).
  const all: Slot[][][] = Array.from({ length: rows }, () =>
    spans.map((sp) => Array.from({ length: sp.tokens }, () => ({ token: null, text: "", confidence: null }) as Slot)),
  );
  const slots = all[0];
  const order = slots.flatMap((row, r) => row.map((_, i) => [r, i] as const));
  const perStep = Math.ceil(order.length / s.steps);
  let index = 0;
  for (let step = 0; step < s.steps; step++) {
    await sleep(mock.stepDelay);
    if (mock.cancelled) throw { code: "cancelled", message: "generation cancelled" };
    // What a full pass over the text (4 characters a token) and its masks costs.
    const seen = Math.ceil(args.request.text.length / 4) + slots.flat().length;
    const cost = { rows: seen * rows, keys: seen, logits: order.length * rows };
    for (const [r, i] of order.splice(0, step === s.steps - 1 ? order.length : perStep)) {
      all.forEach((cand, row) => {
        const k = (r * 7 + i + row * 3) % WORDS.length;
        // Negative entropies, as the default `entropy` order reports them.
        // With `emptyFill`, Dream writes only end tokens (no text) into the first span.
        const text = mock.emptyFill && r === 0 ? "" : ` ${WORDS[k]}`;
        cand[r][i] = { token: 100 + k, text, confidence: Math.log(i % 3 === 2 ? 0.2 : 0.9) };
      });
    }
    const views = all.flatMap((cand, row) => cand.map((sl, r) => ({ row, span: r, start: spans[r].start, slots: sl.map((x) => ({ ...x })) })));
    send(args.onEvent, index++, { step, steps: s.steps, window: 0, windows: 1, spans: views, cost });
  }
  const results = all.map((cand) => ({
    spans: cand.map((row, r) => ({ span: r, start: 0, end: 0, text: row.map((x) => x.text).join(""), slots: row, leads_into: leadsInto(r) })),
  }));
  const done = { candidates: results, warnings: [] };
  return done;
}

mockIPC(async (cmd, args) => {
  mock.calls.push({ cmd, args });
  const doc = documents(cmd, args as Record<string, unknown>);
  if (doc !== undefined) return doc;
  switch (cmd) {
    case "get_settings": {
      // A test may set `__mockLastModel` and `__mockSampling` (saved by an older version, say)
      // before the page loads.
      const saved = window as unknown as { __mockLastModel?: string; __mockSampling?: object; __mockSpeed?: string };
      return {
        ...settings,
        sampling: { ...settings.sampling, ...saved.__mockSampling },
        last_model: saved.__mockLastModel ?? null,
        speed: saved.__mockSpeed ?? settings.speed,
      };
    }
    case "set_settings":
      return (args as { settings: unknown }).settings;
    case "model_status":
      return { loaded, loading: false };
    case "list_models":
      return [
        { id: "demo", description: "Built-in demo", available: true, download_bytes: 0 },
        { id: "Dream-org/Dream-v0-Base-7B", description: "Dream 7B base model", available: mock.damaged || mock.baseAvailable, download_bytes: 15_231_233_024 },
        ...mock.copies.map((c) => ({ id: c, description: "Smaller copy", available: true, download_bytes: 0 })),
      ];
    case "system_info":
      return { cuda: false, metal: false, auto_device: "CPU", system_memory_available: 8 * 2 ** 30, gpus: [] };
    case "estimate_fit": {
      const model = (args as { request: { model: string } }).request.model;
      const big = model !== "demo";
      // Named as the app names it: the demo, a folder's last part, or the repo id.
      const name = !big ? "Built-in demo" : model.startsWith("/") ? (model.split("/").pop() ?? model) : model;
      return big
        ? {
            name,
            weights_bytes: 15e9,
            activation_bytes: 3e9,
            total_bytes: 18e9,
            available_bytes: 8e9,
            fits: false,
            suggest: "q4_k",
            message: 'bf16 needs about 15.7 GiB but only 7.5 GiB is free. A Q4_K copy needs about 5.1 GiB: make one with "Make a smaller copy".',
          }
        : {
            name,
            weights_bytes: 1,
            activation_bytes: 1,
            total_bytes: 2,
            available_bytes: 8,
            fits: true,
            suggest: null,
            message: "f32 needs about 0.0 GiB; 8.0 GiB is free.",
          };
    }
    case "load_model": {
      const { request, onProgress } = args as { request: { model: string }; onProgress: { id: number } };
      if (mock.damaged && !(request as { redownload?: boolean }).redownload && request.model !== "demo") {
        throw {
          code: "damaged_model",
          message: `/cache/model.safetensors in the model cache is damaged (it is 12 bytes, 3900000000 when it was downloaded): download it again`,
        };
      }
      if (mock.damaged && request.model !== "demo") mock.damaged = false;
      if (request.model.startsWith("/gone")) {
        throw { code: "model_file_missing", message: `model folder ${request.model} does not exist or is not a folder` };
      }
      if (request.model !== "demo") {
        // A download that advances until it is cancelled.
        mock.loadCancelled = false;
        const total = 4_000_000_000;
        for (let i = 0; i <= 10; i++) {
          if (mock.loadCancelled) throw { code: "cancelled", message: "Download cancelled; it resumes where it stopped next time." };
          send(onProgress, i, { stage: "download", file: "model-00001-of-00004.safetensors", downloaded: (total * i) / 10, total, again: false });
          await sleep(150);
        }
      }
      send(onProgress, 11, { stage: "loading", model: request.model });
      loaded =
        request.model === "demo" ? demo : { ...demo, name: request.model.split("/").pop() ?? request.model, source: request.model, demo: false, note: null };
      return loaded;
    }
    case "make_smaller_copy": {
      const { model, kind, onProgress } = args as { model: string; kind: string; onProgress: { id: number } };
      for (let i = 0; i <= 4; i++) {
        send(onProgress, i, { done: i * 10, total: 40 });
        await sleep(50);
      }
      mock.copies.push(`/data/models/${model.split("/").pop()}-${kind}.gguf`);
      return mock.copies.at(-1);
    }
    case "verify_model":
      return mock.damaged ? [{ file: "model.safetensors", reason: "12 bytes, 3900000000 expected" }] : [];
    case "cancel_load":
      mock.loadCancelled = true;
      return true;
    case "count_tokens":
      return mock.tokenCount ?? Math.max(1, Math.round((args as { text: string }).text.length / 4));
    case "infill":
      return infill(args as Parameters<typeof infill>[0]);
    case "cancel":
      mock.cancelled = true;
      return true;
    default:
      throw { code: "unknown", message: `unmocked command ${cmd}` };
  }
});
