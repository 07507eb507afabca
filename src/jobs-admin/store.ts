/**
 * Writing the job database: cncopjobs is its one writer in the suite (cncopagent opens it
 * read-only). Every change is one `BEGIN IMMEDIATE` transaction (read, check, write,
 * commit, so two writers never decide on stale data), the file is switched to WAL (a
 * reader such as a starting cncopagent is never blocked by a writer), with a busy timeout.
 *
 * A table written by another program may lack SPEC §4 columns after `jobtype`. A missing
 * column means its default, so writing the default needs nothing; writing any other value
 * adds the column first (`ALTER TABLE ADD COLUMN` with the SPEC type and default, a
 * migration SPEC §4 allows), and the caller reports it.
 */
import { ensurePrivateFile } from "../install/private-file.ts";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, statSync } from "node:fs";
import nodePath from "node:path";
import { CncopError, EXIT, errorMessage } from "../cli/errors.ts";
import { BACKUPJOB_SCHEMA, BUSY_TIMEOUT_MS, COLUMN_DEFINITIONS, describeSqliteError, OPTIONAL_COLUMNS, openJobsDbReadOnly, readJobs, REQUIRED_COLUMNS, rowToJob, type Job } from "../install/jobs-db.ts";
import { jobIdOf, type JobId } from "../install/job-id.ts";
import { type FieldName, isDefaultValue, type JobChanges, type JobValues, WRITABLE_FIELDS } from "./fields.ts";

export type Row = Record<string, unknown>;

/** The table as read inside a transaction. */
export interface Snapshot {
  readonly columns: Set<string>;
  /** Raw rows (the columns the table has), in jobid order. */
  readonly rows: readonly Row[];
  /** The same rows as cncopagent sees them. */
  readonly jobs: readonly Job[];
  /** The highest job id ever used in this database: in the table or by a removed job. */
  readonly highestId: JobId;
}

/** The view of a database that does not exist yet. */
export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({ columns: new Set<string>(), rows: [], jobs: [], highestId: 0n });

/**
 * The suite's own table (SPEC §4 allows it, never requires it): the highest job id a removed
 * job had, so that a new job never gets the id, and with it the history, of a removed one.
 */
const USED_IDS_TABLE = "cncop_used_jobids";

function removedHighest(db: Database): JobId {
  const has = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(USED_IDS_TABLE);
  if (!has) return 0n;
  // Safe integers: an id above 2^53 stays exact.
  const high = (db.query(`SELECT MAX(high) AS high FROM ${USED_IDS_TABLE}`).safeIntegers(true).get() as { high: unknown } | null)?.high;
  return jobIdOf(high) ?? 0n;
}

function notFound(file: string): CncopError {
  return new CncopError(`Job database ${file}: not found. Create it with \`cncopjobs add --title TITLE --type TYPE\` (which creates the database), or copy the database from the cncop network into Config/.`, EXIT.USAGE);
}

/** A write that could not be done: nothing was changed (exit 1). */
export function writeError(file: string, err: unknown): CncopError {
  if (err instanceof CncopError) return err;
  const msg = errorMessage(err);
  if (/locked|busy/i.test(msg)) {
    return new CncopError(`Job database ${file} is locked by another program for more than ${BUSY_TIMEOUT_MS / 1000} s (${msg}); nothing was changed. Try again when it has finished.`, EXIT.FAILED);
  }
  if (/readonly|read-only|permission|access/i.test(msg)) {
    return new CncopError(`Job database ${file} cannot be written (${msg}); nothing was changed. Check the permissions of the file and of ${nodePath.dirname(file)}.`, EXIT.FAILED);
  }
  const described = describeSqliteError(file, err);
  return new CncopError(`${described.message} Nothing was changed.`, described.exitCode);
}

/** Open for writing; with `create`, a missing file (and folder) is created. WAL, busy timeout. */
export function openJobsDbForWrite(file: string, create: boolean): Database {
  if (!existsSync(file)) {
    if (!create) throw notFound(file);
    mkdirSync(nodePath.dirname(file), { recursive: true });
    ensurePrivateFile(file);
  } else if (statSync(file).isDirectory()) {
    throw new CncopError(`Job database ${file}: is a folder, not a database file.`, EXIT.USAGE);
  }
  let db: Database | undefined;
  try {
    db = new Database(file, { create: true, readwrite: true });
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
    if (mode.toLowerCase() !== "wal") {
      // Best effort: a reader at this very moment keeps the old mode; the transaction is safe either way.
      try {
        db.query("PRAGMA journal_mode = WAL").get();
      } catch {}
    }
    return db;
  } catch (err) {
    db?.close();
    throw writeError(file, err);
  }
}

