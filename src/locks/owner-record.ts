/**
 * Owner records behind a guard: the building blocks shared by the job lock
 * (src/locks/job-lock.ts) and the reporter's pass lock (src/reporter/pass-lock.ts).
 *
 * The guard is proper-lockfile's atomic mkdir, held for milliseconds while a record is
 * read and written; it names its holder and is stale exactly when that holder no longer
 * lives (guard.ts), never while it is only paused. Records are written
 * with writeFileAtomic, so a reader sees a whole record or none; an unreadable record is
 * reported with its age so the caller can wait out a writer mid-way.
 */
import { readFileSync, statSync, unlinkSync } from "node:fs";
import lockfile from "proper-lockfile";
import { CncopError, EXIT, errnoCode } from "../cli/errors.ts";
import { guardFs, selfHolder } from "./guard.ts";

/** The age after which a guard that names no holder we can check (an older version's) is stale. */
export const GUARD_STALE_MS = 5_000;
export const GUARD_WAIT_MS = 15_000;
/** How long an unreadable record counts as a writer mid-way before it is taken over. */
export const RECORD_GRACE_MS = 5_000;

/** Run `fn` holding the guard `<target>.guard`; waits up to `waitMs` (GUARD_WAIT_MS) for it. */
export function withGuard<T>(target: string, what: string, fn: () => T, waitMs = GUARD_WAIT_MS): T {
  const until = Date.now() + waitMs;
  for (;;) {
    let release: (() => void) | undefined;
    try {
      const fs = guardFs(selfHolder());
      release = lockfile.lockSync(target, { realpath: false, stale: GUARD_STALE_MS, lockfilePath: `${target}.guard`, onCompromised: () => {}, fs });
    } catch (err) {
      if (errnoCode(err) !== "ELOCKED" || Date.now() > until) {
        throw new CncopError(`cannot take ${what} ${target}.guard: ${(err as Error).message}`, EXIT.FAILED);
      }
      Bun.sleepSync(5 + Math.random() * 20);
      continue;
    }
    try {
      return fn();
    } finally {
      try {
        release();
      } catch {}
    }
  }
}

export type RecordRead<T> = { kind: "none" } | { kind: "owner"; owner: T } | { kind: "unreadable"; ageMs: number };

export function readOwnerRecord<T>(path: string, parse: (text: string) => T | undefined): RecordRead<T> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return { kind: "none" };
    throw err;
  }
  const owner = parse(text);
  if (owner) return { kind: "owner", owner };
  let ageMs = Infinity;
  try {
    ageMs = Date.now() - statSync(path).mtimeMs;
  } catch {}
  return { kind: "unreadable", ageMs };
}

/**
 * Release: remove the record at `path` under the guard, but only while it is still the
 * holder's own (same token). A failure leaves the record behind, which is harmless: no
 * process of it lives any more, so the next run takes it over.
 */
export function removeOwnRecord<T extends { readonly token: string }>(guard: string, what: string, path: string, parse: (text: string) => T | undefined, token: string): void {
  try {
    withGuard(guard, what, () => {
      const rec = readOwnerRecord(path, parse);
      if (rec.kind === "owner" && rec.owner.token === token) unlinkSync(path);
    });
  } catch {}
}
