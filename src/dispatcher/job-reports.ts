/**
 * The reports cncopagent itself writes for one job run: a JE- for each exception it sees,
 * and the JF- when the agent's own last exit does not give the final state. A report that
 * cannot be written (full disk, unwritable spool) is logged and shown, never a crash.
 */
import os from "node:os";
import type { Job } from "../install/jobs-db.ts";
import type { LineLog } from "../logs/log-file.ts";
import { type AttemptRecord, type ExceptionSource, type JobExceptionReport, type JobFinishedReport, reportBase, writeReport } from "../reports/report-files.ts";
import { isoUtc } from "../format/time.ts";
import { stringifyJson } from "../install/job-id.ts";
import type { RunMode } from "./run-mode.ts";

export interface ReportSink {
  exception(source: ExceptionSource, exitcode: number | null, message: string): void;
  finished(status: "OK" | "ERROR", reason: string, attempts: readonly AttemptRecord[], started: Date, finished: Date): void;
  /** Paths written so far. */
  readonly written: readonly string[];
}

export function createReportSink(
  messagesDir: string,
  job: Job,
  session: string,
  log: Pick<LineLog, "line">,
  onFailure: (text: string) => void,
  hostname = os.hostname(),
  mode: RunMode["reports"] = "write",
): ReportSink {
  const written: string[] = [];
  const write = (prefix: "JE-" | "JF-", report: JobExceptionReport | JobFinishedReport) => {
    if (mode === "log") {
      log.line(`dry run: would write ${prefix} report: ${stringifyJson(report)}`);
      return;
    }
    try {
      const path = writeReport(messagesDir, prefix, report);
      written.push(path);
      log.line(`report written: ${path}`);
    } catch (err) {
      const text = `cannot write ${prefix} report for job ${job.jobid} into ${messagesDir}: ${(err as Error).message}; its content: ${stringifyJson(report)}`;
      log.line(text);
      onFailure(text);
    }
  };
  return {
    written,
    exception(source, exitcode, message) {
      const report: JobExceptionReport = { type: "jobexception", ...reportBase(job, session, new Date(), hostname), source, exitcode, message };
      write("JE-", report);
    },
    finished(status, reason, attempts, started, finished) {
      const report: JobFinishedReport = {
        type: "jobfinished",
        ...reportBase(job, session, new Date(), hostname),
        status,
        reason,
        // Exactly the fields of SPEC §8: callers may pass richer attempt records.
        attempts: attempts.map((a) => ({ started: a.started, finished: a.finished, exitcode: a.exitcode, signal: a.signal })),
        started: isoUtc(started),
        finished: isoUtc(finished),
      };
      write("JF-", report);
    },
  };
}
