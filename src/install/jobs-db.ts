/**
 * The job database (SPEC §4). Other programs write it, so the dispatcher reads any
 * `BackupJob` table that has the required columns; every later column may be missing and
 * then takes its default. The dispatcher opens it read-only and never alters it.
 */
import { Database } from "bun:sqlite";
import { existsSync, statSync } from "node:fs";
import { CncopError, EXIT, errorMessage } from "../cli/errors.ts";
import { jobIdOf, type JobId } from "./job-id.ts";

export interface Job {
  readonly jobid: JobId;
  readonly jobtitle: string;
  /** Upper-case. */
  readonly jobtype: string;
  readonly enabled: boolean;
  readonly maxretries: number;
  readonly retrydelay: number;
  readonly maxruntime: number;
  readonly prerun: string | undefined;
  readonly postsuccess: string | undefined;
  readonly postfailure: string | undefined;
  readonly source: string | undefined;
  readonly destination: string | undefined;
  readonly settings: Readonly<Record<string, unknown>>;
  /** What is wrong with this row; a job with problems ends as ERROR without running. */
  readonly problems: readonly string[];
  /** The values as stored where they are invalid (the fields above then hold the default). */
  readonly stored?: Readonly<Record<string, unknown>>;
}

/** What a missing column or a NULL means (SPEC §4); the schema's DEFAULTs say the same. */
export const JOB_DEFAULTS = Object.freeze({ enabled: 1, maxretries: 3, retrydelay: 60, maxruntime: 0 });
export const REQUIRED_COLUMNS = ["jobid", "jobtitle", "jobtype"] as const;
export const OPTIONAL_COLUMNS = [
  "enabled", "maxretries", "retrydelay", "maxruntime", "prerun", "postsuccess", "postfailure",
  "source", "destination", "settings",
] as const;
export type OptionalColumn = (typeof OPTIONAL_COLUMNS)[number];

/** Type and default of each optional column: in the schema, and when cncopjobs adds one to an older table. */
export const COLUMN_DEFINITIONS: Readonly<Record<OptionalColumn, string>> = Object.freeze({
  enabled: `INTEGER DEFAULT ${JOB_DEFAULTS.enabled}`,
  maxretries: `INTEGER DEFAULT ${JOB_DEFAULTS.maxretries}`,
  retrydelay: `INTEGER DEFAULT ${JOB_DEFAULTS.retrydelay}`,
  maxruntime: `INTEGER DEFAULT ${JOB_DEFAULTS.maxruntime}`,
  prerun: "TEXT",
  postsuccess: "TEXT",
  postfailure: "TEXT",
  source: "TEXT",
  destination: "TEXT",
  settings: "TEXT DEFAULT '{}'",
});
export const BUSY_TIMEOUT_MS = 5000;
export const MAX_RETRIES = 100;
export const MAX_SECONDS = 366 * 24 * 3600;

/** The SPEC §4 schema, for programs that create the database (cncopjobs, tests, the demo). */
export const BACKUPJOB_SCHEMA = `CREATE TABLE IF NOT EXISTS BackupJob (
  jobid INTEGER PRIMARY KEY,
  jobtitle TEXT NOT NULL UNIQUE COLLATE NOCASE,
  jobtype TEXT NOT NULL,
${OPTIONAL_COLUMNS.map((c) => `  ${c} ${COLUMN_DEFINITIONS[c]}`).join(",\n")}
)`;

function dbError(file: string, what: string): CncopError {
  return new CncopError(`Job database ${file}: ${what}`, EXIT.USAGE);
}

