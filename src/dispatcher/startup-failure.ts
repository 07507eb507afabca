/**
 * A run that cannot start (its configuration or job database cannot be used) exits 2 with
 * a message on stderr, which nobody reads when the scheduler started it. So the failure is
 * also written where an administrator looks (SPEC §5 "Exit status", issue 17): a CA log
 * in `Logs/`, an entry in the run history (`cncopjobs history`), and a JE- report
 * (`source: dispatcher`) for the cncop network. Nothing is created outside an existing
 * root, and every part is best effort: what cannot be written is said on stderr.
 */
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import type { Paths } from "../install/paths.ts";
import { VERSION } from "../cli/version.ts";
import { openCaLog } from "../logs/ca-log.ts";
import { formatCommandLine } from "../process/command-line.ts";
import { newSessionId } from "../reports/session.ts";
import { reportBase, writeReport } from "../reports/report-files.ts";
import { insertRun } from "../history/history.ts";
import { isoUtc } from "../format/time.ts";

/** The job a startup failure is recorded under: no job ran. */
export const NO_JOB = Object.freeze({ jobid: 0n, jobtitle: "(cncopagent)", jobtype: "-" });

export interface StartupFailure {
  readonly paths: Paths;
  readonly message: string;
  readonly exitCode: number;
  readonly argv: readonly string[];
  readonly warn: (text: string) => void;
  readonly now?: Date;
}

/** Records the failure; returns where (for tests and the message). */
export function recordStartupFailure(f: StartupFailure): { caLog?: string; report?: string; history: boolean } {
  const { paths, message } = f;
  const now = f.now ?? new Date();
  const out: { caLog?: string; report?: string; history: boolean } = { history: false };
  if (!existsSync(paths.root)) return out;
  const session = newSessionId();
  const first = message.split("\n")[0] ?? message;
  try {
    mkdirSync(paths.logs, { recursive: true });
    const log = openCaLog(paths.logs, now, () => {});
    try {
      log.line(`cncopagent ${VERSION} started: pid ${process.pid}, host ${os.hostname()}, root ${paths.root}, config ${paths.configFile}, arguments: ${formatCommandLine(f.argv)}`);
      for (const line of message.split("\n")) log.line(`configuration error: ${line}`);
      log.line(`nothing was run; a JE- report (session ${session}) and a history entry record this failure`);
      log.line(`cncopagent finished: exit status ${f.exitCode} (0 OK, 0 failed, 0 skipped, configuration error)`);
    } finally {
      log.close();
    }
    out.caLog = log.path;
  } catch (err) {
    f.warn(`cannot write a CA log into ${paths.logs}: ${(err as Error).message}`);
  }
  try {
    mkdirSync(paths.messages, { recursive: true });
    out.report = writeReport(paths.messages, "JE-", { type: "jobexception", ...reportBase(NO_JOB, session, now), source: "dispatcher", exitcode: f.exitCode, message: `cncopagent could not start: ${first}` }, now);
  } catch (err) {
    f.warn(`cannot write a JE- report into ${paths.messages}: ${(err as Error).message}`);
  }
  try {
    insertRun(paths, {
      session, ...NO_JOB, hostname: os.hostname(), started: isoUtc(now), finished: isoUtc(now), durationMs: 0,
      status: "ERROR", reason: `cncopagent could not start: ${first}`, interrupted: false, attempts: [], caLog: out.caLog ?? null,
    });
    out.history = true;
  } catch (err) {
    f.warn(`cannot record the failure in the history ${paths.history}: ${(err as Error).message}`);
  }
  return out;
}