/** Open read-only (as cncopagent does) for the commands that only read. */
export function openJobsDbForRead(file: string): Database {
  if (!existsSync(file)) throw notFound(file);
  return openJobsDbReadOnly(file);
}

export function tableColumns(db: Database): Set<string> {
  const rows = db.query("PRAGMA table_info(BackupJob)").all() as { name: string }[];
  return new Set(rows.map((r) => r.name.toLowerCase()));
}

/** Raw rows with the columns the table has (named in lower case). */
export function readRows(db: Database, columns: ReadonlySet<string>): Row[] {
  const select = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS.filter((c) => columns.has(c))].map((c) => `"${c}"`).join(", ");
  return (db.query(`SELECT ${select} FROM BackupJob WHERE jobid IS NOT NULL ORDER BY jobid`).safeIntegers(true).all() as Row[]);
}

export function readSnapshot(db: Database, file: string): Snapshot {
  readJobs(db, file); // the dispatcher's checks: table present, required columns
  const columns = tableColumns(db);
  const rows = readRows(db, columns);
  const tableHighest = rows.reduce<JobId>((m, r) => {
    const id = jobIdOf(r.jobid) ?? 0n;
    return id > m ? id : m;
  }, 0n);
  const removed = removedHighest(db);
  return { columns, rows, jobs: rows.map(rowToJob), highestId: tableHighest > removed ? tableHighest : removed };
}

/**
 * Run `fn` in one IMMEDIATE transaction; `createTable` makes the SPEC table first when the
 * database has none. Any error rolls everything back.
 */
export function writeTransaction<T>(db: Database, file: string, createTable: boolean, fn: (snap: Snapshot) => T): T {
  try {
    return db.transaction(() => {
      if (createTable) db.exec(BACKUPJOB_SCHEMA);
      return fn(readSnapshot(db, file));
    }).immediate();
  } catch (err) {
    throw writeError(file, err);
  }
}

function sqlValue(field: FieldName, value: unknown): string | number | null {
  if (field === "settings") return JSON.stringify(value ?? {});
  return value as string | number | null;
}

/**
 * The columns to write for these changes: existing ones; missing ones only for a value
 * other than the default, after adding the column. Returns the columns added.
 */
function prepareColumns(db: Database, columns: Set<string>, changes: JobChanges): { write: FieldName[]; added: string[] } {
  const write: FieldName[] = [];
  const added: string[] = [];
  for (const field of WRITABLE_FIELDS) {
    if (!(field in changes)) continue;
    const value = changes[field];
    if (columns.has(field)) {
      write.push(field);
      continue;
    }
    if (isDefaultValue(field, value)) continue;
    const def = COLUMN_DEFINITIONS[field as keyof typeof COLUMN_DEFINITIONS];
    db.exec(`ALTER TABLE BackupJob ADD COLUMN "${field}" ${def}`);
    columns.add(field);
    added.push(field);
    write.push(field);
  }
  return { write, added };
}

/**
 * SPEC §4: one more than the highest id ever used, in the table (removed jobs included) or
 * in the run history (`historyHighest`), so a new job never inherits another job's history.
 */
export function nextJobId(snap: Snapshot, historyHighest: JobId = 0n): JobId {
  return (snap.highestId > historyHighest ? snap.highestId : historyHighest) + 1n;
}

export function insertJob(db: Database, snap: Snapshot, jobid: JobId, values: JobValues): string[] {
  const { write, added } = prepareColumns(db, snap.columns, values);
  const cols = ["jobid", ...write];
  const params = [jobid, ...write.map((f) => sqlValue(f, values[f]))];
  db.query(`INSERT INTO BackupJob (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).run(...params);
  return added;
}

export function updateJob(db: Database, snap: Snapshot, jobid: JobId, changes: JobChanges): string[] {
  const { write, added } = prepareColumns(db, snap.columns, changes);
  if (write.length === 0) return added;
  const sets = write.map((f) => `"${f}" = ?`).join(", ");
  db.query(`UPDATE BackupJob SET ${sets} WHERE jobid = ?`).run(...write.map((f) => sqlValue(f, changes[f])), jobid);
  return added;
}

export function deleteJob(db: Database, jobid: JobId): void {
  db.query("DELETE FROM BackupJob WHERE jobid = ?").run(jobid);
  db.exec(`CREATE TABLE IF NOT EXISTS ${USED_IDS_TABLE} (high INTEGER NOT NULL)`);
  db.query(`INSERT INTO ${USED_IDS_TABLE} (high) SELECT ? WHERE ? > (SELECT COALESCE(MAX(high), 0) FROM ${USED_IDS_TABLE})`).run(jobid, jobid);
}
