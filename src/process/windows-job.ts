/**
 * Windows job objects: a process tree that ends together.
 *
 * - `enterOwnJob()`: cncopagent puts itself into a kill-on-close job at start. Every child
 *   it starts, and theirs, inherit the job and cannot leave it (no breakaway is allowed), so
 *   when cncopagent ends, however it ends (Task Scheduler "End", a closed console, a crash),
 *   the system closes its last handle to the job and ends every process still in it.
 * - `jobForChild(pid)`: each agent and command gets a job of its own, nested in that one,
 *   right after it was started, so that its tree can be stopped without stopping
 *   cncopagent. The window: what the child starts before it is assigned (the first
 *   milliseconds of its life, before its own code runs) stays only in cncopagent's job, so
 *   it is still ended when cncopagent ends.
 */
import { assignToJob, closeJob, createKillOnCloseJob, type JobResult, terminateJob } from "./native-windows.ts";

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
