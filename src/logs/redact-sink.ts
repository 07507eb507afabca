/**
 * A child's output may repeat a secret it was given (a prerun that echoes its
 * `--password=...`, rsync quoting the URL it was handed). The secrets a job is known to
 * hold (format/secrets.ts jobSecrets) are replaced by `***` in its children's output
 * before the output reaches the log. Output is passed on in whole lines, so a secret
 * split across two reads is still found; a line longer than MAX_LINE_BYTES is passed on
 * in parts, as the log writes it anyway. Without secrets the sink is the inner one: the
 * fast path of the capture is untouched.
 */
import type { StreamSink } from "./log-file.ts";
import { MAX_LINE_BYTES } from "./log-file.ts";
import { concatBytes } from "../format/bytes.ts";

const NL = 0x0a;
const MASK = Buffer.from("***");

function redact(buf: Buffer, secrets: readonly Buffer[]): Buffer {
  let out = buf;
  for (const s of secrets) {
    let at = out.indexOf(s);
    if (at === -1) continue;
    const parts: Buffer[] = [];
    let from = 0;
    while (at !== -1) {
      parts.push(out.subarray(from, at), MASK);
      from = at + s.length;
      at = out.indexOf(s, from);
    }
    parts.push(out.subarray(from));
    out = Buffer.concat(parts);
  }
  return out;
}

export function redactingSink(inner: StreamSink, secrets: readonly string[]): StreamSink {
  // Longest first, so a secret that contains another is hidden whole.
  const keys = [...new Set(secrets)].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length).map((s) => Buffer.from(s));
  if (keys.length === 0) return inner;
  let pending: Buffer = Buffer.alloc(0);
  return {
    write(chunk: Uint8Array) {
      const all = pending.length === 0 ? Buffer.from(chunk) : Buffer.from(concatBytes([pending, chunk], pending.length + chunk.length));
      const nl = all.lastIndexOf(NL);
      if (nl === -1 && all.length < MAX_LINE_BYTES) {
        pending = all;
        return;
      }
      const cut = nl === -1 ? all.length : nl + 1;
      pending = Buffer.from(all.subarray(cut));
      inner.write(redact(all.subarray(0, cut), keys));
    },
    end() {
      if (pending.length > 0) inner.write(redact(pending, keys));
      pending = Buffer.alloc(0);
      inner.end();
    },
    get bytes() {
      return inner.bytes;
    },
    tail: () => inner.tail(),
  };
}
