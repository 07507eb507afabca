/**
 * The one writer of every log file of the suite (CA, CAD, RP, the agents' daily logs).
 * It owns what all of them share: the local timestamp `YYYY-MM-DD HH:MM:SS` that starts
 * every line, appending, the -d mirror, reporting a write failure once, and escaping: a
 * line of the program's own is one line, its control characters escaped (format/escape.ts).
 *
 * Child output is the exception, on purpose: it is written as it arrives, byte for byte
 * (binary-safe), through a fast formatter (line-format.ts), with bounded memory: a partial
 * line is carried at most MAX_LINE_BYTES before it is written as a line of its own.
 * Writes are synchronous, so a crash loses nothing already written and a fast child is
 * slowed by the log's pace rather than growing our memory.
 *
 * A log that cannot be written (full disk, read-only folder) is said once, and from then
 * on its lines go to the log's `fallback` when it has one (cncopagent's: stderr), so a
 * run's record is kept somewhere rather than lost without a word.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { lineFormatter } from "./line-format.ts";
import { escapeControls } from "../format/escape.ts";
import { maskText } from "../format/secrets.ts";
import { concatBytes, copyBytes } from "../format/bytes.ts";
import { TimestampCache } from "../format/time.ts";

export const MAX_LINE_BYTES = 64 * 1024;
const NL = 0x0a;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface LineLog {
  readonly path: string;
  /** One line, timestamped; line breaks and other control characters in it are escaped. */
  line(text: string): void;
  /** A sink for a child's stream; each line is written as `<ts> <tag> <bytes>`. */
  sink(tag: string): StreamSink;
  close(): void;
}

export interface StreamSink {
  /** The chunk is only valid during the call (readers reuse their buffers): copy what is kept. */
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
  /** Where the lines go once the file cannot be written (they are complete log lines). */
  fallback: ((buf: Uint8Array) => void) | undefined;

  /** `fd` null: the file could not be created; every line goes to the fallback. */
  constructor(
    readonly path: string,
    fd?: number | null,
    now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => {},
    mode = 0o644,
  ) {
    // The mode counts only when the file is new: an existing log keeps its own.
    this.fd = fd === null ? undefined : (fd ?? openSync(path, "a", mode));
    this.failed = fd === null;
    this.ts = new TimestampCache(now);
  }

  /** Does the file itself still receive the lines? */
  get writing(): boolean {
    return !this.failed;
  }

