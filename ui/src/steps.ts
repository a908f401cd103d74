// The steps slider's bounds and its label, with the run's time estimate (see estimate.ts).
import { SHARED } from "./bindings";

/** Valid step count for `tokens` masked tokens: 1 ..= tokens (one step per token at most). */
export function clampSteps(steps: number, tokens: number): number {
  return Math.min(Math.max(1, Math.round(steps)), Math.max(1, tokens));
}

/** "16 steps · 2/step · ~3 s" (tokens per step; the time, in `seconds`, once this device's
 * speed was measured); with `auto` (parallel reveal, its own toggle beside the slider) what
 * auto does. */
export function stepsLabel(steps: number, tokens: number, seconds: number | null, auto = false): string {
  if (tokens <= 0) return "nothing marked yet";
  if (auto) return `auto · words ≥${SHARED.auto_threshold * 100}% sure`;
  const s = clampSteps(steps, tokens);
  const perStep = Math.max(tokens, 1) / s;
  const rate = perStep >= 10 || Number.isInteger(perStep) ? perStep.toFixed(0) : perStep.toFixed(1);
  let label = `${s} ${s === 1 ? "step" : "steps"} · ${rate}/step`;
  if (seconds !== null) label += ` · ${duration(seconds)}`;
  return label;
}

/** "<0.1 s", "~0.4 s", "~1.5 s", "~46 s", "~24 min", "~2.5 h". */
export function duration(seconds: number): string {
  if (seconds < 0.1) return "<0.1 s";
  if (seconds < 10) return `~${seconds.toFixed(1)} s`;
  if (seconds < 90) return `~${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `~${Math.round(seconds / 60)} min`;
  return `~${(seconds / 3600).toFixed(1)} h`;
}
