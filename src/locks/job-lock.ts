/**
 * One run per jobid at a time, on this host, across all processes (SPEC §5 "Single
 * instance"). The owner record `job-<id>.json` names the dispatcher and every agent and
 * command it started (pid + start time, boot id, host, session, start). A lock is held
 * while any of those processes lives; a record of a dead run is taken over at once.
 *
 * Checking and writing the record happens under a short guard lock from proper-lockfile
 * (an atomic mkdir, stale after GUARD_STALE_MS if its holder died), so two requests can
 * never both decide that a lock is free. The record is written to a temporary name and
 * renamed, so it is never seen half-written; an unreadable record is treated as held
 * while it is young (its writer may be mid-way) and as stale after RECORD_GRACE_MS.
 *
 * A child runs before its pid can be recorded. So the record says "spawning since <t>"
 * before each spawn and drops it once the pid is in: a dispatcher that died in between
 * leaves the marker, and then (Linux) any process of the session started since <t> holds
 * the lock.
 *
 * A run whose dispatcher was killed never wrote its finish report. The run that takes its
 * lock over inherits it (`killedRuns` in the new record, under the guard, so exactly one
 * run does), writes the killed run's JF- and history entry, then calls
 * `settleKilledRuns()`. Should that run be killed too before it has, the next one inherits
 * both. The record keeps the attempts as they start and end, for that report.
 */
import { mkdirSync, unlinkSync } from "node:fs";
import os from "node:os";
import { CncopError, EXIT } from "../cli/errors.ts";
import { jobLockFiles, type LockFiles } from "../install/paths.ts";
import { writeFileAtomic } from "../install/atomic-write.ts";
import { type JobId, type JobIdLike, parseJsonWithJobIds, stringifyJson } from "../install/job-id.ts";
import { RECORD_GRACE_MS, readOwnerRecord, removeOwnRecord, withGuard } from "./owner-record.ts";
import { bootId, bootTicksNow, identify, isAlive, type ProcessId, sessionProcessAlive } from "../process/proc-info.ts";

export interface LockOwner {
  readonly version: 1;
  readonly jobid: JobId;
  readonly jobtitle: string;
  readonly session: string;
  readonly hostname: string;
  readonly bootId: string;
  readonly started: string;
  readonly dispatcher: ProcessId;
  readonly processes: ProcessId[];
  readonly token: string;
  /** Set while a child is being started and its pid is not recorded yet: boot ticks (Linux) or null. */
  spawningSince?: string | null;
  readonly jobtype?: string;
  /** The run's CA log, for the history entry of a killed run. */
  readonly caLog?: string;
  /** Attempts so far: ended ones, and the one running (finished null). */
  attempts?: LockAttempt[];
  /** Runs killed before their finish report was written, inherited with the lock. */
  killedRuns?: LockOwner[];
}

export interface LockAttempt {
  readonly started: string;
  readonly finished: string | null;
  readonly exitcode: number | null;
  readonly signal: string | null;
}

export interface HeldLock {
  readonly owner: LockOwner;
  /** Call right before starting a child; then addProcess(pid), or spawnFailed(). */
  beforeSpawn(): void;
  addProcess(pid: number): void;
  spawnFailed(): void;
  /**
   * The attempts so far (an attempt that is running has finished null), kept in the
   * record: written now with `persist`, else with the record's next write (the next
   * child's start), so a job pays no extra flushed write for it.
   */
  noteAttempts(attempts: readonly LockAttempt[], persist?: boolean): void;
  /** Killed runs whose finish report this run owes (see the header). */
  readonly killedRuns: readonly LockOwner[];
  /** Their reports are written: drop them from the record. */
  settleKilledRuns(): void;
  release(): void;
}

export type LockResult = { held: HeldLock } | { busy: LockOwner | undefined };

export function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = parseJsonWithJobIds(text) as LockOwner;
    if (o && o.version === 1 && typeof o.token === "string" && typeof o.dispatcher?.pid === "number" && Array.isArray(o.processes)) return o;
  } catch {}
  return undefined;
}

