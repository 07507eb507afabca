/**
 * The lines of an ini file, read as strictly as Python's configparser (SPEC §3). The `ini`
 * library unquotes values; the line rules are ours, since `ini` lets the last of two keys
 * win silently and cuts a quoted value that a comment follows. docs/configuration.md
 * "Syntax" says the same for administrators.
 */
import ini from "ini";
import { CncopError, EXIT } from "../cli/errors.ts";

export type RawSections = Record<string, Record<string, string>>;

/** A configuration file over this size is refused (SPEC §3). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Values and lines quoted in messages are cut to this many characters. */
export const MAX_ECHO_CHARS = 120;

/** A value or line as a message quotes it: cut to a sane length, saying how long it was. */
export function echoed(text: string, max = MAX_ECHO_CHARS): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max).join("")}... (${chars.length} characters)`;
}

function lineError(file: string, n: number, text: string): CncopError {
  return new CncopError(`${file}, line ${n}: ${text}`, EXIT.USAGE);
}

/**
 * The value of a `key = value` line. A quoted value ("..." or '...') may be followed by
 * blanks and a comment; an unquoted value ends at a `;` or `#` that follows a blank (the
 * rest is a comment), and a `;` or `#` inside it is an error: quote such values.
 */
export function iniValue(rawValue: string, file: string, n: number, key: string): string {
  const v = rawValue.trim();
  const q = v[0];
  if (q === '"' || q === "'") {
    let i = 1;
    while (i < v.length && v[i] !== q) i += q === '"' && v[i] === "\\" ? 2 : 1;
    if (i >= v.length) throw lineError(file, n, `the value of ${key} opens a quote (${q}) that is never closed.`);
    const rest = v.slice(i + 1);
    if (!/^\s*([;#].*)?$/.test(rest)) {
      throw lineError(file, n, `the value of ${key} has text after its closing quote: ${JSON.stringify(echoed(rest.trim()))}. Put the whole value in quotes; a comment after it starts with ; or #.`);
    }
    return String(ini.unsafe(v.slice(0, i + 1)));
  }
  const m = /[;#]/.exec(v);
  if (!m) return v;
  if (m.index > 0 && /\s/.test(v[m.index - 1]!)) return v.slice(0, m.index).trim();
  if (m.index === 0) return "";
  throw lineError(file, n, `the value of ${key} holds "${m[0]}", which starts a comment: put the value in quotes, e.g. ${key} = "${echoed(v, 40)}".`);
}

/**
 * Read the ini text line by line, as strictly as Python's configparser: anything that is
 * not a section header, `key = value`, a comment or a blank line is an error, and so is a
 * key given twice in one section or a section given twice (the error names both lines).
 * Section names and keys compare without case; sections are returned lower-cased.
 */
export function scanIniLines(text: string, file: string): RawSections {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const out: RawSections = {};
  const sectionLine = new Map<string, number>();
  const keyLine = new Map<string, number>();
  let section: string | undefined;
  lines.forEach((line, i) => {
    const n = i + 1;
    const t = line.trim();
    if (t === "" || t.startsWith(";") || t.startsWith("#")) return;
    if (t.startsWith("[")) {
      const h = /^\[([^\[\]]+)\]\s*([;#].*)?$/.exec(t);
      if (!h) throw lineError(file, n, `"${echoed(t)}" is not a valid section header. Write it as [name], e.g. [mail].`);
      section = h[1]!.trim().toLowerCase();
      const first = sectionLine.get(section);
      if (first !== undefined) throw lineError(file, n, `section [${echoed(section)}] is given twice (first on line ${first}). Merge the two into one.`);
      sectionLine.set(section, n);
      out[section] = {};
      return;
    }
    // (No regular expression over the whole line: a long line must cost linear time.)
    const eq = t.indexOf("=");
    const key = eq < 0 ? "" : t.slice(0, eq).trim();
    if (key === "" || key.includes("[") || key.includes("]")) {
      throw lineError(file, n, `"${echoed(t)}" is not a section header, "key = value", a comment or a blank line.`);
    }
    if (section === undefined) {
      throw lineError(file, n, `key "${echoed(key)}" stands before any section header. Put it under [defaults], [agents], [mail] or [network].`);
    }
    const id = `${section}\u0000${key.toLowerCase()}`;
    const first = keyLine.get(id);
    if (first !== undefined) throw lineError(file, n, `[${echoed(section)}] ${echoed(key)} is given twice in this section (first on line ${first}). Keep one.`);
    keyLine.set(id, n);
    out[section]![key] = iniValue(t.slice(eq + 1), file, n, echoed(key));
  });
  return out;
}
