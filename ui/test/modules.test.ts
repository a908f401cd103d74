// The page's modules import one way: a cycle (a module reaching itself through its imports,
// types included) is a design fault, as it was between ending, live, request and spans.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";

/** Each module of ui/src and the modules of ui/src it imports. */
function imports(): Map<string, string[]> {
  const sources = import.meta.glob<string>("../src/*.ts", { query: "?raw", import: "default", eager: true });
  const graph = new Map<string, string[]>();
  for (const [path, text] of Object.entries(sources)) {
    const local = [...text.matchAll(/from "\.\/([\w-]+)"/g)].map((m) => `${m[1]}.ts`);
    graph.set(path.replace("../src/", ""), local);
  }
  return graph;
}

/** Every cycle's path, found by depth-first search. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === "done") return;
    if (state.get(node) === "open") {
      found.push([...path.slice(path.indexOf(node)), node]);
      return;
    }
    state.set(node, "open");
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, "done");
  };
  for (const node of graph.keys()) visit(node, []);
  return found;
}

describe("the page's modules", () => {
  it("import one way, with no cycle", () => {
    const graph = imports();
    expect(graph.size).toBeGreaterThan(10);
    expect(graph.get("ending.ts")).toContain("request.ts");
    expect(cycles(graph)).toEqual([]);
  });

  it("find a cycle when there is one", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
    ]);
    expect(cycles(graph)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
  });
});
