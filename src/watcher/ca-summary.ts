/**
 * Summary of cncopagent's log lines (docs/log-formats.md, "cncopagent"): the invocations
 * (one per CA log; several in a CAD diagnostic log) and each job run in them. Fed one
 * line at a time; keeps nothing per line, so a log of any size takes bounded memory.
 */
import { splitStamp } from "./log-line.ts";
import { BoundedLines, newRun, type RunSummary } from "./run-model.ts";

export interface InvocationSummary {
  start: string | undefined;
  pid: number | undefined;
  args: string | undefined;
  dryRun: boolean;
  /** `exit status 1 (1 OK, 1 failed, 0 skipped)` */
  finished: string | undefined;
  exitStatus: number | undefined;
  runs: RunSummary[];
  /** Unknown jobs, signals, warnings. */
  notes: BoundedLines;
}

const STARTED_RE = /^cncopagent \S+ started: pid (\d+), .*, arguments: ?(.*)$/;
const SESSION_RE = /^job (\d+) '(.*)' \(([^()]*)\): session (\S+)$/;
const ATTEMPT_RUN_RE = /^job (\d+) '.*': attempt (\d+): run: /;
const ATTEMPT_END_RE = /^job (\d+) '.*': attempt (\d+): .* after .*: (OK|RE-RUN|ERROR)(?: \(.*\))?$/;
const RERUN_RE = /^job (\d+) '.*': re-run \d+ of \d+ in \d+ s$/;
const FINAL_RE = /^job (\d+) '(.*)' final state: (OK|ERROR) \((.*)\) after (.+), (\d+) attempt\(s\)$/;
const SKIPPED_RE = /^job (\d+) '(.*)' skipped: (.*)$/;
const NOT_STARTED_RE = /^job (\d+) '(.*)' not started: (.*)$/;
const JOB_NOTE_RE = /^job (\d+) '.*': (.*)$/;
const OUTPUT_RE = /^\[(\S+?)(?:#\d+)? (stdout|stderr)\] /;
const COMMAND_END_RE = /^(prerun|postsuccess|postfailure): (exited with status (0x[0-9A-F]+|-?\d+)|killed by |timed out |could not be started|interrupted |refused )/;
const FINISHED_RE = /^cncopagent finished: (exit status (\d+).*)$/;
const NOTE_RE = /^(unknown job |SIG[A-Z]+ received|warning: |cannot |after )/;

function newInvocation(start: string | undefined): InvocationSummary {
  return { start, pid: undefined, args: undefined, dryRun: false, finished: undefined, exitStatus: undefined, runs: [], notes: new BoundedLines() };
}

export class CaSummariser {
  readonly invocations: InvocationSummary[] = [];
  private current: InvocationSummary | undefined;
  /** Runs without a final state, by jobid; the last one started gets the output lines. */
  private open = new Map<bigint, RunSummary>();
  private lastOpen: RunSummary | undefined;

  private invocation(stamp: string): InvocationSummary {
    if (!this.current) {
      this.current = newInvocation(stamp);
      this.invocations.push(this.current);
    }
    return this.current;
  }

  private runFor(jobid: bigint, title: string, stamp: string): RunSummary {
    const open = this.open.get(jobid);
    if (open) return open;
    // A line of a run whose start is not in this log.
    const r = newRun(jobid, title, undefined);
    this.invocation(stamp).runs.push(r);
    this.open.set(jobid, r);
    this.lastOpen = r;
    return r;
  }

  private close(r: RunSummary): void {
    this.open.delete(r.jobid);
    if (this.lastOpen === r) this.lastOpen = [...this.open.values()].pop();
  }

  feed(line: string): void {
    const s = splitStamp(line);
    if (!s) return;
    const { stamp, text } = s;
    const c = text.charCodeAt(0);
    if (c === 0x5b /* [ */) {
      const m = OUTPUT_RE.exec(text);
      if (m && m[2] === "stderr" && this.lastOpen) this.lastOpen.errors.add(stamp, text);
      if (this.lastOpen) this.lastOpen.end = stamp;
      return;
    }
    if (c === 0x6a /* j */ && text.startsWith("job ")) return this.feedJob(stamp, text);
    let m = STARTED_RE.exec(text);
    if (m) {
      this.current = newInvocation(stamp);
      this.current.pid = Number(m[1]);
      this.current.args = m[2];
      this.invocations.push(this.current);
      this.open.clear();
      this.lastOpen = undefined;
      return;
    }
    m = COMMAND_END_RE.exec(text);
    if (m) {
      if (m[3] !== "0" && this.lastOpen) this.lastOpen.errors.add(stamp, text);
      return;
    }
    m = FINISHED_RE.exec(text);
    if (m) {
      const inv = this.invocation(stamp);
      inv.finished = m[1];
      inv.exitStatus = Number(m[2]);
      this.current = undefined;
      return;
    }
    if (text.startsWith("dry run: agents get -n")) {
      this.invocation(stamp).dryRun = true;
      return;
    }
    if (NOTE_RE.test(text)) this.invocation(stamp).notes.add(stamp, text);
  }

  private feedJob(stamp: string, text: string): void {
    let m = SESSION_RE.exec(text);
    if (m) {
      const r = newRun(BigInt(m[1]!), m[2]!, stamp);
      r.jobtype = m[3];
      r.session = m[4];
      r.dryRun = this.invocation(stamp).dryRun;
      this.invocation(stamp).runs.push(r);
      this.open.set(r.jobid, r);
      this.lastOpen = r;
      return;
    }
    m = FINAL_RE.exec(text);
    if (m) {
      const r = this.runFor(BigInt(m[1]!), m[2]!, stamp);
      r.state = m[3] as "OK" | "ERROR";
      r.reason = m[4];
      r.duration = m[5];
      r.attempts = Math.max(r.attempts, Number(m[6]));
      r.end = stamp;
      this.close(r);
      return;
    }
    m = SKIPPED_RE.exec(text);
    if (m) {
      const r = this.runFor(BigInt(m[1]!), m[2]!, stamp);
      r.state = "SKIPPED";
      r.reason = m[3];
      r.end = stamp;
      this.close(r);
      return;
    }
    m = NOT_STARTED_RE.exec(text);
    if (m) {
      const r = newRun(BigInt(m[1]!), m[2]!, stamp);
      r.state = "NOT STARTED";
      r.reason = m[3];
      this.invocation(stamp).runs.push(r);
      return;
    }
    m = ATTEMPT_RUN_RE.exec(text);
    if (m) {
      const r = this.open.get(BigInt(m[1]!));
      if (r) {
        r.attempts = Math.max(r.attempts, Number(m[2]));
        r.end = stamp;
      }
      return;
    }
    m = ATTEMPT_END_RE.exec(text);
    if (m) {
      const r = this.open.get(BigInt(m[1]!));
      if (r) {
        r.attemptStates.push(m[3]!);
        if (m[3] !== "OK") r.errors.add(stamp, text);
        r.end = stamp;
      }
      return;
    }
    m = RERUN_RE.exec(text);
    if (m) {
      const r = this.open.get(BigInt(m[1]!));
      if (r) r.end = stamp;
      return;
    }
    m = JOB_NOTE_RE.exec(text);
    // A dry run's "would run" lines describe, they are no error.
    if (m && !m[2]!.startsWith("dry run: ")) {
      // Why a run could not start (unknown type, missing agent, maxruntime...): worth showing.
      const r = this.open.get(BigInt(m[1]!));
      if (r) {
        r.errors.add(stamp, text);
        r.end = stamp;
      }
    }
  }

  /** Every run of every invocation, in log order. */
  runs(): RunSummary[] {
    return this.invocations.flatMap((i) => i.runs);
  }
}

const STDOUT_TAG = Buffer.from(" stdout] ");
const TAG_SEARCH_BYTES = 120;

/**
 * `<stamp> [<agent>#<n> stdout] ...`: the bulk of a big CA log, and nothing a summary
 * needs. Recognised from the bytes so the line is never decoded.
 */
export function isStdoutLine(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 30 || buf[start + 20] !== 0x5b /* [ */) return false;
  const close = buf.indexOf(0x5d /* ] */, start + 21);
  if (close === -1 || close > start + 20 + TAG_SEARCH_BYTES || close + 1 >= end) return false;
  return buf.compare(STDOUT_TAG, 0, STDOUT_TAG.length, close - 7, close + 2) === 0;
}
