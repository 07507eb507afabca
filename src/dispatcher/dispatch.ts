/**
 * One cncopagent invocation after its arguments are read: the selected jobs one after
 * another, each under its lock, interruption by signals, and the exit status.
 */
import os from "node:os";
import type { Config } from "../install/config.ts";
import { EXIT } from "../cli/errors.ts";
import type { Job } from "../install/jobs-db.ts";
import { acquireJobLock, liveProcesses, type Liveness } from "../locks/job-lock.ts";
import { isAlive } from "../process/proc-info.ts";
import { FileLineLog, type LineLog } from "../logs/log-file.ts";
import type { Paths } from "../install/paths.ts";
import { KILL_GRACE_MS_DEFAULT, msFromEnv } from "../process/process-tree.ts";
import { stopSignals } from "../process/signals.ts";
import { becomeSubreaper } from "../process/native-linux.ts";
import { enterOwnJob } from "../process/windows-job.ts";
import { finishKilledRuns } from "./killed-runs.ts";
import { describeHeldBy, jobLabel, type JobOutcome, type JobRunContext, runJob, type LockAnswer } from "./run-job.ts";
import type { RunMode } from "./run-mode.ts";
import type { View } from "./view.ts";

export interface DispatchOptions {
  readonly paths: Paths;
  readonly config: Config;
  readonly jobs: readonly Job[];
  readonly unknown: readonly string[];
  /** An unknown name's nearest title. */
  readonly suggestions?: ReadonlyMap<string, string>;
  readonly debug: boolean;
  readonly mode: RunMode;
  readonly log: FileLineLog;
  readonly view: View;
  /** Between SIGTERM and SIGKILL; CNCOP_KILL_GRACE_MS or 30 s when not given. */
  readonly graceMs?: number;
  /** Called after each job ends (reporter, mail, history). Never changes the outcome. */
  readonly afterJob?: ((outcome: JobOutcome) => Promise<void>) | undefined;
  /** Called once after the jobs unless interrupted (pruning); `signal` aborts on an interruption. */
  readonly afterAll?: ((outcomes: readonly JobOutcome[], signal: AbortSignal) => Promise<void>) | undefined;
  /** Called last, interrupted or not (the run's reporter is waited for, or let go); `interruptedBy` the signal, if any. */
  readonly atEnd?: ((interruptedBy: string | undefined) => Promise<void>) | undefined;
}

export interface DispatchResult {
  readonly outcomes: readonly JobOutcome[];
  readonly exitCode: number;
  readonly interruptedBy: string | undefined;
}

/** 2 (unknown names), then 1 (a failure), then 3 (a skip); interruption wins over all. */
export function exitStatusOf(outcomes: readonly JobOutcome[], unknownNames: number, interruptedBy: string | undefined): number {
  if (interruptedBy === "SIGINT") return EXIT.SIGINT;
  if (interruptedBy !== undefined) return EXIT.SIGTERM;
  if (unknownNames > 0) return EXIT.USAGE;
  if (outcomes.some((o) => o.status === "ERROR")) return EXIT.FAILED;
  if (outcomes.some((o) => o.status === "SKIPPED")) return EXIT.SKIPPED;
  return EXIT.OK;
}

export function graceFromEnv(env = process.env): number {
  return msFromEnv("CNCOP_KILL_GRACE_MS", KILL_GRACE_MS_DEFAULT, env);
}

/** The signals that interrupt cncopagent; the first aborts `signal`, later ones are only logged. */
interface Interruption {
  readonly signal: AbortSignal;
  by(): string | undefined;
  stopListening(): void;
}

function listenForInterruption(log: LineLog, view: View, platform = process.platform): Interruption {
  const controller = new AbortController();
  let by: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (by) {
      log.line(`${sig} received again: cleanup is under way and will finish (the lock is released at the end)`);
      return;
    }
    by = sig;
    log.line(`${sig} received: stopping the running job, then cleaning up`);
    view.warn(`${sig} received: stopping the running job, running postfailure, writing reports`);
    controller.abort(sig);
  };
  const signals = stopSignals(platform);
  for (const s of signals) process.on(s, onSignal);
  return { signal: controller.signal, by: () => by, stopListening: () => signals.forEach((s) => process.off(s, onSignal)) };
}

/** A recorded process counts only while it lives itself (not its group): the one to name. */
const THE_PROCESS_ITSELF: Liveness = { alive: (p, session) => isAlive({ ...p, group: false }, process.platform, session), spawnedSince: () => false };

