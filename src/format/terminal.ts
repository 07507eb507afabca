/**
 * What the suite prints for a person: one colour scheme, the one rule for when to use it,
 * and messages whose data is shown escaped (escapeControls, the logs' escaping). The only
 * escape sequences the suite writes are these: colours (on a terminal, NO_COLOR not set)
 * and the erase of cncopagent's live line.
 *
 * consola's `colors` are not used: they decide once, at import, from stdout alone (the
 * view writes to stderr) and take an empty NO_COLOR as set, and their closing codes would
 * change the bytes that `w` and cncopagent print on a terminal today.
 */
import { escapeControls } from "./escape.ts";

/** How a piece of text is shown; `plain` adds nothing. */
export type Style = "error" | "ok" | "warn" | "dim" | "bold" | "plain";
export type Paint = (style: Style, text: string) => string;

const SGR: Record<Style, string> = {
  error: "\x1b[31m",
  ok: "\x1b[32m",
  warn: "\x1b[33m",
  dim: "\x1b[2m",
  bold: "\x1b[1m",
  plain: "",
};
const RESET = "\x1b[0m";

/** Back to the start of the line, the line erased: the live line is redrawn in place. */
export const ERASE_LINE = "\r\x1b[2K";

/** A terminal that can redraw a line: a TTY whose TERM is not `dumb`. */
export function isTerminal(isTTY: boolean | undefined, env: Record<string, string | undefined> = process.env): boolean {
  return isTTY === true && env.TERM !== "dumb";
}

/**
 * Colour on a terminal only, and never with NO_COLOR set (non-empty, as no-color.org
 * says). FORCE_COLOR (not `0`) turns it on without a terminal, e.g. for `less -R`.
 */
export function shouldColour(isTTY: boolean, env: Record<string, string | undefined> = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return isTerminal(isTTY, env);
}

/** Text in a style, or the text alone when colour is off. */
export function makePaint(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => {
    const code = SGR[style];
    return code === "" || text === "" ? text : `${code}${text}${RESET}`;
  };
}

/** `<program>: <text>` and a newline: a message for a person on stderr, its data escaped. */
export function messageLine(program: string, text: string): string {
  return `${program}: ${escapeControls(text)}\n`;
}