  /** Write timestamped bytes as they are, here and into every file mirror. */
  writeRaw(buf: Uint8Array): void {
    for (const m of this.mirrors) if (m instanceof FileLineLog) m.writeRaw(buf);
    if (this.failed) return this.fallback?.(buf);
    if (this.fd === undefined) return;
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    } catch (err) {
      // A full disk must not crash a backup: report once, keep running.
      this.failed = true;
      this.onError(err);
      this.fallback?.(buf.subarray(off));
    }
  }

  line(text: string): void {
    this.writeRaw(encoder.encode(`${this.ts.current().text} ${escapeControls(maskText(text))}\n`));
    for (const m of this.mirrors) if (!(m instanceof FileLineLog)) m.line(text);
  }

  sink(tag: string, tailLines = 20): StreamSink {
    const bytes = encoder.encode(` ${escapeControls(tag)} `);
    return new LineSink(this, this.ts, bytes, tailLines);
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

/** What a person is told when a log cannot be written: the file, the operation, and the system's words. */
export function writeFailureText(path: string, err: unknown): string {
  return `cannot write the log ${path} (write): ${(err as Error).message}`;
}

/**
 * A fallback that writes log lines to stderr: as they are into a pipe or file (cron's
 * mail, the journal), with control characters escaped on a terminal. A closed stderr
 * loses them without disturbing the run.
 */
export function stderrFallback(isTty = process.stderr.isTTY === true, fd = 2): (buf: Uint8Array) => void {
  let closed = false;
  return (buf) => {
    if (closed) return;
    const out = isTty ? encoder.encode(decoder.decode(buf).split("\n").map(escapeControls).join("\n")) : buf;
    try {
      let off = 0;
      while (off < out.length) off += writeSync(fd, out, off, out.length - off);
    } catch {
      closed = true;
    }
  };
}

/**
 * Open a log for appending; its first write failure is said through `say` (once). `mode` applies to a new file: 0600 for logs that can name
 * URLs and hosts of remote systems (the RP log, the agents' daily logs), 0644 otherwise.
 */
export function openLogFile(path: string, say: (text: string) => void, now: () => number = Date.now, mode = 0o644): FileLineLog {
  return new FileLineLog(path, undefined, now, (err) => say(writeFailureText(path, err)), mode);
}

/** Lines kept for tail() are cut to this many bytes. */
const TAIL_LINE_BYTES = 1000;

class LineSink implements StreamSink {
  /** The partial last line: copies, since a reader may reuse its chunk buffers. */
  private carry: Uint8Array[] = [];
  private carryLen = 0;
  private prefix: Uint8Array = new Uint8Array(0);
  private prefixStamp: Uint8Array | undefined;
  private total = 0;
  /** The last lines seen, raw; decoded only when tail() is asked for. */
  private readonly tailRing: Uint8Array[] = [];
  private readonly emit = (block: Uint8Array) => this.log.writeRaw(block);

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
    const out = this.tailRing.map(decodeLine);
    if (this.carryLen > 0) out.push(decoder.decode(concatBytes(this.carry, this.carryLen)));
    return out.slice(-this.tailLines);
  }

  /** `<stamp> <tag> `, rebuilt when the second changes. */
  private prefixFor(stamp: Uint8Array): Uint8Array {
    if (stamp !== this.prefixStamp) {
      this.prefixStamp = stamp;
      this.prefix = concatBytes([stamp, this.tag], stamp.length + this.tag.length);
    }
    return this.prefix;
  }

  /**
   * The line begun in earlier chunks is finished first; every further complete line of
   * the chunk is formatted in one pass into blocks that are written at once, so the log
   * keeps the order of writes from other sinks and lines.
   */
  write(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.total += chunk.length;
    const stamp = this.ts.current().bytes;
    let start = 0;
    if (this.carryLen > 0) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) return this.keep(chunk, 0, stamp);
      const prefix = this.prefixFor(stamp);
      const line = concatBytes([prefix, ...this.carry, chunk.subarray(0, nl + 1)], prefix.length + this.carryLen + nl + 1);
      this.carry = [];
      this.carryLen = 0;
      this.log.writeRaw(line);
      this.remember(line.subarray(prefix.length, line.length - 1));
      start = nl + 1;
    }
    const end = lineFormatter.formatLines(chunk, start, this.prefixFor(stamp), this.emit);
    this.rememberLines(chunk, start, end);
    if (end < chunk.length) this.keep(chunk, end, stamp);
  }

  /** Carry a partial line (a copy); written as a line of its own once it is too long. */
  private keep(chunk: Uint8Array, from: number, stamp: Uint8Array): void {
    const rest = new Uint8Array(chunk.subarray(from));
    this.carry.push(rest);
    this.carryLen += rest.length;
    if (this.carryLen >= MAX_LINE_BYTES) this.flushCarry(stamp);
  }

  /** Remember the last `tailLines` of the complete lines in chunk[start, end). */
  private rememberLines(chunk: Uint8Array, start: number, end: number): void {
    const lines: Uint8Array[] = [];
    let nl = end - 1;
    while (lines.length < this.tailLines && nl >= start) {
      let prev = nl > start ? chunk.lastIndexOf(NL, nl - 1) : -1;
      if (prev < start) prev = start - 1;
      lines.push(copyBytes(chunk, prev + 1, Math.min(nl, prev + 1 + TAIL_LINE_BYTES)));
      nl = prev;
    }
    for (let k = lines.length - 1; k >= 0; k--) this.remember(lines[k]!);
  }

  private remember(line: Uint8Array): void {
    if (this.tailLines <= 0) return;
    this.tailRing.push(line.length > TAIL_LINE_BYTES ? copyBytes(line, 0, TAIL_LINE_BYTES) : line);
    if (this.tailRing.length > this.tailLines) this.tailRing.shift();
  }

  private flushCarry(stamp: Uint8Array): void {
    const body = concatBytes(this.carry, this.carryLen);
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

const decodeLine = (line: Uint8Array): string => decoder.decode(line).replace(/\r$/, "");

