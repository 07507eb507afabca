/**
 * Text lines from bytes as they arrive, with bounded memory: a line is never held beyond
 * `maxLineBytes` (a longer one is handed on in pieces), and a partial last line is carried,
 * copied, until its end comes. Bytes that are not UTF-8 become U+FFFD; a character split
 * across chunks stays whole.
 *
 * Two readers: log files (`\n` ends a line, a `\r` before it is dropped, empty lines
 * count) and a child's live output (`crEndsLine`: `\r` ends a line too, since progress
 * output redraws with it, and the empty lines between are dropped).
 */
export interface LineSplitterOptions {
  readonly maxLineBytes: number;
  readonly crEndsLine?: boolean;
  /** Lines the reader does not need, recognised from their bytes: never decoded. */
  readonly skip?: (buf: Buffer, start: number, end: number) => boolean;
}

const NL = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryLen = 0;
  /** A piece of the current line was handed on already: its end adds no empty line. */
  private midLine = false;
  private readonly maxLineBytes: number;
  private readonly crEndsLine: boolean;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly opts: LineSplitterOptions,
  ) {
    if (!(opts.maxLineBytes >= 1)) throw new RangeError(`maxLineBytes must be 1 or more (got ${opts.maxLineBytes})`);
    this.maxLineBytes = opts.maxLineBytes;
    this.crEndsLine = opts.crEndsLine === true;
  }

  /** Bytes of a partial last line held back. */
  get pending(): number {
    return this.carryLen;
  }

  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let end = this.lineEnd(buf, start); end !== -1; end = this.lineEnd(buf, start)) {
      this.endLine(buf, start, end);
      start = end + 1;
    }
    this.carryPart(buf, start, buf.length);
  }

  /** Hand on a partial last line, if any (end of file or stream, switching files, stopping). */
  flush(): void {
    if (this.carryLen > 0) this.emit(Buffer.concat(this.carry, this.carryLen));
    this.midLine = false;
  }

  /** Forget a partial line (the file was truncated under it). */
  reset(): void {
    this.carry = [];
    this.carryLen = 0;
    this.midLine = false;
  }

  private lineEnd(buf: Buffer, from: number): number {
    const nl = buf.indexOf(NL, from);
    if (!this.crEndsLine) return nl;
    const cr = buf.indexOf(CR, from);
    return cr === -1 ? nl : nl === -1 ? cr : Math.min(nl, cr);
  }

  private endLine(buf: Buffer, start: number, end: number): void {
    if (this.carryLen === 0 && end - start <= this.maxLineBytes) {
      // The common case: a whole line inside one chunk, decoded straight from it.
      const restOfSplitLine = end === start && this.midLine;
      if (!restOfSplitLine && !this.opts.skip?.(buf, start, end)) this.deliver(buf.toString("utf8", start, end));
      this.midLine = false;
      return;
    }
    this.carryPart(buf, start, end);
    this.flush();
  }

  /** Carry buf[from, to) (a copy: the caller may reuse its buffer); hand it on in pieces once too long. */
  private carryPart(buf: Buffer, from: number, to: number): void {
    while (from < to) {
      const take = Math.min(this.maxLineBytes - this.carryLen, to - from);
      this.carry.push(Buffer.from(buf.subarray(from, from + take)));
      this.carryLen += take;
      from += take;
      if (this.carryLen >= this.maxLineBytes) {
        this.emit(Buffer.concat(this.carry, this.carryLen));
        this.midLine = true;
      }
    }
  }

  private emit(line: Buffer): void {
    this.carry = [];
    this.carryLen = 0;
    this.deliver(line.toString("utf8"));
  }

  private deliver(line: string): void {
    if (this.crEndsLine) {
      if (line !== "") this.onLine(line);
    } else this.onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  }
}