/** Open the job database read-only with a busy timeout; clear errors for each failure. */
export function openJobsDbReadOnly(file: string): Database {
  if (!existsSync(file)) {
    throw dbError(file, "not found. Create it with `cncopjobs add ...` (which creates the database), or copy the database from the cncop network into Config/.");
  }
  if (statSync(file).isDirectory()) throw dbError(file, "is a folder, not a database file.");
  let db: Database;
  try {
    db = new Database(file, { readonly: true });
  } catch (err) {
    throw dbError(file, `cannot be opened: ${errorMessage(err)}.`);
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.query("SELECT count(*) FROM sqlite_master").get();
  } catch (err) {
    db.close();
    throw describeSqliteError(file, err);
  }
  return db;
}

export function describeSqliteError(file: string, err: unknown): CncopError {
  const msg = errorMessage(err);
  if (/not a database|malformed|corrupt/i.test(msg)) {
    return dbError(file, `is not a valid SQLite database (${msg}). Restore it from a backup or download it again.`);
  }
  if (/locked|busy/i.test(msg)) {
    return dbError(file, `is locked by another program for more than ${BUSY_TIMEOUT_MS / 1000} s (${msg}). Try again when it has finished.`);
  }
  return dbError(file, `cannot be read: ${msg}.`);
}

function columnsOf(db: Database, file: string): Set<string> {
  const rows = db.query("PRAGMA table_info(BackupJob)").all() as { name: string }[];
  if (rows.length === 0) throw dbError(file, "has no BackupJob table. Create it with `cncopjobs add ...` or restore the database.");
  const cols = new Set(rows.map((r) => r.name.toLowerCase()));
  const missing = REQUIRED_COLUMNS.filter((c) => !cols.has(c));
  if (missing.length > 0) {
    throw dbError(file, `the BackupJob table lacks the required column(s) ${missing.join(", ")} (it has ${[...cols].join(", ")}).`);
  }
  return cols;
}

type Row = Record<string, unknown>;

