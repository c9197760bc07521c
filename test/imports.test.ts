// The source reads as a pipeline: no file imports, even for types only, a file that imports it back.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve("src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []);
}

/** file -> the files of src/ it imports or re-exports (static, dynamic, type-only: all of them). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, "utf8");
    const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.[^"']+)["']/g)].map((m) => m[1]);
    graph.set(file, specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, ".ts"))));
  }
  return graph;
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (f: string): string[] | null => {
    if (state.get(f) === "done") return null;
    if (state.get(f) === "open") return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, "open");
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      const cycle = visit(g);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(f, "done");
    return null;
  };
  for (const f of graph.keys()) {
    const cycle = visit(f);
    if (cycle) return cycle;
  }
  return null;
}

describe("imports", () => {
  it("src/ has no import circle", () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(50);
    for (const [file, deps] of graph) for (const d of deps) expect(graph.has(d), `${relative(SRC, file)} imports ${relative(SRC, d)}`).toBe(true);
    const cycle = findCycle(graph);
    expect(cycle?.map((f) => relative(SRC, f)).join(" -> ") ?? null).toBeNull();
  });
});
