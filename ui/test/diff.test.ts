import { describe, expect, it } from "vitest";
import { wordDiff } from "../src/diff";

describe("the word diff of a rewrite", () => {
  it("keeps the words both share and marks what went and what came", () => {
    expect(wordDiff("like something that had been poured", "as if it had been poured")).toEqual([
      { text: "like something that", kind: "removed" },
      { text: "as if it", kind: "added" },
      { text: "had been poured", kind: "same" },
    ]);
    expect(wordDiff("the old grey house", "the grey stone house")).toEqual([
      { text: "the", kind: "same" },
      { text: "old", kind: "removed" },
      { text: "grey", kind: "same" },
      { text: "stone", kind: "added" },
      { text: "house", kind: "same" },
    ]);
  });

  it("reads both sides back whole, in order", () => {
    const before = "She walked slowly to the door, then stopped.";
    const after = "She ran quickly to the window and stopped again.";
    const parts = wordDiff(before, after);
    const side = (kind: string) =>
      parts
        .filter((p) => p.kind !== kind)
        .map((p) => p.text)
        .join(" ");
    expect(side("added")).toBe(before);
    expect(side("removed")).toBe(after);
    expect(wordDiff("", "new words")).toEqual([{ text: "new words", kind: "added" }]);
    expect(wordDiff("old words", "")).toEqual([{ text: "old words", kind: "removed" }]);
  });
});
