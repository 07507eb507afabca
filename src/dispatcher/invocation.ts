/**
 * One cncopagent invocation once its jobs are selected: its CA log (and the `-d` mirror),
 * the header lines, the jobs, what follows them, and the exit status.
 */
import os from "node:os";
import type { Config } from "../install/config.ts";
import type { Paths } from "../install/paths.ts";
import { VERSION } from "../cli/version.ts";
import { formatCommandLine } from "../process/command-line.ts";
import { openCaLog, openDiagnosticLog } from "../logs/ca-log.ts";
import { FileLineLog, stderrFallback, writeFailureText } from "../logs/log-file.ts";
import { caLogPath, diagnosticLogPath } from "../install/paths.ts";
import { removeStaleTemps } from "../install/atomic-write.ts";
import { removeStaleReportTemps } from "../reports/report-files.ts";
import { afterJobHooks } from "./after-job.ts";
import { dispatch } from "./dispatch.ts";
import type { RunMode } from "./run-mode.ts";
import type { SelectionResult } from "./selection.ts";
import type { View } from "./view.ts";

export interface InvocationOptions {
  readonly paths: Paths;
  readonly config: Config;
  readonly view: View;
  readonly selected: SelectionResult;
  readonly mode: RunMode;
  readonly debug: boolean;
  readonly email: readonly string[] | undefined;
  /** The arguments as given, for the log. */
  readonly argv: readonly string[];
  /** What happened before the log was opened (waiting for a busy job database). */
  readonly notes?: readonly string[];
}

function nothingToRun(disabled: number): string {
  if (disabled === 0) return "no job matches the selection: nothing to run";
  const them = disabled === 1 ? "the 1 job that matches is disabled" : `the ${disabled} jobs that match are disabled`;
  return `nothing to run: ${them} (cncopjobs enable JOB turns one on; a job named on the command line runs even when disabled)`;
}

function writeHeader(log: FileLineLog, o: InvocationOptions): void {
  const { paths, config, selected } = o;
  log.line(`cncopagent ${VERSION} started: pid ${process.pid}, host ${os.hostname()}, root ${paths.root}, config ${paths.configFile}, arguments: ${formatCommandLine(o.argv)}`);
  for (const w of config.warnings) log.line(`warning: ${w}`);
  for (const n of o.notes ?? []) log.line(n);
  if (o.mode.logNote) log.line(o.mode.logNote);
  const names = selected.jobs.map((j) => `${j.jobid} '${j.jobtitle}' (${j.jobtype})`);
  log.line(`selected ${selected.jobs.length} job(s)${names.length ? `: ${names.join(", ")}` : ""}`);
}

/**
 * The CA log. When `Logs/` is full or read-only the jobs still run: the failure is said
 * once on stderr with the path, and the log's lines go on to stderr (and, under -d, to the
 * diagnostic log as always), so the run's record is kept where cron or the journal sees it.
 */
function openRunLog(o: InvocationOptions, now: Date): FileLineLog {
  const { paths, view, debug } = o;
  const where = `its lines go to stderr from here${debug ? ` and to the diagnostic log ${diagnosticLogPath(paths, now)}` : ""}`;
  let log: FileLineLog;
  try {
    log = openCaLog(paths.logs, now, (err) => view.error(`${writeFailureText(log.path, err)}; the jobs run on, and ${where}`));
  } catch (err) {
    const path = caLogPath(paths.logs, now);
    view.error(`cannot create the log ${path} in ${paths.logs} (open): ${(err as Error).message}; the jobs run, and ${where.replace(" from here", "")}`);
    log = new FileLineLog(path, null);
  }
  log.fallback = stderrFallback();
  return log;
}

/** Temporary files of writes a killed run left (lock records, reports), said in the log. */
function removeLeftovers(paths: Paths, log: FileLineLog): void {
  for (const [dir, names] of [
    [paths.locks, removeStaleTemps(paths.locks)],
    [paths.messages, removeStaleReportTemps(paths.messages)],
  ] as const) {
    if (names.length > 0) log.line(`removed ${names.length} leftover temporary file(s) of interrupted writes in ${dir}: ${names.join(", ")}`);
  }
}

/** Runs the selected jobs; returns the exit status. */
export async function runInvocation(o: InvocationOptions): Promise<number> {
  const { paths, config, view, selected, mode, debug } = o;
  const now = new Date();
  const log = openRunLog(o, now);
  try {
    if (debug) {
      try {
        log.mirrors.push(openDiagnosticLog(paths, (t) => view.error(t), now));
      } catch (err) {
        view.error(`cannot open the diagnostic log ${diagnosticLogPath(paths, now)} (open): ${(err as Error).message}; the run is logged without it`);
      }
    }
    writeHeader(log, o);
    removeLeftovers(paths, log);
    // A dry run says so first, on the terminal as in the log.
    if (mode.logNote) view.info(mode.logNote);
    if (selected.jobs.length === 0 && selected.unknown.length === 0) view.info(nothingToRun(selected.disabled ?? 0));
    const hooks = afterJobHooks(mode, { paths, config, log, view, debug, email: o.email });
    const result = await dispatch({ paths, config, jobs: selected.jobs, unknown: selected.unknown, suggestions: selected.suggestions, debug, mode, log, view, ...hooks });
    return result.exitCode;
  } finally {
    view.close();
    for (const m of log.mirrors) m.close();
    log.close();
  }
}
