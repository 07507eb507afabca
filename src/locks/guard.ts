/**
 * The guard around reading and writing an owner record: proper-lockfile's atomic mkdir,
 * made so that it can never go stale while its holder lives.
 *
 * proper-lockfile decides staleness by the lock's mtime alone, and its synchronous API does
 * not refresh it; a holder paused inside the guard for longer than the stale age (a VM
 * paused, swapping, SIGSTOP, a slow disk) would let a second process in. So the guard is
 * given a file system of its own (proper-lockfile's `fs` option):
 *
 * - `mkdir` creates the guard folder with `holder.json` inside (pid, start time, boot id,
 *   host, token) under a temporary name and renames it into place, so a guard is never
 *   seen without its holder;
 * - `stat` reports the guard fresh while its holder lives (pid and start time, same boot),
 *   and stale at once when it does not: a guard left by a killed holder is taken over
 *   without waiting. Only a guard without a readable holder (from an older version) or from
 *   another host falls back to its mtime (stale after GUARD_STALE_MS);
 * - `rmdir` renames the guard away before removing it, and gives back (and reports as still
 *   held) one whose holder turns out to be alive: two takers that both found a dead holder
 *   cannot remove each other's fresh guard unnoticed.
 * - what a holder killed between those steps leaves beside the guard (`<guard>.<token>.new`,
 *   `<guard>.<uuid>.gone`) is removed by the next `mkdir` once its holder is dead, or, when
 *   it names none, once it is LEFTOVER_AGE_MS old.
 */
import * as fs from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { bootId, identify, isAlive } from "../process/proc-info.ts";

const HOLDER = "holder.json";

/** A `.new` or `.gone` folder naming no holder is someone's step in flight until it is this old. */
export const LEFTOVER_AGE_MS = 10 * 60_000;

export interface GuardHolder {
  readonly pid: number;
  readonly start: string | null;
  readonly bootId: string;
  readonly hostname: string;
  readonly token: string;
}

export function parseHolder(text: string): GuardHolder | undefined {
  try {
    const h = JSON.parse(text) as GuardHolder;
    if (h && typeof h.pid === "number" && typeof h.token === "string" && typeof h.bootId === "string" && typeof h.hostname === "string") return h;
  } catch {}
  return undefined;
}

export function readHolder(dir: string): GuardHolder | undefined {
  try {
    return parseHolder(fs.readFileSync(nodePath.join(dir, HOLDER), "utf8"));
  } catch {
    return undefined;
  }
}

let self: Omit<GuardHolder, "token"> | undefined;

/** This process as a guard holder, with a token of its own for each hold. */
export function selfHolder(): GuardHolder {
  self ??= { pid: process.pid, start: identify(process.pid)?.start ?? null, bootId: bootId(), hostname: os.hostname() };
  return { ...self, token: crypto.randomUUID() };
}

export type HolderState = "alive" | "dead" | "unknown";

/**
 * Is the holder alive? "unknown" when it cannot be told (another host, no start time):
 * then only the guard's age counts. Our own pid with another token is a process that had
 * our pid before us.
 */
export function holderState(h: GuardHolder, mine: GuardHolder, alive: (p: { pid: number; start: string | null }) => boolean = (p) => isAlive(p)): HolderState {
  if (h.token === mine.token) return "alive";
  if (h.hostname !== mine.hostname) return "unknown";
  if (h.bootId !== mine.bootId) return "dead";
  if (h.pid === mine.pid) return "dead";
  if (h.start === null) return alive({ pid: h.pid, start: null }) ? "unknown" : "dead";
  return alive({ pid: h.pid, start: h.start }) ? "alive" : "dead";
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** Removes the `.new` and `.gone` folders that killed holders left beside the guard `dir` (see above). */
export function sweepLeftovers(dir: string, mine: GuardHolder, alive?: (p: { pid: number; start: string | null }) => boolean, nowMs: number = Date.now()): void {
  const parent = nodePath.dirname(dir);
  const prefix = `${nodePath.basename(dir)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !(name.endsWith(".new") || name.endsWith(".gone"))) continue;
    const path = nodePath.join(parent, name);
    try {
      const h = readHolder(path);
      const state = h ? holderState(h, mine, alive) : "unknown";
      if (state === "alive" || (state === "unknown" && nowMs - fs.statSync(path).mtimeMs < LEFTOVER_AGE_MS)) continue;
      fs.rmSync(path, { recursive: true, force: true });
    } catch {} // gone meanwhile, or not ours to remove: the next hold tries again
  }
}

/** The file system proper-lockfile uses for one hold of a guard by `mine`. */
export function guardFs(mine: GuardHolder, alive?: (p: { pid: number; start: string | null }) => boolean): typeof fs {
  const mkdirSync = (path: fs.PathLike) => {
    const dir = String(path);
    // rename() would replace an empty folder (an older version's guard): never take that.
    if (fs.existsSync(dir)) throw errnoError("EEXIST", `${dir} exists`);
    sweepLeftovers(dir, mine, alive);
    const tmp = `${dir}.${mine.token}.new`;
    fs.mkdirSync(tmp);
    try {
      fs.writeFileSync(nodePath.join(tmp, HOLDER), JSON.stringify(mine));
      fs.renameSync(tmp, dir);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      // Another holder's guard was there when we renamed (it may be gone again by now:
      // proper-lockfile then simply tries again). Windows says EPERM or EACCES for it.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST" || code === "EPERM" || code === "EACCES" || code === "EBUSY" || fs.existsSync(dir)) throw errnoError("EEXIST", `${dir} exists`);
      throw err;
    }
  };
  const statSync = (path: fs.PathLike) => {
    const st = fs.statSync(path);
    const h = readHolder(String(path));
    const state = h ? holderState(h, mine, alive) : "unknown";
    if (state === "unknown") return st;
    const mtime = state === "alive" ? new Date() : new Date(0);
    return { mtime, mtimeMs: mtime.getTime(), isDirectory: () => true } as unknown as fs.Stats;
  };
  const rmdirSync = (path: fs.PathLike) => {
    const dir = String(path);
    const tomb = `${dir}.${crypto.randomUUID()}.gone`;
    try {
      fs.renameSync(dir, tomb);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    const h = readHolder(tomb);
    if (h && h.token !== mine.token && holderState(h, mine, alive) === "alive") {
      // A live holder's guard, made after the one we found dead was removed: give it back.
      try {
        fs.renameSync(tomb, dir);
      } catch {}
      throw errnoError("ELOCKED", `${dir} is held by pid ${h.pid}`);
    }
    fs.rmSync(tomb, { recursive: true, force: true });
  };
  return { ...fs, mkdirSync, statSync, rmdirSync } as typeof fs;
}
