/**
 * Windows job objects: a process tree that ends together.
 *
 * - `enterOwnJob()`: cncopagent puts itself into a kill-on-close job at start. Every child
 *   it starts, and theirs, inherit the job and cannot leave it (no breakaway is allowed), so
 *   when cncopagent ends, however it ends (Task Scheduler "End", a closed console, a crash),
 *   the system closes its last handle to the job and ends every process still in it. The
 *   one exception is deliberate: a cncopreporter let go at the end of a run
 *   (reporter/run-calls.ts) outlives cncopagent, because `releaseOwnJob()` clears the
 *   limit just before cncopagent ends, after every agent's tree was ended.
 * - `jobForChild(pid)`: each agent and command gets a job of its own, nested in that one,
 *   right after it was started, so that its tree can be stopped without stopping
 *   cncopagent. The window: what the child starts before it is assigned (the first
 *   milliseconds of its life, before its own code runs) stays only in cncopagent's job, so
 *   it is still ended when cncopagent ends.
 */
import { assignToJob, closeJob, createKillOnCloseJob, type JobResult, setKillOnClose, terminateJob } from "./native-windows.ts";

export interface WindowsJob {
  readonly handle: bigint;
  closed: boolean;
}

let ownJob: bigint | undefined;

/** Put this process into a kill-on-close job (once); undefined on success, else why not. */
export function enterOwnJob(platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform !== "win32") return "job objects exist only on Windows";
  if (ownJob !== undefined) return undefined;
  const job = createKillOnCloseJob();
  if ("error" in job) return job.error;
  const r = assignToJob(job.ok, undefined);
  if ("error" in r) {
    closeJob(job.ok);
    return r.error;
  }
  // Never closed: the handle lives exactly as long as this process.
  ownJob = job.ok;
  return undefined;
}

/** A kill-on-close job holding child `pid` (and what it starts from now on). */
export function jobForChild(pid: number): JobResult<WindowsJob> {
  const job = createKillOnCloseJob();
  if ("error" in job) return job;
  const r = assignToJob(job.ok, pid);
  if ("error" in r) {
    closeJob(job.ok);
    return r;
  }
  return { ok: { handle: job.ok, closed: false } };
}

export function terminateWindowsJob(job: WindowsJob, exitCode: number): JobResult<true> {
  if (job.closed) return { ok: true };
  return terminateJob(job.handle, exitCode);
}

/** Done with the child: whatever its tree left behind ends with the handle (kill on close). */
export function closeWindowsJob(job: WindowsJob): void {
  if (job.closed) return;
  job.closed = true;
  closeJob(job.handle);
}

/**
 * Let a child's tree outlive us: its job no longer ends it when our handle closes. Used for
 * a cncopreporter left to finish its pass (reporter/run-calls.ts), together with
 * releaseOwnJob().
 */
export function relinquishWindowsJob(job: WindowsJob, log?: (text: string) => void): void {
  if (job.closed) return;
  const r = setKillOnClose(job.handle, false);
  if ("error" in r) {
    log?.(`could not let a child outlive cncopagent: ${r.error}; it ends with cncopagent`);
    return;
  }
  closeWindowsJob(job);
}

/**
 * Right before cncopagent ends with a child it let go: its own job no longer ends what is
 * left in it. Every agent's tree was stopped before (each in a job of its own). Undefined
 * on success (or when there is no job), else why not.
 */
export function releaseOwnJob(platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform !== "win32" || ownJob === undefined) return undefined;
  const r = setKillOnClose(ownJob, false);
  return "error" in r ? r.error : undefined;
}
