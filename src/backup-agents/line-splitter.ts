/**
 * Splits a child's output into lines as it arrives, with bounded memory: a line longer
 * than MAX_LINE_BYTES is handed on in pieces. `\r` ends a line too (rsync's progress
 * output redraws with it). Bytes that are not UTF-8 become U+FFFD.
 */
export const MAX_LINE_BYTES = 64 * 1024;

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Uint8Array): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== 0x0a && b !== 0x0d) continue;
      this.push(chunk.subarray(start, i));
      this.emit();
      start = i + 1;
    }
    if (start < chunk.length) this.push(chunk.subarray(start));
  }

  end(): void {
    if (this.size > 0) this.emit();
  }

  private push(piece: Uint8Array): void {
    let rest = piece;
    while (rest.length > 0) {
      const take = rest.subarray(0, MAX_LINE_BYTES - this.size);
      this.parts.push(Buffer.from(take));
      this.size += take.length;
      rest = rest.subarray(take.length);
      if (this.size >= MAX_LINE_BYTES) this.emit();
    }
  }

  private emit(): void {
    if (this.size === 0) return;
    const line = this.decoder.decode(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
    this.onLine(line);
  }
}
