/**
 * The suite's one colour scheme and the one rule for when to use it. The scheme is
 * consola's (`consola/utils` colours); the rule is consola's decision AND a terminal: consola
 * decides once, at start-up, from the environment (NO_COLOR present, even empty: off;
 * FORCE_COLOR: on; else stdout a TTY with TERM set), and we colour only what goes to a
 * terminal, the stream we write to being a TTY whose TERM is not `dumb` (cncopagent's view
 * writes to stderr, w to stdout). So a pipe or a file never receives a colour code.
 *
 * The only other escape sequence the suite writes is the erase of cncopagent's live line.
 */
import { colors, getColor, type ColorName } from "consola/utils";

/** How a piece of text is shown; `plain` adds nothing. */
export type Style = "error" | "ok" | "warn" | "dim" | "bold" | "plain";
export type Paint = (style: Style, text: string) => string;

const SCHEME: Record<Exclude<Style, "plain">, ColorName> = {
  error: "red",
  ok: "green",
  warn: "yellow",
  dim: "dim",
  bold: "bold",
};

/** consola's decision: its colours are plain `String` when it chose none. */
export const CONSOLA_COLOURS: boolean = colors.red("x") !== "x";

/** Back to the start of the line, the line erased: the live line is redrawn in place. */
export const ERASE_LINE = "\r\x1b[2K";

/** A terminal that can redraw a line: a TTY whose TERM is not `dumb`. */
export function isTerminal(isTTY: boolean | undefined, env: Record<string, string | undefined> = process.env): boolean {
  return isTTY === true && env.TERM !== "dumb";
}

/** Colour for a stream: consola's colours are on, and the stream is a terminal. */
export function shouldColour(isTTY: boolean | undefined, consolaColours = CONSOLA_COLOURS, env: Record<string, string | undefined> = process.env): boolean {
  return consolaColours && isTerminal(isTTY, env);
}

/** Text in a style of the scheme, or the text alone when colour is off. */
export function makePaint(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => (style === "plain" ? text : getColor(SCHEME[style])(text));
}
