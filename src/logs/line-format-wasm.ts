/**
 * The fast line formatter: a tiny WebAssembly module (source: line-format.wat) that copies
 * each complete line behind a prefix with 16-byte SIMD loads and stores, finding newlines
 * with a vector compare. Formatting alone, 300 MB of 100-byte lines take it about 30 ms
 * where the JavaScript formatter needs about 120 ms (3 native calls per line); see
 * docs/capture.md for what that is worth end to end. Where WebAssembly SIMD is missing,
 * `wasmLineFormatter()` returns undefined and the JavaScript formatter is used.
 *
 * This module lays out the memory the WebAssembly function works in and feeds it the
 * input a piece at a time. Reads may run 15 bytes past the input and writes 15 bytes past
 * a line: the regions below carry that slack.
 */
import { jsLineFormatter, type LineFormatter } from "./line-format.ts";
import { assembleWat } from "./wat-to-wasm.ts" with { type: "macro" };

/** The module's bytes, assembled from the text when this file is bundled or transpiled. */
const MODULE_BASE64 = assembleWat("src/logs/line-format.wat");

const NL = 0x0a;
/** Longest prefix formatted here (timestamp, tag); longer ones go to the JavaScript formatter. */
export const WASM_PREFIX_MAX = 1024;
// The memory: address 0 receives the output's end from each call, then come the prefix,
// the input piece and the output block, each followed by its slack.
const PREFIX_AT = 64;
const IN_AT = 2048;
/** Input is copied into the module's memory in pieces of this size. */
const IN_BYTES = 1 << 20;
const OUT_AT = IN_AT + IN_BYTES + 64;
/** No new line is started past this output position; one line more always fits. */
const OUT_LIMIT = OUT_AT + (1 << 20);
const MEMORY_END = OUT_LIMIT + WASM_PREFIX_MAX + IN_BYTES + 128;
const PAGE_BYTES = 65536;
const PAGES = Math.ceil(MEMORY_END / PAGE_BYTES);

/** The module's bytes (exported for the unit tests that check them). */
export function formatterModuleBytes(): Uint8Array {
  return new Uint8Array(Buffer.from(MODULE_BASE64, "base64"));
}

type FormatFn = (inStart: number, inEnd: number, outStart: number, outLimit: number, pfx: number, pfxLen: number) => number;

class WasmLineFormatter implements LineFormatter {
  private readonly mem: Uint8Array;
  private readonly result: Int32Array;

  constructor(
    private readonly format: FormatFn,
    memory: WebAssembly.Memory,
  ) {
    // The memory never grows, so these views stay valid.
    this.mem = new Uint8Array(memory.buffer);
    this.result = new Int32Array(memory.buffer, 0, 1);
  }

  formatLines(buf: Uint8Array, start: number, prefix: Uint8Array, emit: (block: Uint8Array) => void): number {
    if (prefix.length > WASM_PREFIX_MAX) throw new RangeError("prefix too long for the WebAssembly formatter");
    this.mem.set(prefix, PREFIX_AT);
    let pos = start;
    while (pos < buf.length) {
      const n = Math.min(IN_BYTES, buf.length - pos);
      this.mem.set(buf.subarray(pos, pos + n), IN_AT);
      let q = IN_AT;
      for (;;) {
        const next = this.format(q, IN_AT + n, OUT_AT, OUT_LIMIT, PREFIX_AT, prefix.length);
        const outEnd = this.result[0]!;
        if (outEnd > OUT_AT) emit(this.mem.subarray(OUT_AT, outEnd));
        if (next === q) break;
        q = next;
      }
      const consumed = q - IN_AT;
      if (consumed > 0) {
        pos += consumed;
        if (consumed < n && pos + (n - consumed) === buf.length) return pos; // the rest is a partial line
        continue;
      }
      // A line longer than a piece: written straight from the chunk.
      const lineEnd = buf.indexOf(NL, pos + n);
      if (lineEnd === -1) return pos;
      emit(prefix);
      emit(buf.subarray(pos, lineEnd + 1));
      pos = lineEnd + 1;
    }
    return pos;
  }
}

let cached: LineFormatter | null | undefined;

/** The WebAssembly formatter, or undefined where WebAssembly (with SIMD) is not available. */
export function wasmLineFormatter(): LineFormatter | undefined {
  if (cached === undefined) {
    try {
      const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES });
      const instance = new WebAssembly.Instance(new WebAssembly.Module(formatterModuleBytes()), { env: { memory } });
      cached = new WasmLineFormatter(instance.exports.format as FormatFn, memory);
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}

/**
 * `CNCOP_LINE_FORMAT=js` forces the JavaScript formatter, so the capture benchmark can
 * weigh the two in one run; read once, at start-up.
 */
const FORCE_JS = process.env.CNCOP_LINE_FORMAT === "js";

/** The fastest formatter this runtime offers for a prefix of this length. */
export function lineFormatterFor(prefixBytes: number, forceJs = FORCE_JS): LineFormatter {
  if (forceJs || prefixBytes > WASM_PREFIX_MAX) return jsLineFormatter;
  return wasmLineFormatter() ?? jsLineFormatter;
}
