/**
 * One reporter pass at a time on a spool (SPEC §6: two reporters never send a report
 * twice). The holder's record `Spool/Work/locks/reporter.json` names its process (pid and
 * start time, host, boot); while that process lives the lock is held, and a record of a
 * dead process (or of a reused pid, ours included) is taken over at once, so a reporter killed mid-pass strands nothing.
 * Checking and writing the record happens under a short proper-lockfile guard, so two
 * reporters can never both find the lock free. A reporter that finds it held does not
 * wait: it leaves a "wanted" marker and exits; the holder passes again when it sees the
 * marker after releasing (a report written meanwhile is not left for the next run).
 */
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import type { ReporterLockFiles } from "../install/paths.ts";
import { writeFileAtomic } from "../install/atomic-write.ts";
import { RECORD_GRACE_MS, readOwnerRecord, removeOwnRecord, withGuard } from "../locks/owner-record.ts";
import { bootId, identify, isAlive, type ProcessId } from "../process/proc-info.ts";

export interface ReporterOwner {
  readonly version: 1;
  readonly process: ProcessId;
  readonly hostname: string;
  readonly bootId: string;
  readonly started: string;
  readonly token: string;
}

export interface HeldPass {
  readonly owner: ReporterOwner;
  release(): void;
}

export type PassLock = { held: HeldPass } | { busy: ReporterOwner | undefined };

export function parseReporterOwner(text: string): ReporterOwner | undefined {
  try {
    const o = JSON.parse(text) as ReporterOwner;
    if (o && o.version === 1 && typeof o.token === "string" && typeof o.process?.pid === "number") return o;
  } catch {}
  return undefined;
}

/**
 * Is the recorded reporter still running here? By pid and start time on every OS; never
 * this process (a record naming our pid was left by an earlier process that had it).
 */
export function reporterAlive(o: ReporterOwner, host = os.hostname(), boot = bootId(), alive: (p: ProcessId) => boolean = (p) => isAlive(p), self = process.pid): boolean {
  if (heldHere.has(o.token)) return true;
  return o.hostname === host && o.bootId === boot && o.process.pid !== self && alive(o.process);
}

const PASS_GUARD = "the reporter's lock guard";
/** The tokens of the pass locks this process holds now. */
const heldHere = new Set<string>();

function guarded<T>(files: ReporterLockFiles, fn: () => T): T {
  return withGuard(files.guard, PASS_GUARD, fn);
}

const readCurrent = (path: string) => readOwnerRecord(path, parseReporterOwner);

/** Ask for a pass: whoever holds the lock (or takes it next) will see the marker. */
export function requestPass(files: ReporterLockFiles): void {
  mkdirSync(nodePath.dirname(files.record), { recursive: true });
  writeFileSync(files.wanted, `${process.pid}\n`);
}

export function passWanted(files: ReporterLockFiles): boolean {
  return existsSync(files.wanted);
}

/** Take the lock without waiting; on success the "wanted" marker is consumed. */
export function acquirePassLock(files: ReporterLockFiles, log: (text: string) => void = () => {}): PassLock {
  mkdirSync(nodePath.dirname(files.record), { recursive: true });
  return guarded(files, () => {
    const cur = readCurrent(files.record);
    if (cur.kind === "owner") {
      if (reporterAlive(cur.owner)) return { busy: cur.owner };
      log(`the reporter lock of pid ${cur.owner.process.pid} (since ${cur.owner.started}) is left from a process that has ended; taking it over`);
    } else if (cur.kind === "unreadable") {
      if (cur.ageMs < RECORD_GRACE_MS) return { busy: undefined };
      log(`unreadable reporter lock record ${files.record}; taking it over`);
    }
    const owner: ReporterOwner = {
      version: 1,
      // Our own process always has a start time where the platform gives one.
      process: identify(process.pid) ?? { pid: process.pid, start: null },
      hostname: os.hostname(),
      bootId: bootId(),
      started: new Date().toISOString(),
      token: crypto.randomUUID(),
    };
    writeFileAtomic(files.record, JSON.stringify(owner));
    try {
      unlinkSync(files.wanted);
    } catch {}
    heldHere.add(owner.token);
    return { held: makeHeld(files, owner) };
  });
}

function makeHeld(files: ReporterLockFiles, owner: ReporterOwner): HeldPass {
  let released = false;
  return {
    owner,
    release() {
      if (released) return;
      released = true;
      removeOwnRecord(files.guard, PASS_GUARD, files.record, parseReporterOwner, owner.token);
      heldHere.delete(owner.token);
    },
  };
}
