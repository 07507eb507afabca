/**
 * What a summary knows about a run, whichever log it came from. Every list that grows
 * with the size of a log is bounded: a run keeps its last MAX_ERROR_LINES error lines
 * (and counts the rest), each cut at MAX_ERROR_LINE_CHARS.
 */

export const MAX_ERROR_LINES = 20;
export const MAX_ERROR_LINE_CHARS = 500;

/**
 * Final states: the job's (CA logs) or the agent's last (daily logs). RUNNING: no final
 * state yet and the job's lock is held by a live run of that session. UNFINISHED: no final
 * state and not running (killed, or the log continues in another file). NOT STARTED: the
 * invocation was interrupted before the job.
 */
export type RunState = "OK" | "ERROR" | "RE-RUN" | "SKIPPED" | "RUNNING" | "UNFINISHED" | "NOT STARTED";

export interface NotedLine {
  /** `YYYY-MM-DD HH:MM:SS` */
  readonly stamp: string;
  readonly text: string;
}

/** The last `max` lines noted, and how many earlier ones were dropped. */
export class BoundedLines {
  private ring: NotedLine[] = [];
  dropped = 0;
  constructor(private readonly max = MAX_ERROR_LINES) {}
  add(stamp: string, text: string): void {
    const t = text.length > MAX_ERROR_LINE_CHARS ? `${text.slice(0, MAX_ERROR_LINE_CHARS)}… (${text.length} characters)` : text;
    this.ring.push({ stamp, text: t });
    if (this.ring.length > this.max) {
      this.ring.shift();
      this.dropped++;
    }
  }
  get lines(): readonly NotedLine[] {
    return this.ring;
  }
  get count(): number {
    return this.ring.length + this.dropped;
  }
}

export interface RunSummary {
  /** When the run started; undefined when its start is in an earlier log. */
  start: string | undefined;
  /** The last line seen of the run. */
  end: string | undefined;
  jobid: bigint;
  title: string;
  jobtype: string | undefined;
  session: string | undefined;
  attempts: number;
  /** Each attempt's state, in order (`OK`, `RE-RUN`, `ERROR`). */
  attemptStates: string[];
  state: RunState | undefined;
  reason: string | undefined;
  /** As a person reads it (`4.2 s`, `1 min 03 s`). */
  duration: string | undefined;
  dryRun: boolean;
  files: number | undefined;
  bytes: number | undefined;
  errors: BoundedLines;
}

export function newRun(jobid: bigint, title: string, start: string | undefined): RunSummary {
  return {
    start,
    end: start,
    jobid,
    title,
    jobtype: undefined,
    session: undefined,
    attempts: 0,
    attemptStates: [],
    state: undefined,
    reason: undefined,
    duration: undefined,
    dryRun: false,
    files: undefined,
    bytes: undefined,
    errors: new BoundedLines(),
  };
}

/** Tells whether a run with no final state is still going (its job lock is held). */
export type RunningCheck = (jobid: bigint, session: string | undefined) => boolean;

/** Give every run without a final state RUNNING or UNFINISHED. */
export function settleOpenRuns(runs: readonly RunSummary[], isRunning: RunningCheck): void {
  for (const r of runs) {
    if (r.state !== undefined) continue;
    if (isRunning(r.jobid, r.session)) {
      r.state = "RUNNING";
    } else {
      r.state = "UNFINISHED";
      r.reason ??= "no final state in the log: the run was killed, or it goes on in a later log";
    }
  }
}

export function stateCounts(runs: readonly RunSummary[]): string {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.state ?? "UNFINISHED", (counts.get(r.state ?? "UNFINISHED") ?? 0) + 1);
  return [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(", ");
}
