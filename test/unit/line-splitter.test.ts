/** The one line splitter: log files (`\n`) and a child's live output (`\r` too), bounded. */
import { describe, expect, test } from "bun:test";
import { LineSplitter, type LineSplitterOptions } from "../../src/format/line-splitter.ts";

const FILE: LineSplitterOptions = { maxLineBytes: 1024 * 1024 };
const LIVE: LineSplitterOptions = { maxLineBytes: 64 * 1024, crEndsLine: true };

function split(chunks: (string | Uint8Array)[], opts: LineSplitterOptions) {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l), opts);
  for (const c of chunks) s.push(typeof c === "string" ? new TextEncoder().encode(c) : c);
  const pending = s.pending;
  s.flush();
  return { out, pending };
}

describe("lines of a log file", () => {
  test.each([
    [["a\nb\n"], ["a", "b"], 0],
    [["a", "b\nc"], ["ab", "c"], 1],
    [["a\r\n", "\n"], ["a", ""], 0],
    [["x\n", "", "y"], ["x", "y"], 1],
    [["é".slice(0, 1), "\n"], ["é"], 0],
    [["a\rb\n"], ["a\rb"], 0],
    [["\n\n"], ["", ""], 0],
  ])("%p -> %p (pending %d)", (chunks, lines, pending) => {
    const r = split(chunks, FILE);
    expect(r.out).toEqual(lines);
    expect(r.pending).toBe(pending);
  });

  test("skipped lines are not handed on", () => {
    const skip = (buf: Buffer, start: number) => buf[start] === 0x23;
    expect(split(["# no\nyes\n#no\n"], { ...FILE, skip }).out).toEqual(["yes"]);
  });

  test("reset forgets a partial line", () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l), FILE);
    s.push(Buffer.from("half"));
    s.reset();
    s.push(Buffer.from("whole\n"));
    expect(out).toEqual(["whole"]);
  });
});

describe("lines of a child's live output", () => {
  test.each([
    [["one\ntw", "o\r\nthr", "ee\rfour"], ["one", "two", "three", "four"]],
    [["a\r\n\r\n", "b"], ["a", "b"]],
    [["50%\r", "100%\r", "done\n"], ["50%", "100%", "done"]],
  ])("%p -> %p", (chunks, lines) => expect(split(chunks, LIVE).out).toEqual(lines));
});

describe("bounded memory", () => {
  test.each([
    ["across chunks", ["abcdefgh", "ij\n"], ["abcd", "efgh", "ij"]],
    ["inside one chunk", ["abcdefghij\n"], ["abcd", "efgh", "ij"]],
    ["exactly the cap adds no empty line", ["abcd", "\nx\n"], ["abcd", "x"]],
    ["exactly the cap inside one chunk", ["abcd\n"], ["abcd"]],
  ])("a line longer than the cap comes in pieces: %s", (_what, chunks, lines) => {
    expect(split(chunks, { maxLineBytes: 4 }).out).toEqual(lines);
  });

  test("a huge line comes in pieces of the cap; bad UTF-8 becomes U+FFFD", () => {
    const r = split([Buffer.alloc(200 * 1024, 0x61), Buffer.from([0xff, 0x0a])], LIVE);
    expect(r.out.map((l) => l.length)).toEqual([65536, 65536, 65536, 8192 + 1]);
    expect(r.out.at(-1)!.endsWith("\uFFFD")).toBe(true);
  });

  test("a multi-byte character split across chunks stays whole", () => {
    const bytes = new TextEncoder().encode("€uro\n");
    expect(split([bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)], FILE).out).toEqual(["€uro"]);
  });

  test("the caller's buffer may be reused after push", () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l), FILE);
    const buf = Buffer.from("abc");
    s.push(buf);
    buf.fill(0x7a);
    s.push(Buffer.from("\n"));
    expect(out).toEqual(["abc"]);
  });
});
