// The steps slider's bounds and label, with a time estimate from measured step latency.

/** The probability above which "auto" reveals a token. */
export const AUTO_THRESHOLD = 0.9;
/** "Fast" span-local decoding: a full pass once this many tokens were written since the last. */
export const FAST_REFRESH = 32;

/** Valid step count for `tokens` masked tokens: 1 ..= tokens (one step per token at most). */
export function clampSteps(steps: number, tokens: number): number {
  return Math.min(Math.max(1, Math.round(steps)), Math.max(1, tokens));
}

/** "16 steps · 2/step · ~3 s" (tokens per step) (the time only once a step has been measured); with `auto`
 * (parallel reveal, its own toggle beside the slider) what auto does. */
export function stepsLabel(steps: number, tokens: number, stepSeconds: number | null, auto = false): string {
  if (tokens <= 0) return "nothing marked yet";
  if (auto) return `auto · every word ≥${AUTO_THRESHOLD * 100}% sure`;
  const s = clampSteps(steps, tokens);
  const perStep = Math.max(tokens, 1) / s;
  const rate = perStep >= 10 || Number.isInteger(perStep) ? perStep.toFixed(0) : perStep.toFixed(1);
  let label = `${s} ${s === 1 ? "step" : "steps"} · ${rate}/step`;
  if (stepSeconds !== null) {
    const total = s * stepSeconds;
    label += total < 1 ? " · <1 s" : ` · ~${total < 10 ? total.toFixed(1) : Math.round(total)} s`;
  }
  return label;
}

/** Times denoising steps as their events arrive; keeps the last few for a median. */
export class StepTimer {
  private durations: number[] = [];
  private lastAt: number | null = null;
  private started = false;
  constructor(private readonly keep = 32) {}

  start(now = performance.now()) {
    this.lastAt = now;
    this.started = false;
  }

  /** A step ended. The first of a run includes start-up, so it is not kept. */
  mark(now = performance.now()) {
    if (this.lastAt !== null && this.started) this.durations.push((now - this.lastAt) / 1000);
    this.started = true;
    this.lastAt = now;
    if (this.durations.length > this.keep) this.durations.shift();
  }

  /** Median step time in seconds, or null before any was measured. */
  median(): number | null {
    if (this.durations.length === 0) return null;
    const sorted = [...this.durations].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }
}
