/**
 * Log retention (SPEC §5 "Pruning", §3 `days_of_logs`). Deletes files last modified more
 * than `days` × 24 h ago: regular files named `*.log`, `*.log.N` (N digits) or `*.log.gz`
 * directly in `Spool/Logs/`, and `CA-*.log` directly in `Logs/`. Nothing else: no folder,
 * no symbolic link (nor what it points to), no other name, no file in `keep`.
 *
 * Agents may be writing logs while this runs, and other processes may delete files, so each
 * candidate is checked with `lstat` (never following links) immediately before its
 * `unlink`: a file written since the folder was listed is fresh and stays; a file that
 * vanished is skipped silently. Everything else that goes wrong is a warning.
 */
import { lstatSync, readdirSync, unlinkSync } from "node:fs";
import nodePath from "node:path";
import { errnoCode, errorMessage } from "../cli/errors.ts";
import type { Paths } from "../install/paths.ts";
import { formatBytes } from "../format/bytes.ts";
import { formatDuration, isOlderThan, localTimestamp } from "../format/time.ts";

export const DAY_MS = 86_400_000;
/** Warning lines written to the log per run; further failures are only counted. */
export const MAX_WARNINGS = 20;
/** Entries handled between two turns of the event loop, so a signal is noticed quickly. */
const CHUNK_ENTRIES = 4096;

export interface PruneResult {
  readonly deleted: number;
  readonly bytes: number;
  /** The warnings written (at most MAX_WARNINGS); `failed` counts every failure. */
  readonly errors: readonly string[];
  /** Files that matched and had expired but could not be deleted. */
  readonly failed: number;
  /** True when `signal` stopped the run early. */
  readonly interrupted: boolean;
}

/** The file system calls pruning makes; tests inject races through them. */
export interface PruneFs {
  readdir(dir: string): readonly PruneDirent[];
  /** `undefined` when the path does not exist (any more). Never follows a link. */
  lstat(path: string): PruneStat | undefined;
  unlink(path: string): void;
}
export interface PruneDirent {
  readonly name: string;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}
export interface PruneStat {
  readonly mtimeMs: number;
  readonly size: number;
  readonly nlink: number;
  isFile(): boolean;
}

export const nodePruneFs: PruneFs = {
  readdir: (dir) => readdirSync(dir, { withFileTypes: true }),
  lstat: (path) => lstatSync(path, { throwIfNoEntry: false }),
  unlink: (path) => unlinkSync(path),
};

export interface PruneOptions {
  readonly now?: Date;
  /** Absolute paths that are never deleted (the current invocation's logs). */
  readonly keep?: ReadonlySet<string>;
  readonly log?: (line: string) => void;
  /** Stops the run between two chunks of entries (an interrupted cncopagent). */
  readonly signal?: AbortSignal;
  /** Match names ignoring case; Windows file names are case-insensitive. */
  readonly caseInsensitive?: boolean;
  readonly fs?: PruneFs;
}

/** One folder and the names pruned in it. */
export interface PruneTarget {
  readonly dir: string;
  readonly matches: (name: string) => boolean;
}

const SPOOL_LOG_RE = /^.*\.log(?:\.[0-9]+|\.gz)?$/s;
const SPOOL_LOG_RE_I = new RegExp(SPOOL_LOG_RE.source, "si");
const CA_LOG_RE = /^CA-.*\.log$/s;
const CA_LOG_RE_I = new RegExp(CA_LOG_RE.source, "si");

/** `*.log`, `*.log.N` (N one or more digits) or `*.log.gz`, `*` as in `find -name`. */
export function isSpoolLogName(name: string, caseInsensitive = false): boolean {
  return (caseInsensitive ? SPOOL_LOG_RE_I : SPOOL_LOG_RE).test(name);
}

/** `CA-*.log`: cncopagent's own logs. */
export function isCaLogName(name: string, caseInsensitive = false): boolean {
  return (caseInsensitive ? CA_LOG_RE_I : CA_LOG_RE).test(name);
}

export function pruneTargets(paths: Paths, caseInsensitive = false): PruneTarget[] {
  return [
    { dir: paths.spoolLogs, matches: (n) => isSpoolLogName(n, caseInsensitive) },
    { dir: paths.logs, matches: (n) => isCaLogName(n, caseInsensitive) },
  ];
}

/** Files last modified before this instant (ms since the epoch) have expired. */
export function pruneCutoffMs(now: Date, days: number): number {
  return now.getTime() - days * DAY_MS;
}

/** Strictly older than the retention: a file exactly `days` old stays. */
export function isPrunable(mtimeMs: number, now: Date, days: number): boolean {
  return isOlderThan(mtimeMs, now.getTime(), days * DAY_MS);
}

