/**
 * What follows the jobs of a run: after each job the run history, cncopreporter and the
 * completion email; once at the end the pruning of old logs and history. The run mode says
 * which of them happen (a dry run does none); none of them changes a job's outcome.
 */
import type { Config } from "../install/config.ts";
import type { Paths } from "../install/paths.ts";
import type { FileLineLog } from "../logs/log-file.ts";
import { pruneLogs } from "../logs/prune.ts";
import { pruneHistory, recordRun } from "../history/history.ts";
import { ReporterCalls } from "../reporter/run-calls.ts";
import { consoleClosed } from "../process/signals.ts";
import { jobLabel, type JobOutcome } from "./run-job.ts";
import type { RunMode } from "./run-mode.ts";
import type { View } from "./view.ts";

export interface AfterJobContext {
  readonly paths: Paths;
  readonly config: Config;
  readonly log: FileLineLog;
  readonly view: View;
  readonly debug: boolean;
  /** `--email` recipients; undefined sends no mail. */
  readonly email: readonly string[] | undefined;
}

export interface AfterJobHooks {
  readonly afterJob: ((outcome: JobOutcome) => Promise<void>) | undefined;
  readonly afterAll: ((outcomes: readonly JobOutcome[], signal: AbortSignal) => Promise<void>) | undefined;
  /** Last of all, interrupted or not: waits for the run's reporter (or lets a slow one go). */
  readonly atEnd: ((interruptedBy: string | undefined) => Promise<void>) | undefined;
}

export function afterJobHooks(mode: RunMode, ctx: AfterJobContext): AfterJobHooks {
  // One per run: one reporter at a time, none after a "not delivered" (reporter/run-calls.ts).
  const reporter = new ReporterCalls({ paths: ctx.paths, config: ctx.config, log: ctx.log, debug: ctx.debug });
  return {
    afterJob: mode.afterJob ? (outcome) => finishJob(outcome, ctx, reporter) : undefined,
    afterAll: mode.pruning ? (_outcomes, signal) => pruneOldRuns(ctx, signal) : undefined,
    // A closed console leaves seconds: a reporter still running is let go at once.
    atEnd: mode.afterJob ? (by) => (consoleClosed(by) ? reporter.letGo("the console was closed") : reporter.finish()) : undefined,
  };
}

async function finishJob(outcome: JobOutcome, ctx: AfterJobContext, reporter: ReporterCalls): Promise<void> {
  const { paths, config, log, view } = ctx;
  try {
    recordRun(paths, outcome, log.path);
  } catch (err) {
    log.line(`cannot record the run in the history: ${(err as Error).message}; the run is kept in this log and its reports only (cncopjobs history will not list it)`);
  }
  if (outcome.interrupted && consoleClosed(outcome.interruptedBy)) {
    // Windows ends cncopagent within seconds of a console close: the reports wait in the spool.
    log.line(`the console was closed: cncopreporter${ctx.email ? " and the mail" : ""} are left for the next run; the reports stay in ${paths.messages}`);
    return;
  }
  reporter.call();
  if (!ctx.email) return;
  // nodemailer is loaded only by runs that send mail.
  const { sendJobMail } = await import("../mail/job-mail.ts");
  await sendJobMail(outcome, { config, recipients: ctx.email, caLogPath: log.path, log, warn: (t) => view.warn(t), sent: (t) => view.phase(jobLabel(outcome.job), t), root: paths.root });
}

async function pruneOldRuns(ctx: AfterJobContext, signal: AbortSignal): Promise<void> {
  const { paths, config, log } = ctx;
  if (config.daysOfLogs === 0) {
    log.line("log pruning is off (days_of_logs = 0)");
    return;
  }
  // This invocation's own logs are never pruned, whatever their age.
  const keep = new Set([log.path, ...log.mirrors.map((m) => m.path)]);
  try {
    await pruneLogs(paths, config.daysOfLogs, { keep, log: (t) => log.line(t), signal });
  } catch (err) {
    log.line(`warning: log pruning failed: ${(err as Error).message}`);
  }
  try {
    const n = pruneHistory(paths, config.daysOfLogs);
    if (n > 0) log.line(`pruned ${n} run(s) older than ${config.daysOfLogs} days from the history`);
  } catch (err) {
    log.line(`cannot prune the history: ${(err as Error).message}`);
  }
}
