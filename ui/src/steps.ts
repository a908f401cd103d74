// The steps slider's bounds and label, with a time estimate from measured step latency.
import { SHARED } from "./bindings";

/** Valid step count for `tokens` masked tokens: 1 ..= tokens (one step per token at most). */
export function clampSteps(steps: number, tokens: number): number {
  return Math.min(Math.max(1, Math.round(steps)), Math.max(1, tokens));
}

/** "16 steps · 2/step · ~3 s" (tokens per step) (the time only once a step has been measured); with `auto`
 * (parallel reveal, its own toggle beside the slider) what auto does. */
export function stepsLabel(steps: number, tokens: number, stepSeconds: number | null, auto = false): string {
  if (tokens <= 0) return "nothing marked yet";
  if (auto) return `auto · every word ≥${SHARED.auto_threshold * 100}% sure`;
  const s = clampSteps(steps, tokens);
  const perStep = Math.max(tokens, 1) / s;
  const rate = perStep >= 10 || Number.isInteger(perStep) ? perStep.toFixed(0) : perStep.toFixed(1);
  let label = `${s} ${s === 1 ? "step" : "steps"} · ${rate}/step`;
  if (stepSeconds !== null) label += ` · ${duration(s * stepSeconds)}`;
  return label;
}

/** "<1 s", "~1.5 s", "~46 s", "~24 min", "~2.5 h". */
export function duration(seconds: number): string {
  if (seconds < 1) return "<1 s";
  if (seconds < 10) return `~${seconds.toFixed(1)} s`;
  if (seconds < 90) return `~${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `~${Math.round(seconds / 60)} min`;
  return `~${(seconds / 3600).toFixed(1)} h`;
}

/**
 * Times denoising steps as their events arrive, per token the model sees in a step (a step's
 * cost grows with the length of the text around the marks), and keeps the last few for a
 * median. Measured on the model and device at hand: reset when another model loads.
 */
export class StepTimer {
  private perToken: number[] = [];
  private lastAt: number | null = null;
  private started = false;
  private tokens = 1;
  constructor(private readonly keep = 32) {}

  /** A run starts whose steps each see `tokens` tokens. */
  start(tokens: number, now = performance.now()) {
    this.tokens = Math.max(1, tokens);
    this.lastAt = now;
    this.started = false;
  }

  /** A step ended. The first of a run includes start-up, so it is not kept. */
  mark(now = performance.now()) {
    if (this.lastAt !== null && this.started) this.perToken.push((now - this.lastAt) / 1000 / this.tokens);
    this.started = true;
    this.lastAt = now;
    if (this.perToken.length > this.keep) this.perToken.shift();
  }

  /** Another model or device: earlier times say nothing about it. */
  reset() {
    this.perToken = [];
  }

  /** Seconds a step over `tokens` tokens takes (the median measured), or null before any was measured. */
  stepSeconds(tokens: number): number | null {
    if (this.perToken.length === 0) return null;
    const sorted = [...this.perToken].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return median * Math.max(1, tokens);
  }
}