function intValue(row: Row, col: string, dflt: number, min: number, max: number, problems: string[], stored: Record<string, unknown>): number {
  const v = row[col];
  if (v === null || v === undefined || v === "") return dflt;
  const n = typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${col} = ${typeof v === "bigint" ? String(v) : JSON.stringify(v)} is not a whole number from ${min} to ${max}`);
    stored[col] = v; // a bigint (an INTEGER read with safe integers) stays a number: shown and written as one
    return dflt;
  }
  return n;
}

function textValue(row: Row, col: string): string | undefined {
  const v = row[col];
  if (v === null || v === undefined) return undefined;
  const s = v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);
  return s.trim() === "" ? undefined : s;
}

/** Turn one row into a Job; problems are recorded rather than thrown. */
export function rowToJob(row: Row): Job {
  const problems: string[] = [];
  const stored: Record<string, unknown> = {};
  const jobid = jobIdOf(row.jobid) ?? 0n;
  if (jobIdOf(row.jobid) === undefined) problems.push(`jobid = ${JSON.stringify(String(row.jobid))} is not a 64-bit whole number`);
  const jobtitle = String(row.jobtitle ?? "");
  const jobtype = String(row.jobtype ?? "").trim().toUpperCase();
  if (jobtype === "") problems.push("jobtype is empty");
  let settings: Record<string, unknown> = {};
  const rawSettings = textValue(row, "settings");
  if (rawSettings !== undefined) {
    try {
      const parsed: unknown = JSON.parse(rawSettings);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) problems.push("settings is not a JSON object");
      else settings = parsed as Record<string, unknown>;
    } catch {
      problems.push("settings is not valid JSON");
    }
  }
  const enabledRaw = row.enabled;
  const enabled = enabledRaw === null || enabledRaw === undefined ? JOB_DEFAULTS.enabled === 1 : !(enabledRaw === 0 || enabledRaw === 0n || enabledRaw === "0" || enabledRaw === false || (typeof enabledRaw === "string" && /^(false|no|off)$/i.test(enabledRaw.trim())));
  return Object.freeze({
    jobid,
    jobtitle,
    jobtype,
    enabled,
    maxretries: intValue(row, "maxretries", JOB_DEFAULTS.maxretries, 0, MAX_RETRIES, problems, stored),
    retrydelay: intValue(row, "retrydelay", JOB_DEFAULTS.retrydelay, 0, MAX_SECONDS, problems, stored),
    maxruntime: intValue(row, "maxruntime", JOB_DEFAULTS.maxruntime, 0, MAX_SECONDS, problems, stored),
    prerun: textValue(row, "prerun"),
    postsuccess: textValue(row, "postsuccess"),
    postfailure: textValue(row, "postfailure"),
    source: textValue(row, "source"),
    destination: textValue(row, "destination"),
    settings: Object.freeze(settings),
    problems: Object.freeze(problems),
    ...(Object.keys(stored).length > 0 ? { stored: Object.freeze(stored) } : {}),
  });
}

/** Every job of the database, whatever the columns the table has beyond the required ones. */
export function readJobs(db: Database, file: string): Job[] {
  try {
    const cols = columnsOf(db, file);
    // Aliased: SQLite matches column names case-insensitively but reports them as declared (JobID).
    const select = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS.filter((c) => cols.has(c))].map((c) => `"${c}" AS "${c}"`).join(", ");
    // Safe integers: a jobid above 2^53 stays exact (a bigint), see job-id.ts.
    const rows = db.query(`SELECT ${select} FROM BackupJob`).safeIntegers(true).all() as Row[];
    return rows
      .filter((r) => r.jobid !== null && r.jobid !== undefined)
      .map(rowToJob);
  } catch (err) {
    if (err instanceof CncopError) throw err;
    throw describeSqliteError(file, err);
  }
}

/**
 * How long a run waits for a job database held by another program (an exclusive lock, a
 * long write) before it gives up: 5 minutes, CNCOP_DB_WAIT_MS to change it. SQLite's own
 * busy timeout covers each try; between tries the wait doubles from 1 s up to 30 s.
 */
export const JOB_DB_WAIT_MS_DEFAULT = 5 * 60 * 1000;
const BUSY_BACKOFF_FIRST_MS = 1000;
const BUSY_BACKOFF_MAX_MS = 30_000;

export function jobDbWaitMs(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const v = env.CNCOP_DB_WAIT_MS;
  return v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : JOB_DB_WAIT_MS_DEFAULT;
}

/** Is this the error of a database held by another program? */
export function isBusyError(err: unknown): boolean {
  return /locked by another program/.test(errorMessage(err));
}

/**
 * loadJobs, waiting with backoff while the database is busy, up to `waitMs` in all;
 * `onWait` is told before each wait. Then the busy error says how long it waited.
 */
export async function loadJobsWaiting(file: string, waitMs = jobDbWaitMs(), onWait: (text: string) => void = () => {}, now = () => performance.now()): Promise<Job[]> {
  const start = now();
  let pause = BUSY_BACKOFF_FIRST_MS;
  for (;;) {
    try {
      return loadJobs(file);
    } catch (err) {
      const waited = now() - start;
      if (!isBusyError(err) || waited >= waitMs) {
        if (isBusyError(err) && waitMs > 0) throw dbError(file, `is still locked by another program after waiting ${Math.round(waited / 1000)} s (CNCOP_DB_WAIT_MS allows ${Math.round(waitMs / 1000)} s): nothing was run. Find the program holding it (for example an open SQLite browser) and run again.`);
        throw err;
      }
      const ms = Math.min(pause, waitMs - waited);
      onWait(`job database ${file} is locked by another program; waiting ${(ms / 1000).toFixed(1)} s before trying again (${Math.round(waited / 1000)} s of at most ${Math.round(waitMs / 1000)} s so far)`);
      await Bun.sleep(ms);
      pause = Math.min(pause * 2, BUSY_BACKOFF_MAX_MS);
    }
  }
}

/** Open, read every job, close. */
export function loadJobs(file: string): Job[] {
  const db = openJobsDbReadOnly(file);
  try {
    return readJobs(db, file);
  } finally {
    db.close();
  }
}