export interface Liveness {
  /** Is this recorded process (or its group, for members of the session) alive? */
  alive(p: ProcessId, session: string): boolean;
  /** Does a process of the session live that started at or after `since`? */
  spawnedSince(session: string, since: string | null): boolean;
}

export const systemLiveness: Liveness = {
  alive: (p, session) => isAlive(p, process.platform, session),
  spawnedSince: (session, since) => sessionProcessAlive(session, since),
};

/**
 * The recorded processes of the owner's run that still live. The checking process itself
 * is never one of them: a record naming our pid was written by an earlier process that
 * had it (we hold no lock we are asking about).
 */
export function liveProcesses(owner: LockOwner, liveness: Liveness = systemLiveness, self = process.pid): ProcessId[] {
  return [owner.dispatcher, ...owner.processes].filter((p) => p.pid !== self && liveness.alive(p, owner.session));
}

/** The tokens of the job locks this process holds now. */
const heldHere = new Set<string>();

/** Does any process of the owner's run still live on this host and boot? */
export function ownerAlive(owner: LockOwner, host = os.hostname(), boot = bootId(), liveness: Liveness = systemLiveness, self = process.pid): boolean {
  if (heldHere.has(owner.token)) return true;
  if (owner.hostname !== host || owner.bootId !== boot) return false;
  if (liveProcesses(owner, liveness, self).length > 0) return true;
  // The dispatcher died while starting a child it had not recorded yet.
  return owner.spawningSince !== undefined && liveness.spawnedSince(owner.session, owner.spawningSince);
}

const LOCK_GUARD = "the lock guard";

function guarded<T>(files: LockFiles, fn: () => T): T {
  return withGuard(files.guard, LOCK_GUARD, fn);
}

const readRecord = (path: string) => readOwnerRecord(path, parseOwner);

export interface AcquireOptions {
  /** The folder of lock records, `Paths.locks`. */
  readonly lockDir: string;
  readonly jobid: JobIdLike;
  readonly jobtitle: string;
  readonly session: string;
  readonly jobtype?: string;
  readonly caLog?: string;
  readonly log?: (text: string) => void;
}

/** Throws a CncopError (exit 1) when the lock folder or record cannot be used. */
export function acquireJobLock(opts: AcquireOptions): LockResult {
  try {
    mkdirSync(opts.lockDir, { recursive: true });
    return acquireIn(jobLockFiles(opts.lockDir, opts.jobid), opts);
  } catch (err) {
    if (err instanceof CncopError) throw err;
    throw new CncopError(`cannot use the lock of job ${opts.jobid} in ${opts.lockDir}: ${(err as Error).message}; check that this folder can be written`, EXIT.FAILED);
  }
}

function acquireIn(files: LockFiles, opts: AcquireOptions): LockResult {
  const log = opts.log ?? (() => {});
  return guarded(files, () => {
    const rec = readRecord(files.record);
    let killedRuns: LockOwner[] = [];
    if (rec.kind === "owner") {
      if (ownerAlive(rec.owner)) return { busy: rec.owner };
      // Its own inherited runs first, then itself: each owes a finish report.
      const { killedRuns: older = [], ...dead } = rec.owner;
      killedRuns = [...older, dead];
      log(`lock of job ${opts.jobid}: the run of session ${rec.owner.session} (dispatcher pid ${rec.owner.dispatcher.pid}) has no live process left; taking the lock over`);
    } else if (rec.kind === "unreadable") {
      if (rec.ageMs < RECORD_GRACE_MS) return { busy: undefined };
      log(`lock of job ${opts.jobid}: unreadable lock record ${files.record}; taking the lock over`);
    }
    const owner: LockOwner = {
      version: 1,
      jobid: BigInt(opts.jobid),
      jobtitle: opts.jobtitle,
      session: opts.session,
      hostname: os.hostname(),
      bootId: bootId(),
      started: new Date().toISOString(),
      dispatcher: identify(process.pid) ?? { pid: process.pid, start: null },
      processes: [],
      token: crypto.randomUUID(),
      ...(opts.jobtype !== undefined ? { jobtype: opts.jobtype } : {}),
      ...(opts.caLog !== undefined ? { caLog: opts.caLog } : {}),
      ...(killedRuns.length > 0 ? { killedRuns } : {}),
    };
    writeFileAtomic(files.record, stringifyJson(owner));
    heldHere.add(owner.token);
    return { held: makeHeld(files, owner, log) };
  });
}

