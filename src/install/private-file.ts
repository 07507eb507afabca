/**
 * Files that can hold secrets (SPEC §4: the job database and its -wal/-shm files,
 * Spool/history.db, exports, the RP log and the agents' logs, which name URLs) are
 * created readable by their owner only: mode 0600 on POSIX (on Windows they inherit the
 * install folder's ACL). A file that exists keeps the mode its administrator gave it.
 *
 * SQLite creates a database's -wal and -shm files with the mode of the database file, so
 * creating the database file 0600 first makes all three 0600.
 */
import { closeSync, constants, openSync } from "node:fs";

export const PRIVATE_FILE_MODE = 0o600;

/** Create `path` empty with mode 0600 unless it exists; an existing file is left as it is. */
export function ensurePrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return;
    throw err;
  }
  closeSync(fd);
}