/** The job's lock, or who holds it; an error taking it is an answer too. */
export function takeJobLock(paths: Paths, log: LineLog, job: Job, session: string): LockAnswer {
  let r: ReturnType<typeof acquireJobLock>;
  try {
    r = acquireJobLock({ lockDir: paths.locks, jobid: job.jobid, jobtitle: job.jobtitle, jobtype: job.jobtype, caLog: log.path, session, log: (t) => log.line(t) });
  } catch (err) {
    return { error: (err as Error).message };
  }
  if ("held" in r) {
    // A killed run's finish report and history entry, owed by the run that took its lock.
    if (r.held.killedRuns.length > 0) finishKilledRuns(r.held, job, paths, log);
    return { lock: r.held };
  }
  const o = r.busy;
  if (o) return { heldBy: describeHeldBy({ since: new Date(o.started), session: o.session, pid: o.dispatcher.pid, livePids: liveProcesses(o, THE_PROCESS_ITSELF).map((p) => p.pid) }) };
  return { heldBy: `(its lock record in ${paths.locks} was written moments ago and cannot be read yet; run it again in a few seconds)` };
}

/** The after-job work never changes an outcome: its failure is only logged. */
async function logFailure(log: LineLog, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    log.line(`${what}: ${(err as Error).message}`);
  }
}

async function runJobs(opts: DispatchOptions, interruption: Interruption): Promise<JobOutcome[]> {
  const { log, afterJob } = opts;
  const ctx: JobRunContext = {
    paths: opts.paths,
    config: opts.config,
    debug: opts.debug,
    mode: opts.mode,
    log,
    view: opts.view,
    abort: interruption.signal,
    graceMs: opts.graceMs ?? graceFromEnv(),
    hostname: os.hostname(),
    lock: (job, session) => takeJobLock(opts.paths, log, job, session),
  };
  const outcomes: JobOutcome[] = [];
  for (const job of opts.jobs) {
    if (interruption.signal.aborted) {
      log.line(`${jobLabel(job)} not started: cncopagent was interrupted`);
      opts.view.phase(jobLabel(job), `not started: cncopagent was interrupted by ${interruption.by()}`);
      continue;
    }
    const outcome = await runJob(job, ctx);
    outcomes.push(outcome);
    if (afterJob) await logFailure(log, `after ${jobLabel(job)}`, () => afterJob(outcome));
  }
  return outcomes;
}

function summaryLine(exitCode: number, outcomes: readonly JobOutcome[], unknown: number, interruptedBy: string | undefined): string {
  const count = (s: string) => outcomes.filter((o) => o.status === s).length;
  const tail = `${unknown ? `, ${unknown} unknown` : ""}${interruptedBy ? `, interrupted by ${interruptedBy}` : ""}`;
  return `cncopagent finished: exit status ${exitCode} (${count("OK")} OK, ${count("ERROR")} failed, ${count("SKIPPED")} skipped${tail})`;
}

/**
 * Hold every descendant: on Linux as child subreaper (an orphan comes back to us), on
 * Windows in a kill-on-close job (our end ends the agents). A failure is logged: the
 * session marker (Linux) and taskkill (Windows) still stop trees, less completely.
 */
export function holdDescendants(log: LineLog, platform = process.platform): void {
  if (platform === "linux") {
    const why = becomeSubreaper(platform);
    if (why) log.line(`cannot become a child subreaper (${why}): a descendant that leaves its parent is found by its session only`);
  } else if (platform === "win32") {
    const why = enterOwnJob(platform);
    if (why) log.line(`cannot put cncopagent into a job object (${why}): if cncopagent is ended, its agents live on`);
  }
}

export async function dispatch(opts: DispatchOptions): Promise<DispatchResult> {
  const { log, view, afterAll } = opts;
  holdDescendants(log);
  const interruption = listenForInterruption(log, view);
  let outcomes: JobOutcome[] = [];
  try {
    for (const name of opts.unknown) {
      log.line(`unknown job "${name}": no job has that id or title`);
      const near = opts.suggestions?.get(name);
      view.error(`unknown job "${name}": no job has that id or title${near === undefined ? "" : `; did you mean ${JSON.stringify(near)}?`} (cncopjobs lists the jobs)`);
    }
    outcomes = await runJobs(opts, interruption);
    if (afterAll && !interruption.signal.aborted) {
      await logFailure(log, "after the jobs", () => afterAll(outcomes, interruption.signal));
    }
    const atEnd = opts.atEnd;
    if (atEnd) await logFailure(log, "at the end of the run", () => atEnd(interruption.by()));
  } finally {
    interruption.stopListening();
  }
  const interruptedBy = interruption.by();
  const exitCode = exitStatusOf(outcomes, opts.unknown.length, interruptedBy);
  log.line(summaryLine(exitCode, outcomes, opts.unknown.length, interruptedBy));
  return { outcomes, exitCode, interruptedBy };
}

export type { LineLog };
