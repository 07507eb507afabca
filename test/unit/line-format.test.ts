/**
 * The line formatter against a plain reference: the same bytes for every prefix length,
 * line length, byte value and start offset, including lines longer than its scratch buffer
 * and output that fills the buffer many times.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { lineFormatter, type LineFormatter } from "../../src/logs/line-format.ts";

// The cases make a few hundred MB of short-lived buffers: give the memory back, since later
// tests measure the peak memory of children, which on Linux starts at ours when they spawn.
afterAll(() => Bun.gc(true));


/** What formatLines must produce: each complete line from `start` behind the prefix. */
function reference(buf: Buffer, start: number, prefix: Buffer): { out: Buffer; end: number } {
  let count = 0;
  for (let i = start; i < buf.length; i++) if (buf[i] === 0x0a) count++;
  const end = count === 0 ? start : buf.lastIndexOf(0x0a) + 1;
  const out = Buffer.alloc(count * prefix.length + end - start);
  let o = 0;
  for (let nl = buf.indexOf(0x0a, start); nl !== -1; nl = buf.indexOf(0x0a, start)) {
    o += prefix.copy(out, o);
    o += buf.copy(out, o, start, nl + 1);
    start = nl + 1;
  }
  return { out, end };
}

function run(f: LineFormatter, buf: Buffer, start: number, prefix: Buffer): { out: Buffer; end: number; blocks: number } {
  const parts: Buffer[] = [];
  const end = f.formatLines(buf, start, prefix, (block) => parts.push(Buffer.from(block)));
  return { out: Buffer.concat(parts), end, blocks: parts.length };
}

/** Deterministic pseudo-random numbers (a fixed seed: failures are reproducible). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function lines(lengths: number[], fill: (i: number) => number = (i) => 0x41 + (i % 26)): Buffer {
  const total = lengths.reduce((a, n) => a + n + 1, 0);
  const buf = Buffer.alloc(total);
  let o = 0;
  for (const n of lengths) {
    for (let i = 0; i < n; i++) buf[o++] = fill(o) === 0x0a ? 0x0b : fill(o);
    buf[o++] = 0x0a;
  }
  return buf;
}

const MIB = 1 << 20;
const random = rng(42);
const CASES: [string, Buffer][] = [
  ["empty", Buffer.alloc(0)],
  ["one newline", Buffer.from("\n")],
  ["only newlines", Buffer.alloc(1000, 0x0a)],
  ["no newline at all", Buffer.alloc(5000, 0x61)],
  ["a partial last line", Buffer.from("one\ntwo\nthr")],
  ["lines of 0 to 40 bytes", lines(Array.from({ length: 2000 }, () => Math.floor(random() * 41)))],
  ["every byte value", Buffer.concat([Buffer.from([...Array(256).keys()]), Buffer.from([...Array(256).keys()].reverse()), Buffer.from("\n")])],
  ["CR LF and lone CR", Buffer.from("dos\r\nprogress 10%\rprogress 20%\n\r\n")],
  ["100-byte lines over two input pieces", lines(Array.from({ length: 12_000 }, () => 99))],
  ["32 Ki empty lines (the output block fills several times)", Buffer.alloc(32 * 1024, 0x0a)],
  ["a line longer than an input piece, then short ones", Buffer.concat([lines([MIB + 17]), Buffer.from("a\nb\n"), Buffer.alloc(10, 0x63)])],
  ["a line of exactly one piece", Buffer.concat([lines([MIB - 1]), Buffer.from("x\n")])],
  ["random bytes (newlines included)", Buffer.from(Array.from({ length: 200_000 }, () => Math.floor(random() * 256)))],
];
const PREFIXES = [0, 1, 15, 16, 17, 47, 100, 1024].map((n) => Buffer.from(Array.from({ length: n }, (_, i) => 0x30 + (i % 40))));

describe("the formatter gives the reference bytes", () => {
  const f = lineFormatter;
  test.each(CASES)("%s", (_case, buf) => {
    for (const prefix of PREFIXES) {
      for (const start of buf.length > 100_000 ? [0, 7] : [0, 1, 7, Math.floor(buf.length / 2)]) {
        if (start > buf.length) continue;
        const want = reference(buf, start, prefix);
        const got = run(f, buf, start, prefix);
        expect(got.end).toBe(want.end);
        expect(got.out.length).toBe(want.out.length);
        expect(got.out.equals(want.out)).toBe(true);
      }
    }
  });

  test("a Uint8Array that is a view into a larger buffer", () => {
    const whole = lines(Array.from({ length: 500 }, (_, i) => i % 50));
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 3, whole.length - 10);
    const prefix = Buffer.from("2025-05-06 07:08:09 [agent#1 stdout] ");
    const want = reference(Buffer.from(view), 0, prefix);
    const got = run(f, Buffer.from(view), 0, prefix);
    const gotView = run(f, view as Buffer, 0, prefix);
    expect(gotView.out.equals(want.out)).toBe(true);
    expect(got.out.equals(want.out)).toBe(true);
  });
});

describe("output", () => {
  test("output comes in large blocks, not a write per line", () => {
    const buf = lines(Array.from({ length: 10_000 }, () => 99));
    expect(run(lineFormatter, buf, 0, Buffer.from("p ")).blocks).toBeLessThanOrEqual(6);
  });
});
