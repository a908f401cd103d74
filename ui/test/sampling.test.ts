// The sampling choices as one value: what a run asks for and what is saved, from one model.
import { describe, expect, it } from "vitest";
import { SHARED } from "../src/bindings";
import { clampTemperature, engineSettings, fromSaved, isFast, runCandidates, savedSettings, type SamplingChoice } from "../src/sampling";

const choice: SamplingChoice = { alg: "entropy", temperature: 0, topP: 1, topK: 0, seed: 3, speed: "exact", auto: false, steps: 24, candidates: 2 };

describe("the sampling choice", () => {
  it("asks the engine for at most one step per masked token, and the writer's settings", () => {
    expect(engineSettings(choice, 10, 400)).toEqual({
      steps: 10,
      threshold: null,
      cache_refresh: null,
      alg: "entropy",
      temperature: 0,
      top_p: null,
      top_k: null,
      alg_temp: null,
      eps: 1e-3,
      seed: 3,
    });
    const warm = engineSettings({ ...choice, temperature: 0.7, topP: 0.9, topK: 40, speed: "fast" }, 100, 120);
    expect(warm).toMatchObject({ steps: 24, temperature: 0.7, top_p: 0.9, top_k: 40, cache_refresh: SHARED.fast_refresh });
  });

  it("runs auto as one step per token with parallel reveal, except for origin, which has no confidence", () => {
    expect(engineSettings({ ...choice, auto: true }, 16, 100)).toMatchObject({ steps: 16, threshold: SHARED.auto_threshold });
    expect(engineSettings({ ...choice, auto: true, alg: "origin" }, 16, 100)).toMatchObject({ steps: 16, threshold: null });
  });

  it("by length, is fast once the text a step reads is auto_fast_ratio times the marks", () => {
    const r = SHARED.auto_fast_ratio;
    expect(isFast("auto", 16 * r, 16)).toBe(true);
    expect(isFast("auto", 16 * r - 1, 16)).toBe(false);
    expect(isFast("exact", 2048, 16)).toBe(false);
    expect(isFast("fast", 20, 16)).toBe(true);
    expect(engineSettings({ ...choice, speed: "auto" }, 16, 2048).cache_refresh).toBe(SHARED.fast_refresh);
    expect(engineSettings({ ...choice, speed: "auto" }, 16, 40).cache_refresh).toBeNull();
  });

  it("writes several versions only where they can differ: a temperature or an order drawn at random", () => {
    expect(runCandidates(choice)).toBe(1);
    expect(runCandidates({ ...choice, alg: "origin" })).toBe(2);
    expect(runCandidates({ ...choice, temperature: 0.5 })).toBe(2);
    expect(runCandidates({ ...choice, temperature: 0.5, candidates: 9 })).toBe(SHARED.max_candidates);
  });

  it("saves what the writer chose and reads it back the same, auto included with nothing marked", () => {
    const choices: SamplingChoice[] = [
      choice,
      { ...choice, auto: true },
      { ...choice, auto: true, alg: "origin" },
      { ...choice, speed: "fast", topP: 0.8, topK: 5 },
    ];
    for (const c of choices) {
      expect(fromSaved(savedSettings(c), c.candidates, c.speed)).toEqual(c);
    }
  });

  it("brings a typed temperature into its range", () => {
    expect(clampTemperature(0.5)).toBeNull();
    expect(clampTemperature(7)).toBe(SHARED.max_temperature);
    expect(clampTemperature(-1)).toBe(0);
    expect(clampTemperature(Number.NaN)).toBe(0);
  });
});
