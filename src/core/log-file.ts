/**
 * Line logs: every line starts with a local timestamp `YYYY-MM-DD HH:MM:SS`. Child output
 * is written as it arrives, byte for byte (binary-safe), with bounded memory: a partial
 * line is carried at most MAX_LINE_BYTES before it is written as a line of its own.
 * Writes are synchronous, so a crash loses nothing already written and a fast child is
 * slowed by the log's pace rather than growing our memory.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { TimestampCache } from "./time.ts";

export const MAX_LINE_BYTES = 64 * 1024;
const NL = 0x0a;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface LineLog {
  readonly path: string;
  /** One or more lines of text, each timestamped. */
  line(text: string): void;
  /** A sink for a child's stream; each line is written as `<ts> <tag> <bytes>`. */
  sink(tag: string): StreamSink;
  close(): void;
}

export interface StreamSink {
  write(chunk: Uint8Array): void;
  /** Write any partial last line. */
  end(): void;
  /** Bytes seen so far. */
  readonly bytes: number;
  /** The last lines seen (at most `tailLines`), decoded, for messages and mail. */
  tail(): string[];
}

export class FileLineLog implements LineLog {
  private fd: number | undefined;
  private readonly ts: TimestampCache;
  private failed = false;
  /** Other logs that receive every line too (the -d diagnostic log). */
  readonly mirrors: LineLog[] = [];

  constructor(
    readonly path: string,
    fd?: number,
    now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.fd = fd ?? openSync(path, "a", 0o644);
    this.ts = new TimestampCache(now);
  }

  writeRaw(buf: Uint8Array): void {
    if (this.fd === undefined || this.failed) return;
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    } catch (err) {
      // A full disk must not crash a backup: report once, keep running.
      this.failed = true;
      this.onError(err);
    }
  }

  line(text: string): void {
    const ts = this.ts.current().text;
    const lines = text.split(/\r?\n/);
    this.writeRaw(encoder.encode(lines.map((l) => `${ts} ${l}\n`).join("")));
    for (const m of this.mirrors) m.line(text);
  }

  sink(tag: string, tailLines = 20): StreamSink {
    return new LineSink(this, this.ts, encoder.encode(` ${tag} `), tailLines);
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {}
      this.fd = undefined;
    }
  }
}

class LineSink implements StreamSink {
  private carry: Uint8Array[] = [];
  private carryLen = 0;
  private total = 0;
  private readonly tailRing: string[] = [];

  constructor(
    private readonly log: FileLineLog,
    private readonly ts: TimestampCache,
    private readonly tag: Uint8Array,
    private readonly tailLines: number,
  ) {}

  get bytes(): number {
    return this.total;
  }

  tail(): string[] {
    const out = [...this.tailRing];
    if (this.carryLen > 0) out.push(decoder.decode(concat(this.carry, this.carryLen)));
    return out.slice(-this.tailLines);
  }

  write(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.total += chunk.length;
    const stamp = this.ts.current().bytes;
    const prefixLen = stamp.length + this.tag.length;
    // Pass 1: count complete lines to size one output buffer for the chunk.
    let count = 0;
    for (let i = chunk.indexOf(NL); i !== -1; i = chunk.indexOf(NL, i + 1)) count++;
    if (count === 0) {
      this.carry.push(chunk);
      this.carryLen += chunk.length;
      if (this.carryLen >= MAX_LINE_BYTES) this.flushCarry(stamp);
      return;
    }
    const out = Buffer.allocUnsafe(chunk.length + this.carryLen + count * prefixLen);
    const carried = this.carryLen > 0 ? { parts: this.carry, len: this.carryLen } : undefined;
    let o = 0;
    let start = 0;
    let first = true;
    for (let i = chunk.indexOf(NL); i !== -1; i = chunk.indexOf(NL, i + 1)) {
      out.set(stamp, o);
      o += stamp.length;
      out.set(this.tag, o);
      o += this.tag.length;
      if (first && this.carryLen > 0) {
        for (const c of this.carry) {
          out.set(c, o);
          o += c.length;
        }
        this.carry = [];
        this.carryLen = 0;
      }
      first = false;
      out.set(chunk.subarray(start, i + 1), o);
      o += i + 1 - start;
      start = i + 1;
    }
    this.log.writeRaw(out.subarray(0, o));
    this.rememberLast(chunk, count, start - 1, carried);
    if (start < chunk.length) {
      const rest = chunk.slice(start);
      this.carry.push(rest);
      this.carryLen += rest.length;
      if (this.carryLen >= MAX_LINE_BYTES) this.flushCarry(stamp);
    }
  }

  /**
   * Keep the last `tailLines` complete lines of a chunk holding `count` of them, the last
   * ending at `lastNl`; the first one starts with the bytes carried from earlier chunks.
   */
  private rememberLast(chunk: Uint8Array, count: number, lastNl: number, carried: { parts: Uint8Array[]; len: number } | undefined): void {
    const n = Math.min(count, this.tailLines);
    const lines: Uint8Array[] = [];
    let end = lastNl;
    for (let k = 0; k < n; k++) {
      const isFirst = k === count - 1;
      const prevNl = isFirst ? -1 : chunk.lastIndexOf(NL, end - 1);
      let line = chunk.subarray(prevNl + 1, end);
      if (isFirst && carried) line = concat([...carried.parts, line], carried.len + line.length);
      lines.push(line);
      end = prevNl;
    }
    for (let k = lines.length - 1; k >= 0; k--) this.remember(lines[k]!);
  }

  private remember(line: Uint8Array): void {
    if (this.tailLines <= 0) return;
    const text = decoder.decode(line.length > 1000 ? line.subarray(0, 1000) : line).replace(/\r$/, "");
    this.tailRing.push(text);
    if (this.tailRing.length > this.tailLines) this.tailRing.shift();
  }

  private flushCarry(stamp: Uint8Array): void {
    const body = concat(this.carry, this.carryLen);
    this.carry = [];
    this.carryLen = 0;
    const out = Buffer.allocUnsafe(stamp.length + this.tag.length + body.length + 1);
    out.set(stamp, 0);
    out.set(this.tag, stamp.length);
    out.set(body, stamp.length + this.tag.length);
    out[out.length - 1] = NL;
    this.log.writeRaw(out);
    this.remember(body);
  }

  end(): void {
    if (this.carryLen > 0) this.flushCarry(this.ts.current().bytes);
  }
}

function concat(parts: Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A log that writes nowhere (dry runs of helpers, tests). */
export const nullLog: LineLog = {
  path: "",
  line() {},
  sink() {
    let n = 0;
    return {
      write(c: Uint8Array) {
        n += c.length;
      },
      end() {},
      get bytes() {
        return n;
      },
      tail: () => [],
    };
  },
  close() {},
};
