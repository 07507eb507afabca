/**
 * The run history's own SQLite file, `Spool/history.db`: apart from the job database so it
 * survives that database being replaced by another program. WAL (readers never block the
 * writer), a short busy timeout (cncopagent must never wait long), and schema migrations
 * numbered by `PRAGMA user_version`.
 */
import { ensurePrivateFile } from "../install/private-file.ts";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import nodePath from "node:path";
import { errorMessage } from "../cli/errors.ts";
import type { Paths } from "../install/paths.ts";

/** cncopagent records a run after each job: it waits at most this long for the file. */
export const HISTORY_BUSY_TIMEOUT_MS = 2000;
export const HISTORY_TABLE = "job_runs";

/** Migration n brings the file from user_version n to n + 1. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL UNIQUE,
    jobid INTEGER NOT NULL,
    jobtitle TEXT NOT NULL,
    jobtype TEXT NOT NULL,
    hostname TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    interrupted INTEGER NOT NULL DEFAULT 0,
    attempts TEXT NOT NULL DEFAULT '[]',
    calog TEXT
  );
  CREATE INDEX IF NOT EXISTS ${HISTORY_TABLE}_job ON ${HISTORY_TABLE} (jobid, finished);
  CREATE INDEX IF NOT EXISTS ${HISTORY_TABLE}_finished ON ${HISTORY_TABLE} (finished);`,
];
export const HISTORY_SCHEMA_VERSION = MIGRATIONS.length;

export function historyError(file: string, err: unknown): Error {
  const msg = errorMessage(err);
  if (/not a database|malformed|corrupt/i.test(msg)) {
    return new Error(`history database ${file} is damaged (${msg}); move it aside to start a new history`);
  }
  return new Error(`history database ${file}: ${msg}`);
}

function migrate(db: Database): void {
  const version = () => (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (version() >= HISTORY_SCHEMA_VERSION) return;
  db.transaction(() => {
    // Another writer may have migrated between the check and the lock.
    for (let v = version(); v < HISTORY_SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    }
  }).immediate();
}

/** Open (creating file and schema when needed) for writing: cncopagent. */
export function openHistoryForWrite(paths: Pick<Paths, "history">, busyTimeoutMs = HISTORY_BUSY_TIMEOUT_MS): Database {
  const file = paths.history;
  mkdirSync(nodePath.dirname(file), { recursive: true });
  let db: Database | undefined;
  try {
    ensurePrivateFile(file);
    db = new Database(file, { create: true });
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    const mode = (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
    if (mode.toLowerCase() !== "wal") {
      try {
        db.exec("PRAGMA journal_mode = WAL");
      } catch {} // another process holds it right now; the next open switches it
    }
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    throw historyError(file, err);
  }
}

/** Open read-only for cncopjobs; undefined when no run was ever recorded. */
export function openHistoryForRead(paths: Pick<Paths, "history">, busyTimeoutMs = 5000): Database | undefined {
  const file = paths.history;
  if (!existsSync(file)) return undefined;
  let db: Database | undefined;
  try {
    db = new Database(file, { readonly: true });
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    const hasTable = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(HISTORY_TABLE);
    if (!hasTable) {
      db.close();
      return undefined;
    }
    return db;
  } catch (err) {
    db?.close();
    throw historyError(file, err);
  }
}
