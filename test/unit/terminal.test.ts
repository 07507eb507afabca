/** The suite's one terminal output: when to colour, the colour scheme, messages with data escaped. */
import { describe, expect, test } from "bun:test";
import { isTerminal, makePaint, messageLine, shouldColour } from "../../src/format/terminal.ts";

describe("when to colour", () => {
  test.each([
    [true, {}, true],
    [false, {}, false],
    [true, { NO_COLOR: "1" }, false],
    [true, { NO_COLOR: "" }, true],
    [true, { TERM: "dumb" }, false],
    [false, { FORCE_COLOR: "1" }, true],
    [false, { FORCE_COLOR: "0" }, false],
    [true, { FORCE_COLOR: "1", NO_COLOR: "1" }, false],
  ])("tty %p env %p -> %p", (tty, env, want) => expect(shouldColour(tty, env)).toBe(want));

  test.each([
    [true, {}, true],
    [undefined, {}, false],
    [true, { TERM: "dumb" }, false],
    [true, { NO_COLOR: "1" }, true],
  ])("a terminal for the live line: tty %p env %p -> %p", (tty, env, want) => expect(isTerminal(tty, env)).toBe(want));
});

describe("the colour scheme", () => {
  test.each([
    ["error", "\x1b[31mx\x1b[0m"],
    ["ok", "\x1b[32mx\x1b[0m"],
    ["warn", "\x1b[33mx\x1b[0m"],
    ["dim", "\x1b[2mx\x1b[0m"],
    ["bold", "\x1b[1mx\x1b[0m"],
    ["plain", "x"],
  ] as const)("%s", (style, painted) => {
    expect(makePaint(true)(style, "x")).toBe(painted);
    expect(makePaint(false)(style, "x")).toBe("x");
  });
  test("nothing is painted around an empty text", () => expect(makePaint(true)("error", "")).toBe(""));
});

describe("messages", () => {
  test.each([
    ["w", "warning: bad config", "w: warning: bad config\n"],
    ["w", "PAGER=\"a\nb\x1b[2J\" not found", "w: PAGER=\"a\\nb\\x1b[2J\" not found\n"],
  ])("%s: %p", (program, text, line) => expect(messageLine(program, text)).toBe(line));
});
