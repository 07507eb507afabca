/**
 * Text from outside (titles, paths, messages, a child's words) is data: written into a log
 * line or printed, it must never start a new line, forge a timestamp, or drive a terminal
 * (SPEC §5 "Its log"). Every control character is shown as a visible escape instead:
 * `\n`, `\r`, `\t`, and `\xHH` for the others (C0, DEL, the C1 range U+0080-U+009F), so
 * an ESC starting a colour or OSC sequence is shown as `\x1b` and does nothing.
 *
 * The bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069)
 * are shown as `\u202e` and so on: they reorder everything after them on the line, so a
 * title could make "ERROR" read as something else ("Trojan Source").
 *
 * Everything else is kept, backslashes included: the escaping is for reading, not
 * reversible, and lines that never held a control character keep their exact bytes.
 * The plain bidirectional marks (U+200E, U+200F) and U+2028/U+2029 are kept: they
 * reorder nothing, cannot end a line for `w` or move a terminal's cursor.
 * docs/log-formats.md "Escaping" says the same for readers.
 */

const CONTROL_RE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

const NAMED: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" };

/** The escape of every code point below U+00A0 that is a control character. */
const ESCAPES: readonly string[] = Array.from({ length: 0xa0 }, (_, c) => NAMED[c] ?? `\\x${c.toString(16).padStart(2, "0")}`);

const isEscaped = (c: number) => c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);

/**
 * The text with its control characters escaped; the same string when it has none. One
 * native replaceAll per distinct character present: a replace() callback per match, or
 * a string built piece by piece, took a second for 1 MB of ESC.
 */
export function escapeControls(text: string): string {
  if (!CONTROL_RE.test(text)) return text;
  const present = new Set<number>();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isEscaped(c)) present.add(c);
  }
  let out = text;
  // Escapes are printable ASCII: a later pass never meets one of them.
  for (const c of present) out = out.replaceAll(String.fromCharCode(c), c < 0xa0 ? ESCAPES[c]! : `\\u${c.toString(16)}`);
  return out;
}

const JSON_UNSAFE_RE = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON for a terminal or a pipe: JSON.stringify escapes the C0 controls, and this escapes
 * DEL, the C1 range and the bidi overrides too (as `\u007f` ...), so that no string value
 * can drive a terminal. The result parses to the same value.
 */
/** A bigint (a job id above 2^53) written as a JSON number, digit for digit. */
function bigintAsNumber(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(v.toString()) : v;
}

export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, bigintAsNumber, indent).replace(JSON_UNSAFE_RE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