function makeHeld(files: LockFiles, owner: LockOwner, log: (text: string) => void): HeldLock {
  let released = false;
  let spawning = 0;
  let saveFailed = false;
  // Only the owner writes its record while it lives, so no guard is needed here. A failed
  // update (full disk) leaves the previous record whole, which still holds the lock; it
  // is said once, and the next update tries again.
  const save = () => {
    try {
      writeFileAtomic(files.record, stringifyJson(owner));
      if (saveFailed) log(`lock of job ${owner.jobid}: the lock record ${files.record} is up to date again`);
      saveFailed = false;
    } catch (err) {
      if (!saveFailed) {
        log(
          `lock of job ${owner.jobid}: cannot update the lock record: ${(err as Error).message}; the record written before is kept (it holds the lock, but does not list the processes started since: should this run be killed, a second run could start while they live)`,
        );
      }
      saveFailed = true;
    }
  };
  const spawnEnded = () => {
    spawning = Math.max(0, spawning - 1);
    if (spawning === 0) delete owner.spawningSince;
  };
  return {
    owner,
    beforeSpawn() {
      if (released) return;
      if (spawning++ === 0) {
        owner.spawningSince = bootTicksNow();
        save();
      }
    },
    addProcess(pid: number) {
      if (released) return;
      // A child that already ended may have left members in its group: it is recorded
      // with an unknown start time, which counts only processes of this session.
      owner.processes.push(identify(pid, true) ?? { pid, start: null, group: true });
      spawnEnded();
      save();
    },
    spawnFailed() {
      if (released) return;
      spawnEnded();
      save();
    },
    noteAttempts(attempts, persist = true) {
      if (released) return;
      owner.attempts = attempts.map((a) => ({ started: a.started, finished: a.finished, exitcode: a.exitcode, signal: a.signal }));
      if (persist) save();
    },
    get killedRuns() {
      return owner.killedRuns ?? [];
    },
    settleKilledRuns() {
      if (released || owner.killedRuns === undefined) return;
      delete owner.killedRuns;
      save();
    },
    release() {
      if (released) return;
      released = true;
      removeOwnRecord(files.guard, LOCK_GUARD, files.record, parseOwner, owner.token);
      heldHere.delete(owner.token);
    },
  };
}

/** `cncopagent --unlock JOB`: remove a lock record, refusing while any of its processes lives. */
export function forceUnlock(lockDir: string, jobid: JobIdLike): { removed: boolean; owner: LockOwner | undefined } {
  const files = jobLockFiles(lockDir, jobid);
  // On a tree where no job has run yet the folder is missing: the job is simply not locked.
  mkdirSync(lockDir, { recursive: true });
  return guarded(files, () => {
    const rec = readRecord(files.record);
    if (rec.kind === "none") return { removed: false, owner: undefined };
    if (rec.kind === "owner" && ownerAlive(rec.owner)) {
      const pids = liveProcesses(rec.owner).map((p) => p.pid);
      const which = pids.length > 0 ? `live process ids ${pids.join(", ")}` : `processes of session ${rec.owner.session} are still starting or running`;
      throw new CncopError(
        `job ${jobid} is running as session ${rec.owner.session} (${which}); stop those processes first, the lock is then released by itself.`,
        EXIT.FAILED,
      );
    }
    unlinkSync(files.record);
    return { removed: true, owner: rec.kind === "owner" ? rec.owner : undefined };
  });
}
