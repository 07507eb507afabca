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
  /** Other logs that receive every line too, child output included (the -d diagnostic log). */
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

  /** Write timestamped bytes as they are, here and into every file mirror. */
  writeRaw(buf: Uint8Array): void {
    for (const m of this.mirrors) if (m instanceof FileLineLog) m.writeRaw(buf);
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
    for (const m of this.mirrors) if (!(m instanceof FileLineLog)) m.line(text);
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

/** Output is assembled per chunk in a buffer of this size (per sink), then written. */
const SCRATCH_BYTES = 256 * 1024;

class LineSink implements StreamSink {
  private carry: Buffer[] = [];
  private scratch: Buffer | undefined;
  private prefix: Buffer = Buffer.alloc(0);
  private prefixStamp: Uint8Array | undefined;
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

  /** `<stamp> <tag> `, rebuilt when the second changes. */
  private prefixFor(stamp: Uint8Array): Buffer {
    if (stamp !== this.prefixStamp) {
      this.prefixStamp = stamp;
      this.prefix = Buffer.concat([stamp, this.tag]);
    }
    return this.prefix;
  }

  /**
   * One pass over the chunk: each complete line is copied behind its prefix into a
   * reused scratch buffer (Buffer.copy with offsets: no per-line allocation), which is
   * written out when full and at the end of the chunk, so the log keeps the order of
   * writes from other sinks and lines.
   */
  write(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.total += chunk.length;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const stamp = this.ts.current().bytes;
    let nl = buf.indexOf(NL);
    if (nl === -1) {
      this.carry.push(buf);
      this.carryLen += buf.length;
      if (this.carryLen >= MAX_LINE_BYTES) this.flushCarry(stamp);
      return;
    }
    const prefix = this.prefixFor(stamp);
    const scratch = (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
    const carried = this.carryLen > 0 ? { parts: this.carry, len: this.carryLen } : undefined;
    let o = 0;
    let start = 0;
    let count = 0;
    for (; nl !== -1; nl = buf.indexOf(NL, start)) {
      const need = prefix.length + this.carryLen + nl + 1 - start;
      if (o + need > scratch.length && o > 0) {
        this.log.writeRaw(scratch.subarray(0, o));
        o = 0;
      }
      if (need > scratch.length) {
        // A line longer than the scratch buffer (a huge chunk): written on its own.
        this.log.writeRaw(Buffer.concat([prefix, ...this.carry, buf.subarray(start, nl + 1)]));
      } else {
        o += prefix.copy(scratch, o);
        for (const c of this.carry) o += c.copy(scratch, o);
        o += buf.copy(scratch, o, start, nl + 1);
      }
      this.carry = [];
      this.carryLen = 0;
      count++;
      start = nl + 1;
    }
    if (o > 0) this.log.writeRaw(scratch.subarray(0, o));
    this.rememberLast(buf, count, start - 1, carried);
    if (start < buf.length) {
      const rest = buf.subarray(start);
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
