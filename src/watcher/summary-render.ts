/**
 * Summaries as text: one line per run (start time, final state, job, session, attempts,
 * duration, reason), and under a failed run its error lines. Colour only through `paint`.
 */
import { formatBytes } from "../format/bytes.ts";
import type { InvocationSummary } from "./ca-summary.ts";
import type { Paint } from "../format/terminal.ts";
import { toneOfText, type Tone } from "./log-line.ts";
import type { BoundedLines, RunState, RunSummary } from "./run-model.ts";

const STATE_WIDTH = 12;
const INDENT = " ".repeat(23);

export function stateTone(state: RunState | undefined): Tone {
  switch (state) {
    case "OK":
      return "ok";
    case "ERROR":
    case "UNFINISHED":
      return "error";
    case "RE-RUN":
    case "SKIPPED":
    case "NOT STARTED":
      return "warn";
    default:
      return "plain";
  }
}

/** A failed run shows its error lines. */
export function isFailed(state: RunState | undefined): boolean {
  return state === "ERROR" || state === "UNFINISHED" || state === "RE-RUN";
}

export function timeOf(stamp: string | undefined): string {
  return stamp ? stamp.slice(11) : "--:--:--";
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * A session id as the summary shows it: its last 8 characters (`…6ef6101b`), the random end
 * of a UUIDv7 (its start is the time, shared by the runs of a night), enough to find the
 * run in the logs; `--wide` shows it whole.
 */
export function shortSession(session: string): string {
  return session.length <= 12 ? session : `…${session.slice(-8)}`;
}

export function renderRun(r: RunSummary, paint: Paint, wide = true): string[] {
  const state = r.state ?? "UNFINISHED";
  const parts: string[] = [`job ${r.jobid} '${r.title}'${r.jobtype ? ` (${r.jobtype})` : ""}`];
  if (r.session) parts.push(`session ${wide ? r.session : shortSession(r.session)}`);
  if (r.attempts > 0) {
    const states = r.attemptStates.length > 1 ? ` (${r.attemptStates.join(", ")})` : "";
    parts.push(`${plural(r.attempts, "attempt")}${states}`);
  }
  if (r.duration) parts.push(r.duration);
  if (r.files !== undefined) parts.push(plural(r.files, "file"));
  if (r.bytes !== undefined) parts.push(formatBytes(r.bytes));
  if (r.dryRun) parts.push("dry run");
  // Start and end; a run with no final state has no end yet.
  const ended = state === "RUNNING" || state === "UNFINISHED" ? undefined : r.end;
  const head = `  ${timeOf(r.start)} - ${timeOf(ended)}  ${paint(stateTone(state), state.padEnd(STATE_WIDTH))}${parts.join(", ")}${r.reason ? `: ${r.reason}` : ""}`;
  const out = [head];
  if (isFailed(state)) out.push(...renderLines(r.errors, paint, "error"));
  return out;
}

/** Noted lines, indented under their run; `tone` undefined: each line's own tone. */
export function renderLines(lines: BoundedLines, paint: Paint, tone?: Tone): string[] {
  const out: string[] = [];
  if (lines.dropped > 0) out.push(`${INDENT}${paint("dim", `(${lines.dropped} earlier line(s) not shown)`)}`);
  for (const l of lines.lines) out.push(`${INDENT}${timeOf(l.stamp)} ${paint(tone ?? toneOfText(l.text), l.text)}`);
  return out;
}

export function renderInvocation(name: string, inv: InvocationSummary, paint: Paint, wide = true): string[] {
  const bits = [`cncopagent started ${timeOf(inv.start)}`];
  if (inv.pid !== undefined) bits.push(`pid ${inv.pid}`);
  if (inv.args !== undefined) bits.push(`arguments: ${inv.args.trim() === "" ? "(none)" : inv.args.trim()}`);
  if (inv.dryRun) bits.push("dry run");
  const end = inv.finished
    ? paint(inv.exitStatus === 0 ? "ok" : inv.exitStatus === 3 ? "warn" : "error", inv.finished)
    : "no finish line yet (still running, or it was killed)";
  const out = [`${paint("bold", name)}: ${bits.join(", ")}; ${end}`];
  for (const r of inv.runs) out.push(...renderRun(r, paint, wide));
  if (inv.runs.length === 0) out.push(`  ${paint("dim", "no job run")}`);
  if (inv.notes.count > 0) out.push(...renderLines(inv.notes, paint));
  return out;
}

// Our own colours only: data in a summary is escaped before it gets here.
const SGR = /\x1b\[[0-9;]*m/g;

/** Columns a line takes on a terminal: its characters without our colour sequences. */
export function visibleLength(line: string): number {
  return [...line.replace(SGR, "")].length;
}

/**
 * A line folded at spaces to `width` columns; continuation lines are indented to the
 * line's text (where the job or message begins), so a narrow terminal keeps the layout.
 * A single word longer than the width stays whole.
 */
export function foldLine(line: string, width: number): string[] {
  if (visibleLength(line) <= width) return [line];
  const lead = /^ */.exec(line)![0].length;
  const indent = " ".repeat(Math.min(lead > 0 ? INDENT.length : lastColumnOf(line.replace(SGR, "")), Math.floor(width / 2)));
  const out: string[] = [];
  let current = "";
  for (const word of glueNumbers(line.slice(lead).split(" "))) {
    const head = out.length === 0 ? " ".repeat(lead) : indent;
    const next = current === "" ? `${head}${word}` : `${current} ${word}`;
    if (current !== "" && visibleLength(next) > width) {
      out.push(current);
      current = `${indent}${word}`;
    } else current = next;
  }
  if (current !== "") out.push(current);
  return out;
}

/** `10 min 00 s`, `2.0 KiB`, `1 attempt`, `session …6ef6101b`: a number or id stays on the line of what it counts or names. */
function glueNumbers(words: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    const last = out.at(-1);
    if (last !== undefined && /(^|\s)(\d+(\.\d+)?|session)$/.test(last)) out[out.length - 1] = `${last} ${w}`;
    else out.push(w);
  }
  return out;
}

/** Where the last column of a table row starts (after its last run of 2+ spaces); 2 for prose. */
function lastColumnOf(line: string): number {
  let at = 2;
  for (const m of line.matchAll(/ {2,}(?=\S)/g)) at = m.index + m[0].length;
  return at;
}
