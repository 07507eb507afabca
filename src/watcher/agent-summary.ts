/**
 * Summary of a daily log in `Spool/Logs/` written in the agents' format
 * (docs/log-formats.md, "Agents"): START ... FINISH per attempt, grouped into one run per
 * session. ERROR lines carry no session: with runs of several jobs interleaved in one
 * file, an ERROR line goes to the run that started most recently and has not finished.
 * Lines outside any run (a log of another format, such as cncopreporter's) are counted,
 * and their ERROR/WARN lines kept. Bounded memory, like the CA summary.
 */
import { formatDuration } from "../format/time.ts";
import { splitStamp } from "./log-line.ts";
import { BoundedLines, newRun, type RunSummary } from "./run-model.ts";

const TITLE = "'((?:[^']|'')*)'";
const START_RE = new RegExp(`^START job (\\d+) ${TITLE} session (\\S+) attempt (\\d+)( dry run)?\\s*$`);
const FINISH_RE = new RegExp(`^FINISH job (\\d+) ${TITLE} session (\\S+) state (OK|RE-RUN|ERROR) files (\\d+) bytes (\\d+) duration (\\d+(?:\\.\\d+)?)s\\s*$`);

/** A title as the agents write it: `'` doubled inside quotes. */
export function unquoteTitle(quoted: string): string {
  return quoted.replace(/''/g, "'");
}

interface AgentRun extends RunSummary {
  /** Seconds the agent reported, summed over the attempts. */
  seconds: number;
  /** An attempt started and not yet finished. */
  attemptOpen: boolean;
}

export class AgentLogSummariser {
  readonly runs: AgentRun[] = [];
  private bySession = new Map<string, AgentRun>();
  /** Runs with an attempt in progress, in start order. */
  private active: AgentRun[] = [];
  /** Lines with a timestamp, and the first and last of them. */
  lines = 0;
  first: string | undefined;
  last: string | undefined;
  /** ERROR and WARN lines outside any run. */
  readonly outside = new BoundedLines();

  feed(line: string): void {
    const s = splitStamp(line);
    if (!s) return;
    const { stamp, text } = s;
    this.lines++;
    this.first ??= stamp;
    this.last = stamp;
    const c = text.charCodeAt(0);
    if (c === 0x53 /* S */ && text.startsWith("START ")) {
      const m = START_RE.exec(text);
      if (m) return this.start(stamp, BigInt(m[1]!), unquoteTitle(m[2]!), m[3]!, Number(m[4]), m[5] !== undefined);
    }
    if (c === 0x46 /* F */ && text.startsWith("FINISH ")) {
      const m = FINISH_RE.exec(text);
      if (m) return this.finish(stamp, BigInt(m[1]!), unquoteTitle(m[2]!), m[3]!, m[4] as "OK" | "RE-RUN" | "ERROR", Number(m[5]), Number(m[6]), Number(m[7]));
    }
    const current = this.active[this.active.length - 1];
    if (current) current.end = stamp;
    if ((c === 0x45 && text.startsWith("ERROR ")) || (c === 0x57 && text.startsWith("WARN "))) {
      if (current && text.startsWith("ERROR ")) current.errors.add(stamp, text);
      else if (!current) this.outside.add(stamp, text);
    }
  }

  private run(jobid: bigint, title: string, session: string, stamp: string | undefined): AgentRun {
    let r = this.bySession.get(session);
    if (!r) {
      r = { ...newRun(jobid, title, stamp), session, seconds: 0, attemptOpen: false };
      this.bySession.set(session, r);
      this.runs.push(r);
    }
    return r;
  }

  private deactivate(r: AgentRun): void {
    r.attemptOpen = false;
    this.active = this.active.filter((a) => a !== r);
  }

  private start(stamp: string, jobid: bigint, title: string, session: string, attempt: number, dryRun: boolean): void {
    const r = this.run(jobid, title, session, stamp);
    if (r.attemptOpen) {
      // The previous attempt never wrote FINISH: it was killed.
      r.attemptStates.push("ERROR");
      r.errors.add(stamp, `attempt ${r.attempts} ended without a FINISH line (the agent was killed or crashed)`);
      this.deactivate(r);
    }
    r.attempts = Math.max(r.attempts + 1, attempt);
    r.dryRun ||= dryRun;
    r.state = undefined;
    r.reason = undefined;
    r.end = stamp;
    r.attemptOpen = true;
    this.active.push(r);
  }

  private finish(stamp: string, jobid: bigint, title: string, session: string, state: "OK" | "RE-RUN" | "ERROR", files: number, bytes: number, seconds: number): void {
    const r = this.run(jobid, title, session, undefined);
    if (r.start === undefined && r.attempts === 0) {
      r.attempts = 1;
      r.reason = "started in an earlier log";
    }
    this.deactivate(r);
    r.attemptStates.push(state);
    r.state = state;
    if (state === "RE-RUN") r.reason = "the agent asked for a re-run; no later attempt in this log";
    else if (r.reason !== "started in an earlier log") r.reason = undefined;
    r.files = files;
    r.bytes = bytes;
    r.seconds += seconds;
    r.duration = formatDuration(r.seconds * 1000);
    r.end = stamp;
  }
}
