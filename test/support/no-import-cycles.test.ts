// No import cycles among the project's own modules (issue 17): each module can
// be read after the ones it imports. Relative imports of every source file
// outside test/ (relay, Durable Objects, protocol, host agent, client SDK, web
// app, scripts, bench) form the graph; a strongly connected component with
// more than one file, or a file importing itself, is a cycle.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["'](\.{1,2}\/[^"']+)["']|\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** Relative imports that resolve to a file, per source file. */
export function importGraph(files: string[], read: (f: string) => string, exists: (f: string) => boolean): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = new Set<string>();
    for (const m of read(file).matchAll(IMPORT)) {
      const target = normalize(join(dirname(file), m[1] ?? m[2]!));
      if (exists(target)) deps.add(target);
    }
    graph.set(file, [...deps]);
  }
  return graph;
}

/** Tarjan's strongly connected components of size > 1 (and self-imports). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("import cycles", () => {
  it("finds a cycle when there is one (the check can fail)", () => {
    const files: Record<string, string> = {
      "a/x.ts": 'import { y } from "./y.ts";',
      "a/y.ts": 'export { z } from "../b/z.ts";',
      "b/z.ts": 'const x = await import("../a/x.ts");',
      "b/free.ts": 'import { y } from "../a/y.ts";',
    };
    const graph = importGraph(
      Object.keys(files),
      (f) => files[f]!,
      (f) => f in files,
    );
    expect(cycles(graph)).toEqual([["a/x.ts", "a/y.ts", "b/z.ts"]]);
  });

  it("the project's modules have none", async () => {
    const { stdout } = await promisify(execFile)("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.mjs"], {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    const files = stdout
      .split("\n")
      .filter((f) => f && !f.startsWith("test/") && !f.includes(".test.") && !f.includes("node_modules/") && existsSync(join(ROOT, f)));
    expect(files.length).toBeGreaterThan(100);
    const graph = importGraph(
      files,
      (f) => readFileSync(join(ROOT, f), "utf8"),
      (f) => existsSync(join(ROOT, f)),
    );
    expect(cycles(graph)).toEqual([]);
  });
});
