/**
 * The agent's own reports in `Spool/Messages/` (SPEC §5, §8): a `JS-` job-statistics
 * report for every run that did work, and a `JF-` job-finished report when the run ends
 * the job (OK or ERROR). A run that ends RE-RUN writes no JF-: the job is not finished;
 * the next attempt writes it, or cncopagent does when no re-run is left. A dry run
 * writes no report. docs/agents.md documents every field.
 */
import { maskUrl } from "../format/secrets.ts";
import type { JobFinishedReport, AttemptRecord, JobIdentity } from "../reports/report-files.ts";
import { reportBase } from "../reports/report-files.ts";
import { isoUtc } from "../format/time.ts";
import { type AgentResult } from "./agent-result.ts";
import { type FinishState } from "../reports/finish-state.ts";

export interface JobStatisticsReport extends JobIdentity {
  readonly type: "jobstatistics";
  readonly session: string;
  readonly hostname: string;
  readonly time: string;
  readonly agent: string;
  readonly attempt: number;
  readonly state: FinishState;
  readonly reason: string;
  readonly started: string;
  readonly finished: string;
  readonly duration_sec: number;
  readonly source: string | null;
  readonly destination: string | null;
  readonly files_total: number;
  readonly files_transferred: number;
  readonly files_unchanged: number;
  readonly files_deleted: number;
  readonly files_failed: number;
  readonly directories: number;
  readonly bytes_total: number;
  readonly bytes_transferred: number;
  readonly errors: number;
  readonly warnings: number;
  readonly details: Readonly<Record<string, number | string | boolean | null>>;
}

export interface RunFacts {
  readonly job: JobIdentity;
  readonly session: string;
  readonly hostname: string;
  readonly agent: string;
  readonly attempt: number;
  readonly started: Date;
  readonly finished: Date;
  /** From a monotonic clock; without it, finished - started. */
  readonly durationMs?: number;
  readonly source: string | undefined;
  readonly destination: string | undefined;
  readonly errors: number;
  readonly warnings: number;
}

/** `user:secret@host` in a URL becomes `user:***@host`: a report never carries a secret. */
export function redactUrlPassword(text: string): string {
  return maskUrl(text);
}

export function statisticsReport(facts: RunFacts, result: AgentResult): JobStatisticsReport {
  const t = result.totals;
  return {
    type: "jobstatistics",
    ...reportBase(facts.job, facts.session, facts.finished, facts.hostname),
    agent: facts.agent,
    attempt: facts.attempt,
    state: result.state,
    reason: result.reason,
    started: isoUtc(facts.started),
    finished: isoUtc(facts.finished),
    duration_sec: Math.round(facts.durationMs ?? facts.finished.getTime() - facts.started.getTime()) / 1000,
    source: facts.source === undefined ? null : redactUrlPassword(facts.source),
    destination: facts.destination === undefined ? null : redactUrlPassword(facts.destination),
    files_total: t.filesTotal,
    files_transferred: result.files,
    files_unchanged: t.filesUnchanged,
    files_deleted: t.filesDeleted,
    files_failed: t.filesFailed,
    directories: t.directories,
    bytes_total: t.bytesTotal,
    bytes_transferred: result.bytes,
    errors: facts.errors,
    warnings: facts.warnings,
    details: result.details,
  };
}

/**
 * The JF- report of a run that ends the job. `earlier` are the session's previous
 * attempts (from the daily logs); the job started when the first of them did.
 */
export function finishedReport(facts: RunFacts, status: "OK" | "ERROR", reason: string, exitcode: number, earlier: readonly AttemptRecord[]): JobFinishedReport {
  const attempts: AttemptRecord[] = [...earlier, { started: isoUtc(facts.started), finished: isoUtc(facts.finished), exitcode, signal: null }];
  return {
    type: "jobfinished",
    ...reportBase(facts.job, facts.session, facts.finished, facts.hostname),
    status,
    reason,
    attempts,
    started: attempts[0]!.started,
    finished: isoUtc(facts.finished),
  };
}
