/**
 * The layout's rules (docs/architecture.md), checked on every run: no source file over 300
 * lines, no import cycle between modules, and each folder imports only the layers below it.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import nodePath from "node:path";

const SRC = nodePath.join(import.meta.dir, "..", "..", "src");
const MAX_LINES = 300;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = nodePath.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports of a module (static, re-exports and dynamic), as absolute paths. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (const m of text.matchAll(re)) out.push(nodePath.resolve(nodePath.dirname(file), m[1]!));
  return out;
}

/** Every cycle found by a depth-first search, each as the list of files in it. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      const s = state.get(next);
      if (s === "open") cycles.push(stack.slice(stack.indexOf(next)));
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const files = sourceFiles(SRC);
const rel = (p: string) => nodePath.relative(SRC, p);

describe("the layout of src/", () => {
  test(`no source file is over ${MAX_LINES} lines`, () => {
    const long = files.map((f) => ({ f: rel(f), n: readFileSync(f, "utf8").split("\n").length - 1 })).filter((x) => x.n > MAX_LINES);
    expect(long).toEqual([]);
  });

  test("no import cycle", () => {
    const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, "utf8"))]));
    expect(findCycles(graph).map((c) => c.map(rel).join(" -> "))).toEqual([]);
  });

  test("the cycle finder finds what it should (so the test above can fail)", () => {
    const g = new Map<string, string[]>([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
    expect(findCycles(g)).toEqual([["a", "b", "c"]]);
    expect(findCycles(new Map([["a", ["b"]], ["b", []]]))).toEqual([]);
    expect(importsOf("/x/y/z.ts", `import a from "./a.ts";\nexport { b } from "../b.ts";\nconst c = await import("./c/d.ts");\nimport "./side.ts";\nimport x from "node:fs";`))
      .toEqual(["/x/y/a.ts", "/x/b.ts", "/x/y/c/d.ts", "/x/y/side.ts"]);
  });

  test("the shared ground never imports a program, the dispatcher or an agent", () => {
    const shared = ["cli", "install", "process", "logs", "locks", "reports", "format"];
    const upper = ["programs", "dispatcher", "backup-agents", "reporter", "jobs-admin", "history", "mail", "watcher"];
    const bad: string[] = [];
    for (const f of files) {
      const top = rel(f).split(nodePath.sep)[0]!;
      if (!shared.includes(top)) continue;
      for (const target of importsOf(f, readFileSync(f, "utf8"))) {
        const t = rel(target).split(nodePath.sep)[0]!;
        if (upper.includes(t)) bad.push(`${rel(f)} imports ${rel(target)}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
