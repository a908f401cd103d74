// The writer's sampling choices as one value: what the Sampling panel and the steps slider
// show, what a run asks the engine for, and what is saved. A new control is a field here, its
// place in `engineSettings`/`savedSettings`/`fromSaved`, and one entry in sampling-panel.ts.
import { DEFAULT_SETTINGS, SHARED, type Alg, type SamplingSettings, type Speed } from "./bindings";
import { clampSteps } from "./steps";

export interface SamplingChoice {
  /** The order tokens are revealed in. */
  alg: Alg;
  temperature: number;
  /** Nucleus sampling; 1 is off. */
  topP: number;
  /** Top-k sampling; 0 is off. */
  topK: number;
  seed: number;
  /** Span-local decoding (refreshed every `SHARED.fast_refresh` tokens written), exact, or
   * chosen by the document's length (see `isFast`). */
  speed: Speed;
  /** One step per masked token, each also writing every token `SHARED.auto_threshold` sure. */
  auto: boolean;
  /** The steps the writer chose (a run takes at most one per masked token). */
  steps: number;
  /** Versions written at once (they differ only with a temperature above 0). */
  candidates: number;
}

/** Whether a run that reads `seen` tokens to write `masked` of them decodes span-locally: the
 * writer's choice, or by length (fast once a full pass would compute `auto_fast_ratio` times
 * what a span-local step does, or more). */
export function isFast(speed: Speed, seen: number, masked: number): boolean {
  return speed === "fast" || (speed === "auto" && masked > 0 && seen >= SHARED.auto_fast_ratio * masked);
}

/** What a run with `tokens` masked tokens that reads `seen` tokens asks the engine for. */
export function engineSettings(c: SamplingChoice, tokens: number, seen: number): SamplingSettings {
  const auto = c.auto && tokens > 0;
  return {
    ...sampling(c),
    cache_refresh: isFast(c.speed, seen, tokens) ? SHARED.fast_refresh : null,
    steps: auto ? tokens : clampSteps(c.steps, tokens),
    // Parallel reveal ranks by confidence, which `origin` does not have.
    threshold: auto && c.alg !== "origin" ? SHARED.auto_threshold : null,
  };
}

/** The settings as saved: the steps the writer chose (not clamped to the marks there are now)
 * and whether "auto" is on, whatever is marked. (The speed is saved beside them.) */
export function savedSettings(c: SamplingChoice): SamplingSettings {
  return { ...sampling(c), cache_refresh: null, steps: c.steps, threshold: c.auto ? SHARED.auto_threshold : null };
}

/** Everything but the steps, the speed and the reveal threshold: the same for a run and for saving. */
function sampling(c: SamplingChoice): Omit<SamplingSettings, "steps" | "threshold" | "cache_refresh"> {
  return {
    alg: c.alg,
    temperature: Math.max(0, c.temperature),
    top_p: c.topP > 0 && c.topP < 1 ? c.topP : null,
    top_k: c.topK > 0 ? Math.round(c.topK) : null,
    // Not offered on the page: the app's defaults.
    alg_temp: DEFAULT_SETTINGS.sampling.alg_temp,
    eps: DEFAULT_SETTINGS.sampling.eps,
    seed: Math.max(0, Math.round(c.seed)),
  };
}

/** Whether versions written with different seeds can differ: the engine's
 * `SamplingSettings::varies_with_seed` for what the page sends (it never sends an `alg_temp`). */
export const variesWithSeed = (c: SamplingChoice): boolean => c.temperature > 0 || SHARED.random_orders.includes(c.alg);

/** How many versions a run writes: one where every version would be the same text. */
export const runCandidates = (c: SamplingChoice): number => (variesWithSeed(c) ? Math.max(1, Math.min(SHARED.max_candidates, c.candidates)) : 1);

/** The choice saved settings stand for (`candidates` and `speed` are saved beside them). */
export function fromSaved(s: SamplingSettings, candidates: number, speed: Speed): SamplingChoice {
  return {
    alg: s.alg,
    temperature: s.temperature,
    topP: s.top_p ?? 1,
    topK: s.top_k ?? 0,
    seed: s.seed,
    speed,
    auto: s.threshold !== null,
    steps: s.steps,
    candidates,
  };
}

/** A typed temperature brought into its range (`null` when it already was). */
export function clampTemperature(t: number): number | null {
  const clamped = Number.isFinite(t) ? Math.min(SHARED.max_temperature, Math.max(0, t)) : 0;
  return clamped === t ? null : clamped;
}
