/**
 * Replacing a file whole or not at all: the data goes to a temporary name beside it, is
 * flushed to disk, renamed over the file, and the folder is flushed too (POSIX), so a
 * crash or power loss at any instant leaves the old file or the new one, never a part.
 * Report files and the lock owner records are written this way.
 */
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import nodePath from "node:path";

export interface AtomicWriteOptions {
  /** The temporary name, in the same folder; by default a hidden, unique one. */
  readonly tempPath?: string;
  /** Permissions of a new file. */
  readonly mode?: number;
}

/**
 * An error of one step of writeFileAtomic: its message names the operation and the path
 * (`write /x/.job-1.json.….tmp (for /x/job-1.json): ENOSPC: no space left on device`); its
 * `code` is the system's (ENOSPC, EROFS, ...).
 */
export class FileWriteError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly op: string,
    readonly path: string,
    cause: unknown,
    text: string,
  ) {
    super(`${text}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = "FileWriteError";
    this.code = (cause as NodeJS.ErrnoException)?.code;
  }
}

/**
 * Throws a FileWriteError on failure (full disk, unwritable folder) after removing the
 * temporary file; a temporary file a killed writer leaves is removed by removeStaleTemps.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const tmp = opts.tempPath ?? nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${process.pid}.${crypto.randomUUID()}.tmp`);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let fd: number | undefined;
  let op = "open";
  let created = false;
  try {
    fd = openSync(tmp, "wx", opts.mode ?? 0o644);
    created = true;
    op = "write";
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    op = "fsync";
    fsyncSync(fd);
    op = "close";
    closeSync(fd);
    fd = undefined;
    op = "rename";
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {}
    }
    // Only a file this call created: a name that was taken (EEXIST) is someone else's.
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {}
    }
    throw new FileWriteError(op, path, err, op === "rename" ? `rename ${tmp} to ${path}` : `${op} ${tmp} (for ${path})`);
  }
  fsyncDir(nodePath.dirname(path));
}

/** `.<name>.<pid>.<uuid>.tmp`: writeFileAtomic's own temporary names. */
const TEMP_RE = /^\..+\.(\d+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;
/** A temporary file this old is a leftover even when its pid lives (a reused pid). */
export const TEMP_MAX_AGE_MS = 10 * 60 * 1000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove the temporary files of interrupted writeFileAtomic calls in `dir` (a writer
 * killed between open and rename, or whose clean-up failed): those whose writer's pid no
 * longer lives, or older than TEMP_MAX_AGE_MS. Returns the names removed; never throws.
 */
export function removeStaleTemps(dir: string, now = Date.now(), alive: (pid: number) => boolean = pidAlive): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const path = nodePath.join(dir, name);
    try {
      const st = lstatSync(path);
      if (!st.isFile()) continue;
      const pid = Number(m[1]);
      const writerLives = pid === process.pid || alive(pid);
      if (writerLives && now - st.mtimeMs < TEMP_MAX_AGE_MS) continue;
      unlinkSync(path);
      removed.push(name);
    } catch {
      // Vanished, or not ours to delete.
    }
  }
  return removed;
}

/** Fsync a folder so a rename in it survives power loss (no-op where unsupported). */
function fsyncDir(dir: string): void {
  if (process.platform === "win32") return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on folders; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
