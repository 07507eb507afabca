/**
 * The local side of a mirror: where a remote file lands, its partial ("part") file, and
 * putting a finished copy in place. A part is named `.cncop-<12 hex>.part` after the
 * file's name; its own modification time is set to the server's time of the file when a
 * fetch stops, so a later run continues it only when the server still has that version.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, type Stats } from "node:fs";
import { setTimesNs } from "../cifs/file-times.ts";

export const PART_RE = /^\.cncop-[0-9a-f]{12}\.part$/;

export function partName(name: string): string {
  return `.cncop-${createHash("sha1").update(name).digest("hex").slice(0, 12)}.part`;
}

export function localStat(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false }) ?? undefined;
}

/** The names in a local folder, or none when it does not exist yet. */
export function localNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Make `dir` a folder, replacing a file or link of that name. */
export function ensureLocalDir(dir: string): void {
  const st = localStat(dir);
  if (st && !st.isDirectory()) rmSync(dir, { force: true });
  if (!st || !st.isDirectory()) mkdirSync(dir, { recursive: true });
}

export function setMtime(path: string, mtimeSec: number): void {
  const ns = BigInt(Math.max(0, Math.trunc(mtimeSec))) * 1_000_000_000n;
  setTimesNs(path, BigInt(Date.now()) * 1_000_000n, ns);
}

/** How many bytes of a part can be continued: its size when it holds the same version and is shorter. */
export function resumableBytes(part: string, size: number, mtimeSec: number | undefined): number {
  const st = localStat(part);
  if (!st || !st.isFile() || mtimeSec === undefined) return 0;
  if (Math.floor(st.mtimeMs / 1000) !== mtimeSec || st.size >= size) return 0;
  return st.size;
}

/** Put the finished part in place: its time set, then renamed over what was there. */
export function finishPart(part: string, dest: string, mtimeSec: number | undefined): void {
  if (mtimeSec !== undefined) setMtime(part, mtimeSec);
  const st = localStat(dest);
  if (st?.isDirectory()) rmSync(dest, { recursive: true, force: true });
  renameSync(part, dest);
}

/** Equal times: whole seconds, at most `windowSec` apart. */
export function sameMtime(localMs: number, remoteSec: number, windowSec: number): boolean {
  return Math.abs(Math.floor(localMs / 1000) - remoteSec) <= windowSec;
}
