/**
 * One cncopagent invocation once its jobs are selected: its CA log (and the `-d` mirror),
 * the header lines, the jobs, what follows them, and the exit status.
 */
import os from "node:os";
import type { Config } from "../install/config.ts";
import type { Paths } from "../install/paths.ts";
import { VERSION } from "../cli/version.ts";
import { openCaLog, openDiagnosticLog } from "../logs/ca-log.ts";
import type { FileLineLog } from "../logs/log-file.ts";
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

function writeHeader(log: FileLineLog, o: InvocationOptions): void {
  const { paths, config, selected } = o;
  log.line(`cncopagent ${VERSION} started: pid ${process.pid}, host ${os.hostname()}, root ${paths.root}, config ${paths.configFile}, arguments: ${o.argv.join(" ")}`);
  for (const w of config.warnings) log.line(`warning: ${w}`);
  for (const n of o.notes ?? []) log.line(n);
  if (o.mode.logNote) log.line(o.mode.logNote);
  const names = selected.jobs.map((j) => `${j.jobid} '${j.jobtitle}' (${j.jobtype})`);
  log.line(`selected ${selected.jobs.length} job(s)${names.length ? `: ${names.join(", ")}` : ""}`);
}

/** Runs the selected jobs; returns the exit status. */
export async function runInvocation(o: InvocationOptions): Promise<number> {
  const { paths, config, view, selected, mode, debug } = o;
  let logFailed = false;
  const log = openCaLog(paths.logs, new Date(), (err) => {
    if (!logFailed) view.error(`cannot write the log: ${(err as Error).message}`);
    logFailed = true;
  });
  try {
    if (debug) log.mirrors.push(openDiagnosticLog(paths, (t) => view.error(t)));
    writeHeader(log, o);
    if (selected.jobs.length === 0 && selected.unknown.length === 0) view.info("no job matches the selection: nothing to run");
    const hooks = afterJobHooks(mode, { paths, config, log, view, debug, email: o.email });
    const result = await dispatch({ paths, config, jobs: selected.jobs, unknown: selected.unknown, debug, mode, log, view, ...hooks });
    return result.exitCode;
  } finally {
    view.close();
    for (const m of log.mirrors) m.close();
    log.close();
  }
}
