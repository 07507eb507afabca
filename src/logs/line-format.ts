/**
 * Formatting captured output: every complete line of a chunk copied behind a prefix
 * (`<timestamp> <tag> `), byte for byte, into blocks that are written out at once.
 * (A WebAssembly SIMD formatter used to stand beside this one. Weighed side by side in
 * bench/capture.bench.ts it was no faster end to end and took more memory: docs/capture.md.)
 */
export interface LineFormatter {
  /**
   * Emit every complete line of `buf` from `start` on, each behind `prefix`, in blocks
   * (a block is only valid during the call of `emit`: it is reused). Returns the index
   * after the last newline (`start` when there is none): the rest is a partial line.
   */
  formatLines(buf: Uint8Array, start: number, prefix: Uint8Array, emit: (block: Uint8Array) => void): number;
}

const NL = 0x0a;
/** Output is assembled in a buffer of this size, then emitted. */
const SCRATCH_BYTES = 256 * 1024;

/** Three native calls per line (find, copy the prefix, copy the line) into a reused buffer. */
class JsLineFormatter implements LineFormatter {
  private scratch: Buffer | undefined;

  formatLines(chunk: Uint8Array, start: number, prefix: Uint8Array, emit: (block: Uint8Array) => void): number {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const pfx = Buffer.isBuffer(prefix) ? prefix : Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
    const scratch = (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
    let o = 0;
    for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
      const need = pfx.length + nl + 1 - start;
      if (o + need > scratch.length && o > 0) {
        emit(scratch.subarray(0, o));
        o = 0;
      }
      if (need > scratch.length) {
        // A line longer than the scratch buffer: emitted straight from the chunk.
        emit(pfx);
        emit(buf.subarray(start, nl + 1));
      } else {
        o += pfx.copy(scratch, o);
        o += buf.copy(scratch, o, start, nl + 1);
      }
      start = nl + 1;
    }
    if (o > 0) emit(scratch.subarray(0, o));
    return start;
  }
}

export const lineFormatter: LineFormatter = new JsLineFormatter();
