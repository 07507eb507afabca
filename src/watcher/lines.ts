/**
 * Lines of log files with bounded memory: a file of any size is read in fixed chunks, and a
 * line is never held beyond WATCH_LINE_BYTES (a longer one is handed on in pieces). The
 * same splitter serves summaries (a whole file) and follow mode (bytes as they arrive,
 * with a partial last line carried until its newline comes).
 *
 * Lines are handed on as w shows them: decoded as UTF-8, a final CR dropped (the shared
 * splitter does that for log files), and every other control character escaped
 * (format/escape.ts). A CA log keeps a child's output byte for byte, colour codes and
 * all; printed, that is data and must not drive the terminal, and the parsers never need
 * a control character.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { escapeControls } from "../format/escape.ts";
import { LineSplitter } from "../format/line-splitter.ts";

/** Longer lines are passed on in pieces of this size. */
export const WATCH_LINE_BYTES = 1024 * 1024;
export const READ_CHUNK_BYTES = 1024 * 1024;
const NL = 0x0a;

/** Call `onLine` for every line of a file, reading it in chunks: memory does not grow with its size. */
export function forEachLine(
  path: string,
  onLine: (line: string) => void,
  chunkBytes = READ_CHUNK_BYTES,
  skip?: (buf: Buffer, start: number, end: number) => boolean,
): number {
  const fd = openSync(path, "r");
  const splitter = new LineSplitter((line) => onLine(escapeControls(line)), { maxLineBytes: WATCH_LINE_BYTES, skip });
  const buf = Buffer.allocUnsafe(chunkBytes);
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      splitter.push(buf.subarray(0, n));
    }
    splitter.flush();
  } finally {
    closeSync(fd);
  }
  return total;
}

/** The last `count` complete lines of a file (read from its end), and the offset after them. */
export function lastLines(path: string, count: number, maxBytes = 256 * 1024): { lines: string[]; end: number } {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const from = Math.max(0, size - maxBytes);
    const buf = Buffer.allocUnsafe(size - from);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    const data = buf.subarray(0, got);
    // Only complete lines: a partial last line is left for the follower to finish.
    const lastNl = data.lastIndexOf(NL);
    if (lastNl === -1) return { lines: [], end: from };
    let body = data.subarray(0, lastNl);
    // When we did not start at the file's beginning, the first line may be cut: drop it.
    if (from > 0) {
      const firstNl = body.indexOf(NL);
      body = firstNl === -1 ? Buffer.alloc(0) : body.subarray(firstNl + 1);
    }
    const lines = body.length === 0 && from > 0 ? [] : body.toString("utf8").split("\n").map(shownLine);
    return { lines: count === 0 ? [] : lines.slice(-count), end: from + lastNl + 1 };
  } finally {
    closeSync(fd);
  }
}

/** A line as w shows it, like the splitter's: a final CR dropped, control characters escaped. */
function shownLine(s: string): string {
  return escapeControls(s.endsWith("\r") ? s.slice(0, -1) : s);
}
