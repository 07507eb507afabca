/**
 * The one escaping of data in log lines and on a terminal (src/format/escape.ts,
 * docs/log-formats.md "Escaping"): no control character gets through, nothing else changes.
 */
import { describe, expect, test } from "bun:test";
import { escapeControls } from "../../src/format/escape.ts";

const hex = (c: number) => `\\x${c.toString(16).padStart(2, "0")}`;
const NAMED: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" };
const CONTROLS = [...Array(0x20).keys(), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)];

describe("every control character is shown escaped", () => {
  test.each(CONTROLS.map((c) => [c, NAMED[c] ?? hex(c)] as const))("U+%s", (c, shown) => {
    expect(escapeControls(`a${String.fromCharCode(c)}b`)).toBe(`a${shown}b`);
  });
});

describe("printable text is kept as it is", () => {
  test.each([
    ["ASCII, space and backslash", "C:\\Backup\\Daily files ~!"],
    ["an already escaped text (escaping is idempotent)", "a\\nb\\x1b[0m"],
    ["Latin-1 above the C1 range", "\u00a0é ÿ"],
    ["CJK and emoji", "バックアップ 📁"],
    ["bidi marks: kept, they reorder nothing", "a\u200e\u200fb"],
    ["line and paragraph separators: kept, w does not split on them", "a\u2028b\u2029c"],
    ["the empty string", ""],
  ])("%s", (_what, text) => expect(escapeControls(text)).toBe(text));
});

describe("terminal sequences do nothing once escaped", () => {
  test.each([
    ["a colour (CSI SGR)", "\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"],
    ["erase the line, cursor up", "\r\x1b[2K\x1b[1A", "\\r\\x1b[2K\\x1b[1A"],
    ["a window title (OSC ... BEL)", "\x1b]0;owned\x07", "\\x1b]0;owned\\x07"],
    ["a hyperlink (OSC 8 ... ST)", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "\\x1b]8;;http://x\\x1b\\link\\x1b]8;;\\x1b\\"],
    ["a C1 CSI", "\u009b31m", "\\x9b31m"],
    ["a forged log line", "ok\n2025-01-01 00:00:00 FINISH job 1 'x' state OK", "ok\\n2025-01-01 00:00:00 FINISH job 1 'x' state OK"],
    ["CR LF", "dos\r\n", "dos\\r\\n"],
  ])("%s", (_what, text, shown) => {
    expect(escapeControls(text)).toBe(shown);
    expect(escapeControls(text)).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  });
});

describe("bidirectional embeddings, overrides and isolates are shown escaped", () => {
  test.each([0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069])("U+%s", (c) => {
    expect(escapeControls(`job\u0020${String.fromCharCode(c)}KO`)).toBe(`job \\u${c.toString(16)}KO`);
  });
});

describe("large texts", () => {
  const MB = 1024 * 1024;
  test("1 MB without a control character comes back as the same string", () => {
    const text = "x".repeat(MB);
    expect(escapeControls(text)).toBe(text);
  });
  test("1 MB of lines of output: every line break escaped, the text between kept", () => {
    const line = `${"y".repeat(99)}\n`;
    const shown = escapeControls(line.repeat(MB / 100));
    expect(shown).toBe(`${"y".repeat(99)}\\n`.repeat(MB / 100));
  });
  test("1 MB of nothing but control characters: each escaped", () => {
    const text = "\n\x1b".repeat(MB / 2);
    const shown = escapeControls(text);
    expect(shown.length).toBe((MB / 2) * ("\\n".length + "\\x1b".length));
    expect(shown.startsWith("\\n\\x1b\\n\\x1b")).toBe(true);
    expect(shown).not.toMatch(/[\x00-\x1f]/);
  });
});
