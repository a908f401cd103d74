// How long a run will take, from a model of what each step costs and this device's measured
// speed. A step's work is what the engine reports for it (positions computed, the keys they
// attend to, the logits), its floating-point operations follow from the model's shape, and its
// time is about a fixed part (reading the weights once) plus a part per operation: both are
// learnt from the steps the writer's own runs took, on this model and device.
import { SHARED, type StepCost, type StepFlops } from "./bindings";
import { clampSteps } from "./steps";

/** A run as the page plans it, before it starts. */
export interface RunShape {
  /** Tokens each step sees: the document as far as the model reads it, and the masks. */
  seen: number;
  /** Masked tokens, and the runs of them (marks and the gap before an ending). */
  masked: number;
  marks: number;
  steps: number;
  candidates: number;
  /** Span-local decoding: only the marks between full passes. */
  fast: boolean;
}

/** Operations of a step of `cost` for a model whose steps cost `f`. */
export function stepFlops(f: StepFlops, cost: StepCost): number {
  return cost.rows * (f.per_row + f.per_row_key * cost.keys) + cost.logits * f.per_logit;
}

/** The steps `run` takes, as the engine will report their costs: every step a full pass when
 * exact; when fast, a full pass first and again once `fast_refresh` tokens were written, the
 * marks' windows (each widened by the position before it) in between. */
export function plannedSteps(run: RunShape): StepCost[] {
  const { seen, masked, marks, candidates: c } = run;
  const steps = clampSteps(run.steps, masked);
  const out: StepCost[] = [];
  let sinceFull = 0;
  for (let i = 0; i < steps; i++) {
    const left = masked - Math.round((i * masked) / steps);
    const full = !run.fast || i === 0 || sinceFull >= SHARED.fast_refresh;
    if (full) sinceFull = 0;
    const rows = full ? seen : Math.min(seen, masked + marks);
    out.push({ rows: rows * c, keys: seen, logits: left * c });
    sinceFull += Math.round(((i + 1) * masked) / steps) - Math.round((i * masked) / steps);
  }
  return out;
}

/**
 * This device's speed, from timed steps: seconds = fixed + perFlop * flops, fitted over the
 * last steps (least squares on the relative error, both parts at least 0). Until steps of
 * different sizes were seen, the fixed part cannot be told apart and all of the time is put
 * on the operations. Reset when another model loads.
 */
export class SpeedModel {
  private samples: { flops: number; seconds: number }[] = [];
  private lastAt: number | null = null;
  private started = false;
  constructor(private readonly keep = 64) {}

  /** A run starts. */
  start(now = performance.now()) {
    this.lastAt = now;
    this.started = false;
  }

  /** A step of `flops` operations ended. The first of a run includes start-up: not kept. */
  step(flops: number, now = performance.now()) {
    if (this.lastAt !== null && this.started && flops > 0) this.samples.push({ flops, seconds: (now - this.lastAt) / 1000 });
    this.started = true;
    this.lastAt = now;
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /** Another model or device: earlier times say nothing about it. */
  reset() {
    this.samples = [];
  }

  /** The fitted parts, or null before any step was timed. */
  fit(): { fixed: number; perFlop: number } | null {
    const s = this.samples;
    if (s.length === 0) return null;
    // Weights 1/t^2: each step's relative error counts the same.
    let [w, wf, wff, wt, wft] = [0, 0, 0, 0, 0];
    for (const { flops: f, seconds: t } of s) {
      const k = 1 / Math.max(t, 1e-6) ** 2;
      [w, wf, wff, wt, wft] = [w + k, wf + k * f, wff + k * f * f, wt + k * t, wft + k * f * t];
    }
    const spread = Math.max(...s.map((x) => x.flops)) / Math.min(...s.map((x) => x.flops));
    const det = w * wff - wf * wf;
    if (spread >= 1.5 && det > 0) {
      const fixed = (wt * wff - wf * wft) / det;
      const perFlop = (w * wft - wf * wt) / det;
      if (fixed >= 0 && perFlop >= 0) return { fixed, perFlop };
      if (perFlop < 0) return { fixed: wt / w, perFlop: 0 };
    }
    return { fixed: 0, perFlop: wft / wff };
  }

  /** Seconds for steps of these costs, or null before any step was timed. */
  seconds(f: StepFlops, steps: StepCost[]): number | null {
    const fit = this.fit();
    if (!fit) return null;
    return steps.reduce((sum, c) => sum + fit.fixed + fit.perFlop * stepFlops(f, c), 0);
  }
}
