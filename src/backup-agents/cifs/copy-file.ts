/**
 * Copying one file so that an interrupted run never leaves a half-written file in place
 * of a good one: the content goes to a temporary name in the destination folder
 * (`.cncop-<12 hex>.tmp`), gets the source's times, and is renamed over the old copy
 * only when it is complete and the source did not change while it was read.
 *
 * The copy itself is fs.copyFileSync (copy_file_range / CopyFileW: in the kernel, bounded
 * memory, as fast as `cp`), or, with a bandwidth limit, a loop over a 256 KiB buffer.
 * "Changed while read" means the source's size, modification time or file id after the
 * copy differ from what the walk saw just before it.
 */
import { chmodSync, closeSync, constants, copyFileSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { classifyFsError, type FsErrorKind, shortFsMessage } from "./fs-errors.ts";
import { sameTime, setTimesNs } from "./file-times.ts";
import { childPath } from "./locations.ts";

export const TEMP_RE = /^\.cncop-[0-9a-f]{12}\.tmp$/;
const CHUNK_BYTES = 256 * 1024;

export function tempName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `.cncop-${Buffer.from(bytes).toString("hex")}.tmp`;
}

/** The source file as the walk saw it (plain fs stats). */
export interface SourceFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly mode: number;
}

export type CopyResult =
  | { readonly ok: true; readonly bytes: number }
  | { readonly ok: false; readonly side: "source" | "destination"; readonly kind: FsErrorKind | "changed" | "interrupted"; readonly code: string; readonly message: string };

export interface CopyOptions {
  /** Bytes per second; 0 or undefined: no limit. */
  readonly bytesPerSec?: number;
  readonly abort?: AbortSignal;
}

class Interrupted extends Error {}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}

/** Which side an error of a path-to-path copy came from: probe the source. */
function attribute(err: unknown, src: string): CopyResult {
  try {
    closeSync(openSync(src, "r"));
  } catch (probe) {
    const c = classifyFsError(probe);
    return { ok: false, side: "source", kind: c.kind, code: c.code, message: shortFsMessage(probe) };
  }
  const c = classifyFsError(err);
  return { ok: false, side: "destination", kind: c.kind === "vanished" ? "failed" : c.kind, code: c.code, message: shortFsMessage(err) };
}

async function copyThrottled(src: SourceFile, tmp: string, bytesPerSec: number, abort: AbortSignal | undefined): Promise<void> {
  let inFd: number | undefined;
  let outFd: number | undefined;
  try {
    try {
      inFd = openSync(src.path, "r");
    } catch (err) {
      throw Object.assign(err as Error, { side: "source" });
    }
    outFd = openSync(tmp, "wx", src.mode & 0o777);
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const t0 = Date.now();
    let done = 0;
    for (;;) {
      if (abort?.aborted) throw new Interrupted();
      let n: number;
      try {
        n = readSync(inFd, buf, 0, buf.length, null);
      } catch (err) {
        throw Object.assign(err as Error, { side: "source" });
      }
      if (n === 0) break;
      let off = 0;
      while (off < n) off += writeSync(outFd, buf, off, n - off);
      done += n;
      const due = t0 + (done / bytesPerSec) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 1000)));
    }
  } finally {
    if (inFd !== undefined) closeSync(inFd);
    if (outFd !== undefined) closeSync(outFd);
  }
  chmodSync(tmp, src.mode & 0o7777);
}

/** Copy `src` to `destPath` (in `destDir`) through a temporary file. Never throws. */
export async function copyFileAtomic(src: SourceFile, destDir: string, destPath: string, platform: NodeJS.Platform, opts: CopyOptions = {}): Promise<CopyResult> {
  const tmp = childPath(destDir, tempName(), platform);
  const fail = (side: "source" | "destination", err: unknown): CopyResult => {
    removeQuietly(tmp);
    const c = classifyFsError(err);
    return { ok: false, side, kind: side === "destination" && c.kind === "vanished" ? "failed" : c.kind, code: c.code, message: shortFsMessage(err) };
  };
  try {
    if (opts.bytesPerSec && opts.bytesPerSec > 0) {
      await copyThrottled(src, tmp, opts.bytesPerSec, opts.abort);
    } else {
      copyFileSync(src.path, tmp, constants.COPYFILE_EXCL);
    }
  } catch (err) {
    removeQuietly(tmp);
    if (err instanceof Interrupted) return { ok: false, side: "source", kind: "interrupted", code: "EINTR", message: "interrupted" };
    if ((err as { side?: string }).side === "source") return fail("source", err);
    if (opts.bytesPerSec) return fail("destination", err);
    return attribute(err, src.path);
  }
  let after;
  try {
    after = statSync(src.path, { bigint: true });
  } catch (err) {
    return fail("source", err);
  }
  const size = Number(after.size);
  const ino = Number(after.ino);
  if (size !== src.size || ino !== src.ino || !sameTime(Number(after.mtimeNs) / 1e6, src.mtimeMs, 0)) {
    removeQuietly(tmp);
    const what = size !== src.size ? `its size went from ${src.size} to ${size} bytes` : ino !== src.ino ? "it was replaced by another file" : "its modification time changed";
    return { ok: false, side: "source", kind: "changed", code: "CHANGED", message: `changed while being read (${what})` };
  }
  try {
    // The times to the nanosecond, from the stat that proved the source unchanged.
    setTimesNs(tmp, after.atimeNs, after.mtimeNs);
    renameSync(tmp, destPath);
  } catch (err) {
    return fail("destination", err);
  }
  return { ok: true, bytes: src.size };
}
