/**
 * The install tree (SPEC §2). This module alone knows where things live and what files
 * are called: folders are fields of `Paths`; files named by date, job or role come from
 * the functions below, given the folder (a `Paths` field) that holds them.
 */
import { existsSync, mkdirSync } from "node:fs";
import nodePath from "node:path";
import { CncopError, EXIT } from "../cli/errors.ts";
import { localDateStamp } from "../format/time.ts";

export interface Paths {
  readonly root: string;
  readonly bin: string;
  readonly configFile: string;
  readonly configDir: string;
  readonly jobsDb: string;
  readonly logs: string;
  readonly spool: string;
  readonly messages: string;
  /** Reports cncopreporter could not read, moved aside. */
  readonly badMessages: string;
  readonly spoolLogs: string;
  readonly work: string;
  /** Lock records: the job locks and the reporter's pass lock. */
  readonly locks: string;
  /** The run history, apart from the job database (another program may replace that). */
  readonly history: string;
}

export interface RootInputs {
  /** `-c CONFIG` as given, if any. */
  configArg?: string | undefined;
  env?: Record<string, string | undefined>;
  /** The real executable's path (the compiled binary in `Bin/`). */
  execPath?: string;
  cwd?: string;
  path?: typeof nodePath.posix;
}

/**
 * Root resolution: `$CNCOP_HOME` when set; else, when `-c` names a file inside a folder
 * called `Config`, that folder's parent; else the parent of the folder holding the
 * executable.
 */
export function resolveRoot(inputs: RootInputs): string {
  const p = inputs.path ?? nodePath;
  const env = inputs.env ?? process.env;
  const cwd = inputs.cwd ?? process.cwd();
  const home = env.CNCOP_HOME;
  if (home !== undefined && home !== "") return p.resolve(cwd, home);
  if (inputs.configArg) {
    const cfg = p.resolve(cwd, inputs.configArg);
    const dir = p.dirname(cfg);
    if (p.basename(dir).toLowerCase() === "config") return p.dirname(dir);
  }
  const exec = inputs.execPath ?? process.execPath;
  return p.dirname(p.dirname(p.resolve(cwd, exec)));
}

export function makePaths(root: string, configArg?: string, cwd = process.cwd(), p: typeof nodePath.posix = nodePath): Paths {
  const r = p.resolve(cwd, root);
  const spool = p.join(r, "Spool");
  const messages = p.join(spool, "Messages");
  const work = p.join(spool, "Work");
  const configFile = configArg ? p.resolve(cwd, configArg) : p.join(r, "Config", "cncop3.ini");
  return Object.freeze({
    root: r,
    bin: p.join(r, "Bin"),
    configFile,
    configDir: p.join(r, "Config"),
    jobsDb: p.join(r, "Config", "backupjobs.db"),
    logs: p.join(r, "Logs"),
    spool,
    messages,
    badMessages: p.join(messages, "bad"),
    spoolLogs: p.join(spool, "Logs"),
    work,
    locks: p.join(work, "locks"),
    history: p.join(spool, "history.db"),
  });
}

/** The executable path of this process; when run from source, the script's location stands in. */
export function selfExecPath(): string {
  if (isCompiled()) return process.execPath;
  // From source: pretend the executable lives in <repo>/dist/ so the root is the repo.
  return nodePath.join(nodePath.dirname(nodePath.dirname(import.meta.dir)), "dist", "cncopagent");
}

export function isCompiled(): boolean {
  const main = Bun.main;
  return main.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(main) || main.startsWith("B:/~BUN/");
}

/** Resolve the tree for a program invocation: root, paths, and the created spool folders. */
export function resolvePaths(configArg: string | undefined, env = process.env): Paths {
  const root = resolveRoot({ configArg, env, execPath: selfExecPath() });
  return makePaths(root, configArg);
}

/** Create missing `Logs/` and `Spool/*` folders (SPEC §2). */
export function ensureTree(paths: Paths): void {
  if (!existsSync(paths.root)) {
    throw new CncopError(
      `The cncop application directory ${paths.root} does not exist. Set CNCOP_HOME or pass -c <root>/Config/cncop3.ini.`,
      EXIT.USAGE,
    );
  }
  for (const dir of [paths.logs, paths.messages, paths.spoolLogs, paths.work]) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new CncopError(`Cannot create folder ${dir}: ${(err as Error).message}. Check the permissions of ${paths.root}.`, EXIT.USAGE);
    }
  }
}

/** cncopagent's own logs in `Logs/`; its `-d` diagnostic log and cncopreporter's log in `Spool/Logs/`. */
export const CA_PREFIX = "CA";
export const CA_DIAGNOSTIC_PREFIX = "CAD";
export const REPORTER_PREFIX = "RP";

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `CA-YY-MM-DD_HHMM.log` (local time), or with `-NNN` for suffix > 0. */
export function caLogName(d: Date, suffix = 0): string {
  const base = `${CA_PREFIX}-${pad2(d.getFullYear() % 100)}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}_${pad2(d.getHours())}${pad2(d.getMinutes())}`;
  return suffix === 0 ? `${base}.log` : `${base}-${String(suffix).padStart(3, "0")}.log`;
}

/** A CA log's name; captures YY, MM, DD, HH, MM and the suffix. */
export const CA_LOG_RE = /^CA-(\d{2})-(\d{2})-(\d{2})_(\d{2})(\d{2})(?:-(\d{3,}))?\.log$/;
/** A daily log's name in `Spool/Logs/`; captures the prefix, YYYY, MM and DD. */
export const DAILY_LOG_RE = /^([A-Za-z][A-Za-z0-9]{1,9})-(\d{4})(\d{2})(\d{2})\.log$/;

export function caLogPath(logsDir: string, d: Date, suffix = 0): string {
  return nodePath.join(logsDir, caLogName(d, suffix));
}

/** `Spool/Logs/<PREFIX>-YYYYMMDD.log`, by the local date: agents', CAD and RP logs. */
export function dailyLogPath(spoolLogs: string, prefix: string, date: Date = new Date()): string {
  return nodePath.join(spoolLogs, `${prefix}-${localDateStamp(date)}.log`);
}

export function diagnosticLogPath(paths: Pick<Paths, "spoolLogs">, date: Date = new Date()): string {
  return dailyLogPath(paths.spoolLogs, CA_DIAGNOSTIC_PREFIX, date);
}

export function reporterLogPath(paths: Pick<Paths, "spoolLogs">, date: Date = new Date()): string {
  return dailyLogPath(paths.spoolLogs, REPORTER_PREFIX, date);
}

/** An owner record, and the target of the short guard lock taken around reading and writing it. */
export interface LockFiles {
  readonly record: string;
  /** proper-lockfile makes `<guard>.guard`. */
  readonly guard: string;
}

/** `locks/job-<id>.json`, one per job. */
export function jobLockFiles(locksDir: string, jobid: bigint | number): LockFiles {
  return { record: nodePath.join(locksDir, `job-${jobid}.json`), guard: nodePath.join(locksDir, `job-${jobid}`) };
}

export interface ReporterLockFiles extends LockFiles {
  /** The marker that asks the holder for one more pass. */
  readonly wanted: string;
}

/** `locks/reporter.json`: one reporter pass at a time on a spool. */
export function reporterLockFiles(locksDir: string): ReporterLockFiles {
  return {
    record: nodePath.join(locksDir, "reporter.json"),
    guard: nodePath.join(locksDir, "reporter"),
    wanted: nodePath.join(locksDir, "reporter.wanted"),
  };
}
