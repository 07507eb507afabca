/**
 * Colour on a terminal only: stdout a TTY (TERM not `dumb`), and NO_COLOR not set.
 * FORCE_COLOR (not `0`) turns it on without a terminal, e.g. for `less -R`.
 */
import type { Tone } from "./log-line.ts";

export type Paint = (tone: Tone | "bold", text: string) => string;

export function shouldColour(isTTY: boolean, env: Record<string, string | undefined> = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return isTTY && env.TERM !== "dumb";
}

const CODES: Record<Tone | "bold", string> = {
  error: "\x1b[31m",
  ok: "\x1b[32m",
  warn: "\x1b[33m",
  dim: "\x1b[2m",
  bold: "\x1b[1m",
  plain: "",
};
const RESET = "\x1b[0m";

export function makePaint(enabled: boolean): Paint {
  if (!enabled) return (_tone, text) => text;
  return (tone, text) => {
    const code = CODES[tone];
    return code === "" || text === "" ? text : `${code}${text}${RESET}`;
  };
}
