/**
 * Run history: cncopagent records every job run (OK, ERROR, SKIPPED) after it ends, and
 * prunes runs older than `days_of_logs` with the logs; cncopjobs reads it. Dry runs are
 * not recorded (cncopagent does not call recordRun for them).
 */
import { maskText } from "../format/secrets.ts";
import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import os from "node:os";
import type { JobOutcome } from "../dispatcher/run-job.ts";
import type { Paths } from "../install/paths.ts";
import { jobIdOf, type JobId } from "../install/job-id.ts";
import { isoUtc } from "../format/time.ts";
import type { FinishState } from "../reports/finish-state.ts";
import { HISTORY_TABLE, historyError, openHistoryForRead, openHistoryForWrite } from "./history-db.ts";

export interface HistoryAgentExit {
  readonly agent: string;
  readonly exitcode: number | null;
  readonly signal: string | null;
  readonly state: FinishState;
}

export interface HistoryAttempt {
  readonly number: number;
  readonly started: string;
  readonly finished: string;
  readonly exitcode: number | null;
  readonly signal: string | null;
  readonly agents: readonly HistoryAgentExit[];
}

export interface HistoryRun {
  readonly session: string;
  readonly jobid: JobId;
  readonly jobtitle: string;
  readonly jobtype: string;
  readonly hostname: string;
  /** ISO 8601 UTC. */
  readonly started: string;
  readonly finished: string;
  readonly durationMs: number;
  /** OK, ERROR or SKIPPED. */
  readonly status: string;
  readonly reason: string;
  readonly interrupted: boolean;
  readonly attempts: readonly HistoryAttempt[];
  /** The cncopagent log of the run. */
  readonly caLog: string | null;
}

/** The record of one job run (pure). */
export function runFromOutcome(outcome: JobOutcome, caLogPath: string, hostname = os.hostname()): HistoryRun {
  return {
    session: outcome.session,
    jobid: outcome.job.jobid,
    jobtitle: outcome.job.jobtitle,
    jobtype: outcome.job.jobtype,
    hostname,
    started: isoUtc(outcome.started),
    finished: isoUtc(outcome.finished),
    durationMs: Math.max(0, Math.round(outcome.durationMs)),
    status: outcome.status,
    reason: outcome.reason,
    interrupted: outcome.interrupted,
    attempts: outcome.attempts.map((a) => ({
      number: a.number,
      started: a.started,
      finished: a.finished,
      exitcode: a.exitcode,
      signal: a.signal,
      agents: a.agents.map((g) => ({ agent: g.agent, exitcode: g.exitcode, signal: g.signal, state: g.state })),
    })),
    caLog: caLogPath === "" ? null : caLogPath,
  };
}

export function recordRun(paths: Paths, outcome: JobOutcome, caLogPath: string): void {
  insertRun(paths, runFromOutcome(outcome, caLogPath));
}

