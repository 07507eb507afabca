/**
 * One log line: its `YYYY-MM-DD HH:MM:SS ` timestamp, and its tone for colour (an error,
 * a good or bad final state, a warning). Works for CA logs and agents' daily logs alike:
 * their line formats (docs/log-formats.md) do not collide.
 */
import type { Style } from "../format/terminal.ts";

/** The styles a log line can be shown in. */
export type Tone = Exclude<Style, "bold">;

export interface StampedLine {
  /** `YYYY-MM-DD HH:MM:SS` */
  readonly stamp: string;
  /** The text after the timestamp and its space. */
  readonly text: string;
}

const DIGITS = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** Split a line into timestamp and text; undefined when it does not start with a timestamp. */
export function splitStamp(line: string): StampedLine | undefined {
  if (line.length < 20 || line.charCodeAt(19) !== 0x20 || line.charCodeAt(4) !== 0x2d || line.charCodeAt(13) !== 0x3a) return undefined;
  const stamp = line.slice(0, 19);
  if (!DIGITS.test(stamp)) return undefined;
  return { stamp, text: line.slice(20) };
}

const STATE_TONE: Record<string, Tone> = { OK: "ok", "RE-RUN": "warn", ERROR: "error" };

const CA_FINAL_RE = /^job \d+ '.*' final state: (OK|ERROR) /;
const CA_ATTEMPT_END_RE = /^job \d+ '.*': attempt \d+: .* (?:exited with status (?:-?\d+|0x[0-9A-F]+(?: \([^)]*\))?)|was killed by \S+|could not be started \(.*\)) after .*: (OK|RE-RUN|ERROR)/;
const CA_SKIP_RE = /^job \d+ '.*' skipped: /;
const CA_STDERR_RE = /^\[[^\]\s]+ stderr\] /;
const CA_COMMAND_END_RE = /^(?:prerun|postsuccess|postfailure): exited with status (0x[0-9A-F]+|-?\d+)/;
const CA_COMMAND_BAD_RE = /^(?:prerun|postsuccess|postfailure): (?:refused |killed by |was killed |timed out |could not be started|interrupted )/;
const CA_FINISHED_RE = /^cncopagent finished: exit status (\d+)/;
const AGENT_FINISH_RE = /^FINISH job \d+ '.*' session \S+ state (OK|RE-RUN|ERROR)\b/;

/** The tone of a line's text (after the timestamp). */
export function toneOfText(text: string): Tone {
  const c = text.charCodeAt(0);
  // Agents' daily logs.
  if (c === 0x45 /* E */ && text.startsWith("ERROR ")) return "error";
  if (c === 0x57 /* W */ && text.startsWith("WARN ")) return "warn";
  if (c === 0x44 /* D */ && text.startsWith("DEBUG ")) return "dim";
  if (c === 0x46 /* F */ && text.startsWith("FINISH ")) {
    const m = AGENT_FINISH_RE.exec(text);
    return m ? STATE_TONE[m[1]!]! : "plain";
  }
  // cncopagent's log.
  if (c === 0x5b /* [ */) return CA_STDERR_RE.test(text) ? "error" : "plain";
  if (c === 0x6a /* j */ && text.startsWith("job ")) {
    let m = CA_FINAL_RE.exec(text);
    if (m) return STATE_TONE[m[1]!]!;
    m = CA_ATTEMPT_END_RE.exec(text);
    if (m) return STATE_TONE[m[1]!]!;
    if (CA_SKIP_RE.test(text)) return "warn";
    return "plain";
  }
  if (text.startsWith("unknown job ")) return "error";
  const cmd = CA_COMMAND_END_RE.exec(text);
  if (cmd) return cmd[1] === "0" ? "plain" : "error";
  if (CA_COMMAND_BAD_RE.test(text)) return "error";
  const fin = CA_FINISHED_RE.exec(text);
  if (fin) return fin[1] === "0" ? "ok" : fin[1] === "3" ? "warn" : "error";
  if (/^SIG[A-Z]+ received/.test(text)) return "warn";
  return "plain";
}

/** The tone of a whole line; lines without a timestamp are plain. */
export function toneOfLine(line: string): Tone {
  const s = splitStamp(line);
  return s ? toneOfText(s.text) : "plain";
}
