// The time estimate against a simulated device with a fake clock: runs of other lengths,
// candidates and speeds than the one it learnt from, each within 1.5x of the time they take.
import { describe, expect, it } from "vitest";
import { SHARED, type StepCost, type StepFlops } from "../src/bindings";
import { plannedSteps, SpeedModel, stepFlops, type RunShape } from "../src/estimate";

// The built-in demo's shape (SmolLM2-135M: 30 layers, hidden 576, 9/3 heads of 64, FFN 1536,
// 49,153 tokens), as `DreamConfig::step_flops` gives it.
const demo: StepFlops = { per_row: 60 * 3_538_944, per_row_key: 4 * 30 * 576, per_logit: 2 * 49_153 * 576 };

/** A device unlike the estimate's model: attention runs at under half the matrices' speed,
 * each step reads the weights (a fixed 30 ms), and every step varies by up to 5%. */
function device() {
  let seed = 7;
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return 0.95 + (0.1 * seed) / 2 ** 31;
  };
  return (c: StepCost) => noise() * (0.03 + (c.rows * demo.per_row + c.logits * demo.per_logit) / 90e9 + (c.rows * c.keys * demo.per_row_key) / 40e9);
}

/** Runs `shape` on `truth` with a fake clock, timing it into `model`: its seconds. */
function run(model: SpeedModel, truth: (c: StepCost) => number, shape: RunShape): number {
  let now = 0;
  model.start(now);
  let total = 0;
  for (const step of plannedSteps(shape)) {
    const t = truth(step);
    now += t * 1000;
    total += t;
    model.step(stepFlops(demo, step), now);
  }
  return total;
}

const short: RunShape = { seen: 286, masked: 16, marks: 1, steps: 16, candidates: 1, fast: false };
const cases: [string, RunShape][] = [
  ["a 2,000-word chapter", { ...short, seen: 2048 }],
  ["3 candidates", { ...short, candidates: 3 }],
  ["fast on the chapter", { ...short, seen: 2048, fast: true }],
  ["fast on the short text", { ...short, fast: true }],
  ["a 64-token hole at one step per token", { ...short, seen: 2048, masked: 64, steps: 64, fast: true }],
];

describe("the time estimate", () => {
  it("is within 1.5x of the time runs of another length, candidates or speed take, learnt from one short run", () => {
    const truth = device();
    const model = new SpeedModel();
    expect(model.seconds(demo, plannedSteps(short))).toBeNull();
    run(model, truth, short);
    for (const [what, shape] of cases) {
      const estimate = model.seconds(demo, plannedSteps(shape))!;
      const taken = run(new SpeedModel(), truth, shape);
      expect(estimate / taken, `${what}: ${estimate.toFixed(2)} s estimated, ${taken.toFixed(2)} s taken`).toBeGreaterThan(1 / 1.5);
      expect(estimate / taken, `${what}: ${estimate.toFixed(2)} s estimated, ${taken.toFixed(2)} s taken`).toBeLessThan(1.5);
    }
  });

  it("stays within 1.5x as it learns from each run in turn", () => {
    const truth = device();
    const model = new SpeedModel();
    run(model, truth, short);
    for (const [what, shape] of [...cases, ...cases]) {
      const estimate = model.seconds(demo, plannedSteps(shape))!;
      const taken = run(model, truth, shape);
      const ratio = estimate / taken;
      expect(ratio > 1 / 1.5 && ratio < 1.5, `${what}: ${estimate.toFixed(2)} s estimated, ${taken.toFixed(2)} s taken`).toBe(true);
    }
  });

  it("plans full passes as the engine refreshes: every step when exact, every fast_refresh tokens when fast", () => {
    const exact = plannedSteps({ ...short, steps: 8 });
    expect(exact.map((s) => s.rows)).toEqual(Array(8).fill(286));
    expect(exact.map((s) => s.logits)).toEqual([16, 14, 12, 10, 8, 6, 4, 2]);
    const fast = plannedSteps({ seen: 2048, masked: 64, marks: 2, steps: 64, candidates: 2, fast: true });
    const full = fast.filter((s) => s.rows === 2 * 2048).length;
    expect(full).toBe(64 / SHARED.fast_refresh);
    expect(fast[1]).toEqual({ rows: 2 * 66, keys: 2048, logits: 2 * 63 });
  });

  it("forgets what it learnt when another model loads", () => {
    const model = new SpeedModel();
    run(model, device(), short);
    model.reset();
    expect(model.seconds(demo, plannedSteps(short))).toBeNull();
  });
});
