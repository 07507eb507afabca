/**
 * One cncopagent invocation after its arguments are read: the CA log, the selected jobs
 * one after another, interruption by signals, and the exit status.
 */
import os from "node:os";
import type { Config } from "../install/config.ts";
import { EXIT } from "../cli/errors.ts";
import type { Job } from "../install/jobs-db.ts";
import { acquireJobLock } from "../locks/job-lock.ts";
import { FileLineLog, type LineLog } from "../logs/log-file.ts";
import { diagnosticLogPath, type Paths } from "../install/paths.ts";
import { KILL_GRACE_MS_DEFAULT } from "../process/process-tree.ts";
import { stopSignals } from "../process/signals.ts";
import { describeHeldBy, jobLabel, type JobOutcome, runJob, type LockAnswer } from "./run-job.ts";
import type { View } from "./view.ts";

export interface DispatchOptions {
  readonly paths: Paths;
  readonly config: Config;
  readonly jobs: readonly Job[];
  readonly unknown: readonly string[];
  readonly debug: boolean;
  readonly dryrun: boolean;
  readonly log: FileLineLog;
  readonly view: View;
  readonly graceMs?: number;
  /** Called after each job ends (reporter, mail, history). Never changes the outcome. */
  readonly afterJob?: (outcome: JobOutcome) => Promise<void>;
  /** Called once after the jobs (pruning); `signal` aborts when cncopagent is interrupted. */
  readonly afterAll?: (outcomes: readonly JobOutcome[], signal: AbortSignal) => Promise<void>;
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
  const v = env.CNCOP_KILL_GRACE_MS;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : KILL_GRACE_MS_DEFAULT;
}

export function openDiagnosticLog(paths: Paths, now = new Date()): FileLineLog {
  return new FileLineLog(diagnosticLogPath(paths, now));
}

export async function dispatch(opts: DispatchOptions): Promise<DispatchResult> {
  const { log, view } = opts;
  const controller = new AbortController();
  let interruptedBy: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interruptedBy) {
      log.line(`${sig} received again: cleanup is under way and will finish (the lock is released at the end)`);
      return;
    }
    interruptedBy = sig === "SIGINT" ? "SIGINT" : sig;
    log.line(`${sig} received: stopping the running job, then cleaning up`);
    view.warn(`${sig} received: stopping the running job, running postfailure, writing reports`);
    controller.abort(sig);
  };
  const signals = stopSignals();
  for (const s of signals) process.on(s, onSignal);

  const outcomes: JobOutcome[] = [];
  try {
    for (const name of opts.unknown) {
      log.line(`unknown job "${name}": no job has that id or title`);
      view.error(`unknown job "${name}": no job has that id or title (see cncopjobs for the list)`);
    }
    const lock = (job: Job, session: string): LockAnswer => {
      let r: ReturnType<typeof acquireJobLock>;
      try {
        r = acquireJobLock({ lockDir: opts.paths.locks, jobid: job.jobid, jobtitle: job.jobtitle, session, log: (t) => log.line(t) });
      } catch (err) {
        return { error: (err as Error).message };
      }
      if ("busy" in r) {
        const o = r.busy;
        return { heldBy: o ? describeHeldBy({ since: new Date(o.started), session: o.session, pid: o.dispatcher.pid }) : `(its lock record in ${opts.paths.locks} was written moments ago and cannot be read yet; run it again in a few seconds)` };
      }
      return { lock: r.held };
    };
    for (const job of opts.jobs) {
      if (controller.signal.aborted) {
        log.line(`${jobLabel(job)} not started: cncopagent was interrupted`);
        continue;
      }
      const outcome = await runJob(job, {
        paths: opts.paths,
        config: opts.config,
        debug: opts.debug,
        dryrun: opts.dryrun,
        log,
        view,
        abort: controller.signal,
        graceMs: opts.graceMs ?? graceFromEnv(),
        hostname: os.hostname(),
        lock,
      });
      outcomes.push(outcome);
      if (opts.afterJob) {
        try {
          await opts.afterJob(outcome);
        } catch (err) {
          log.line(`after ${jobLabel(job)}: ${(err as Error).message}`);
        }
      }
    }
    if (opts.afterAll && !controller.signal.aborted) {
      try {
        await opts.afterAll(outcomes, controller.signal);
      } catch (err) {
        log.line(`after the jobs: ${(err as Error).message}`);
      }
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
  const exitCode = exitStatusOf(outcomes, opts.unknown.length, interruptedBy);
  const count = (s: string) => outcomes.filter((o) => o.status === s).length;
  log.line(`cncopagent finished: exit status ${exitCode} (${count("OK")} OK, ${count("ERROR")} failed, ${count("SKIPPED")} skipped${opts.unknown.length ? `, ${opts.unknown.length} unknown` : ""}${interruptedBy ? `, interrupted by ${interruptedBy}` : ""})`);
  return { outcomes, exitCode, interruptedBy };
}

export type { LineLog };
