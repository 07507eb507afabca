/**
 * The suite's one colour scheme (consola's) and when it is used: consola's colours on, and
 * the stream a terminal. consola decides at import, so its rule is probed in a child
 * process per environment.
 */
import { describe, expect, test } from "bun:test";
import nodePath from "node:path";
import { isTerminal, makePaint, shouldColour } from "../../src/format/terminal.ts";

const TERMINAL_TS = nodePath.resolve(import.meta.dir, "../../src/format/terminal.ts");
const STYLES = ["error", "ok", "warn", "dim", "bold", "plain"] as const;

/** consola's decision and the painted styles, in a process whose stdout is a pipe. */
function probe(env: Record<string, string>): { on: boolean; painted: string[]; empty: string } {
  const code = `import { CONSOLA_COLOURS, makePaint } from ${JSON.stringify(TERMINAL_TS)};
const p = makePaint(true);
process.stdout.write(JSON.stringify({ on: CONSOLA_COLOURS, painted: ${JSON.stringify(STYLES)}.map((s) => p(s, "x")), empty: p("error", "") }));`;
  const r = Bun.spawnSync([process.execPath, "-e", code], { env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString());
}

describe("when to colour", () => {
  test.each([
    [true, true, {}, true],
    [false, true, {}, false],
    [undefined, true, {}, false],
    [true, true, { TERM: "dumb" }, false],
    [true, false, {}, false],
  ])("tty %p, consola's colours %p, env %p -> %p", (tty, consola, env, want) => expect(shouldColour(tty, consola, env)).toBe(want));

  test.each([
    [true, {}, true],
    [undefined, {}, false],
    [true, { TERM: "dumb" }, false],
    [true, { NO_COLOR: "1" }, true],
  ])("a terminal for the live line: tty %p env %p -> %p", (tty, env, want) => expect(isTerminal(tty, env)).toBe(want));

  test.each([
    [{}, false],
    [{ FORCE_COLOR: "1" }, true],
    [{ FORCE_COLOR: "0" }, true],
    [{ FORCE_COLOR: "1", NO_COLOR: "" }, false],
    [{ FORCE_COLOR: "1", NO_COLOR: "1" }, false],
  ])("consola's colours with stdout a pipe, env %p -> %p", (env, on) => expect(probe(env).on).toBe(on));
});

describe("the colour scheme: consola's", () => {
  test("each style in consola's codes, closed by consola's codes; nothing around an empty text", () => {
    const p = probe({ FORCE_COLOR: "1" });
    expect(p.painted).toEqual(["\x1b[31mx\x1b[39m", "\x1b[32mx\x1b[39m", "\x1b[33mx\x1b[39m", "\x1b[2mx\x1b[22m", "\x1b[1mx\x1b[22m", "x"]);
    expect(p.empty).toBe("");
  });
  test("consola's colours off (NO_COLOR): no code even when asked for", () => {
    expect(probe({ FORCE_COLOR: "1", NO_COLOR: "" }).painted).toEqual(STYLES.map(() => "x"));
  });
  test.each(STYLES)("colour off: %s adds nothing", (style) => expect(makePaint(false)(style, "x")).toBe("x"));
});
