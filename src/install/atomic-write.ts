/**
 * Replacing a file whole or not at all: the data goes to a temporary name beside it, is
 * flushed to disk, renamed over the file, and the folder is flushed too (POSIX), so a
 * crash or power loss at any instant leaves the old file or the new one, never a part.
 * Report files and the lock owner records are written this way.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import nodePath from "node:path";

export interface AtomicWriteOptions {
  /** The temporary name, in the same folder; by default a hidden, unique one. */
  readonly tempPath?: string;
  /** Permissions of a new file. */
  readonly mode?: number;
}

/** Throws on failure (full disk, unwritable folder) after removing the temporary file. */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const tmp = opts.tempPath ?? nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${process.pid}.${crypto.randomUUID()}.tmp`);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", opts.mode ?? 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {}
    }
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
  fsyncDir(nodePath.dirname(path));
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
