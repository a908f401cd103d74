// The Sampling panel and the steps slider as a view of `SamplingChoice`: one control per field,
// read and shown through this table, never by id elsewhere.
import type { Alg, Speed } from "./bindings";
import { $ } from "./dom";
import type { SamplingChoice } from "./sampling";

type Field = HTMLInputElement & HTMLSelectElement;

interface Control<T> {
  id: string;
  read: (el: Field) => T;
  show: (el: Field, value: T) => void;
}

const number = (el: Field) => Number(el.value);
const text = (el: Field, v: number | string) => (el.value = String(v));

const controls: { [K in keyof SamplingChoice]: Control<SamplingChoice[K]> } = {
  alg: { id: "alg", read: (el) => el.value as Alg, show: text },
  temperature: { id: "temperature", read: number, show: text },
  topP: { id: "top-p", read: number, show: text },
  topK: { id: "top-k", read: number, show: text },
  seed: { id: "seed", read: number, show: text },
  speed: { id: "speed", read: (el) => el.value as Speed, show: text },
  auto: { id: "auto", read: (el) => el.checked, show: (el, v) => (el.checked = v) },
  // The slider shows the steps clamped to the marks there are; the writer's choice is kept.
  steps: { id: "steps", read: (el) => Number(el.dataset.wanted ?? el.value), show: (el, v) => (el.dataset.wanted = String(v)) },
  candidates: { id: "candidates", read: (el) => Number(el.value) || 1, show: text },
};

const fields = Object.keys(controls) as (keyof SamplingChoice)[];
const element = (k: keyof SamplingChoice) => $<Field>(controls[k].id);

/** What the panel shows now. */
export function readChoice(): SamplingChoice {
  return Object.fromEntries(fields.map((k) => [k, controls[k].read(element(k))])) as unknown as SamplingChoice;
}

/** Shows `c` in the panel (only the fields given). */
export function showChoice(c: Partial<SamplingChoice>) {
  for (const k of fields) {
    const value = c[k];
    if (value !== undefined) (controls[k] as Control<typeof value>).show(element(k), value);
  }
}

/** Calls `changed` with the field the writer changed (the slider as it moves). */
export function onChoiceChange(changed: (field: keyof SamplingChoice) => void) {
  for (const k of fields) {
    element(k).addEventListener(k === "steps" ? "input" : "change", () => {
      if (k === "steps") element(k).dataset.wanted = element(k).value;
      changed(k);
    });
  }
}