/** Why a delete failed, for an administrator. */
export function describeFailure(err: unknown): string {
  const code = errnoCode(err);
  if (code === "EACCES" || code === "EPERM") return `permission denied (${code}): check the file's and the folder's permissions (a read-only file on Windows)`;
  if (code === "EBUSY") return "the file is in use (EBUSY); it is tried again on the next run";
  return errorMessage(err);
}

export function validateDays(days: number): void {
  if (!Number.isInteger(days) || days < 0) throw new RangeError(`days_of_logs must be a whole number of days, 0 or more (got ${days})`);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function pruneLogs(paths: Paths, days: number, opts: PruneOptions = {}): Promise<PruneResult> {
  validateDays(days);
  if (days === 0) return { deleted: 0, bytes: 0, failed: 0, errors: [], interrupted: false };
  const tally = { deleted: 0, bytes: 0, failed: 0, errors: [] as string[], interrupted: false, unshown: 0 };
  const started = performance.now();
  const fs = opts.fs ?? nodePruneFs;
  const log = opts.log ?? (() => {});
  const now = opts.now ?? new Date();
  const keep = new Set([...(opts.keep ?? [])].map((p) => nodePath.resolve(p)));
  const targets = pruneTargets(paths, opts.caseInsensitive ?? process.platform === "win32").map((t) => ({ ...t, dir: nodePath.resolve(t.dir) }));
  const warn = (text: string) => {
    if (tally.errors.length >= MAX_WARNINGS) {
      tally.unshown++;
      return;
    }
    tally.errors.push(text);
    log(`warning: log pruning: ${text}`);
  };

  for (const target of targets) {
    let entries: readonly PruneDirent[];
    try {
      entries = fs.readdir(target.dir);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") warn(`cannot read ${target.dir}: ${errorMessage(err)}`);
      continue;
    }
    // Plain concatenation: path.join per entry costs as much as the name checks together.
    const prefix = target.dir.endsWith(nodePath.sep) ? target.dir : target.dir + nodePath.sep;
    for (let i = 0; i < entries.length; i++) {
      if (i % CHUNK_ENTRIES === 0) {
        if (i > 0) await nextTurn();
        if (opts.signal?.aborted) {
          tally.interrupted = true;
          break;
        }
      }
      const entry = entries[i]!;
      // Cheap checks first: the name, then the type the listing already knows.
      if (!target.matches(entry.name) || entry.isDirectory() || entry.isSymbolicLink()) continue;
      const path = prefix + entry.name;
      if (keep.has(path)) continue;
      pruneFile(path, (mtimeMs) => isPrunable(mtimeMs, now, days), fs, tally, warn);
    }
    if (tally.interrupted) break;
  }

  if (tally.unshown > 0) log(`warning: log pruning: ${tally.unshown} more warning(s) like the ones above not shown`);
  const failed = tally.failed > 0 ? `; ${tally.failed} could not be deleted (see the warnings above)` : "";
  const human = tally.bytes >= 1024 ? ` (${formatBytes(tally.bytes)})` : "";
  log(
    `pruned ${tally.deleted} log file(s) older than ${days} day${days === 1 ? "" : "s"} (modified before ${localTimestamp(new Date(pruneCutoffMs(now, days)))}): ` +
      `${tally.bytes} bytes${human} freed in ${formatDuration(performance.now() - started)}${failed}` +
      (tally.interrupted ? "; stopped early: cncopagent was interrupted" : ""),
  );
  return { deleted: tally.deleted, bytes: tally.bytes, failed: tally.failed, errors: tally.errors, interrupted: tally.interrupted };
}

interface Tally {
  deleted: number;
  bytes: number;
  failed: number;
}

/** The check and the delete, back to back: the window for a concurrent writer stays tiny. */
function pruneFile(path: string, expired: (mtimeMs: number) => boolean, fs: PruneFs, tally: Tally, warn: (t: string) => void): void {
  let st: PruneStat | undefined;
  try {
    st = fs.lstat(path);
  } catch (err) {
    warn(`cannot examine ${path}: ${errorMessage(err)}`);
    return;
  }
  // Gone, replaced by a link or a folder, or written since the listing: leave it.
  if (st === undefined || !st.isFile() || !expired(st.mtimeMs)) return;
  try {
    fs.unlink(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return; // deleted by someone else meanwhile
    tally.failed++;
    warn(`cannot delete ${path}: ${describeFailure(err)}`);
    return;
  }
  tally.deleted++;
  // A name with other hard links frees no space.
  if (st.nlink <= 1) tally.bytes += st.size;
}