/** Records a run; `keepExisting`: a run of that session already recorded stays as it is. */
export function insertRun(paths: Paths, run: HistoryRun, keepExisting = false): void {
  const db = openHistoryForWrite(paths);
  try {
    db.query(
      `INSERT OR ${keepExisting ? "IGNORE" : "REPLACE"} INTO ${HISTORY_TABLE} (session, jobid, jobtitle, jobtype, hostname, started, finished, duration_ms, status, reason, interrupted, attempts, calog)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(run.session, run.jobid, run.jobtitle, run.jobtype, run.hostname, run.started, run.finished, run.durationMs, run.status, maskText(run.reason), run.interrupted ? 1 : 0, JSON.stringify(run.attempts), run.caLog);
  } catch (err) {
    throw historyError(paths.history, err);
  } finally {
    db.close();
  }
}

export const DAY_MS = 24 * 3600 * 1000;

/** Delete runs that finished more than `days` days before `now`; returns how many. */
export function pruneHistory(paths: Paths, days: number, now: Date = new Date()): number {
  if (days <= 0) return 0;
  if (!existsSync(paths.history)) return 0;
  const cutoff = isoUtc(new Date(now.getTime() - days * DAY_MS));
  const db = openHistoryForWrite(paths);
  try {
    return db.query(`DELETE FROM ${HISTORY_TABLE} WHERE finished < ?`).run(cutoff).changes;
  } catch (err) {
    throw historyError(paths.history, err);
  } finally {
    db.close();
  }
}

type Row = Record<string, unknown>;

function parseAttempts(text: unknown): HistoryAttempt[] {
  try {
    const v: unknown = JSON.parse(String(text ?? "[]"));
    return Array.isArray(v) ? (v as HistoryAttempt[]) : [];
  } catch {
    return [];
  }
}

function rowToRun(r: Row): HistoryRun {
  return {
    session: String(r.session),
    jobid: jobIdOf(r.jobid) ?? 0n,
    jobtitle: String(r.jobtitle),
    jobtype: String(r.jobtype),
    hostname: String(r.hostname),
    started: String(r.started),
    finished: String(r.finished),
    durationMs: Number(r.duration_ms),
    status: String(r.status),
    reason: String(r.reason),
    interrupted: Number(r.interrupted) === 1,
    attempts: parseAttempts(r.attempts),
    caLog: r.calog === null || r.calog === undefined ? null : String(r.calog),
  };
}

function withReader<T>(paths: Paths, empty: T, fn: (db: Database) => T): T {
  const db = openHistoryForRead(paths);
  if (!db) return empty;
  try {
    return fn(db);
  } catch (err) {
    throw historyError(paths.history, err);
  } finally {
    db.close();
  }
}

export interface HistoryQuery {
  /** Runs of these job ids, or of these titles (case-insensitive); every run when both are empty. */
  readonly jobids?: readonly JobId[];
  readonly titles?: readonly string[];
  /** Newest runs first; 0 for no limit. */
  readonly limit: number;
}

/** Runs, newest (by end) first. */
export function readHistory(paths: Paths, q: HistoryQuery): HistoryRun[] {
  return withReader(paths, [], (db) => {
    const where: string[] = [];
    const params: (string | number | bigint)[] = [];
    const ids = q.jobids ?? [];
    const titles = q.titles ?? [];
    if (ids.length > 0) {
      where.push(`jobid IN (${ids.map(() => "?").join(", ")})`);
      params.push(...ids);
    }
    if (titles.length > 0) {
      where.push(`lower(jobtitle) IN (${titles.map(() => "?").join(", ")})`);
      params.push(...titles.map((t) => t.toLowerCase()));
    }
    const sql = `SELECT * FROM ${HISTORY_TABLE}${where.length ? ` WHERE ${where.join(" OR ")}` : ""} ORDER BY finished DESC, id DESC${q.limit > 0 ? ` LIMIT ${Math.floor(q.limit)}` : ""}`;
    return (db.query(sql).safeIntegers(true).all(...params) as Row[]).map(rowToRun);
  });
}

/** The last run of each job that actually ran (SKIPPED left out), by jobid. */
export function lastRuns(paths: Paths): Map<JobId, HistoryRun> {
  return withReader(paths, new Map<JobId, HistoryRun>(), (db) => {
    const rows = db
      .query(
        `SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY jobid ORDER BY finished DESC, id DESC) AS rn
         FROM ${HISTORY_TABLE} WHERE status <> 'SKIPPED') WHERE rn = 1`,
      )
      .safeIntegers(true)
      .all() as Row[];
    return new Map(rows.map((r) => [jobIdOf(r.jobid) ?? 0n, rowToRun(r)]));
  });
}

/** The highest job id the history has a run of (0 for none): such an id is never given to a new job. */
export function highestRecordedJobId(paths: Paths): JobId {
  return withReader(paths, 0n, (db) => jobIdOf((db.query(`SELECT MAX(jobid) AS high FROM ${HISTORY_TABLE}`).safeIntegers(true).get() as { high: unknown } | null)?.high) ?? 0n);
}
