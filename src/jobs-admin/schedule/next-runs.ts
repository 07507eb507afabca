/**
 * When each job runs next: the earliest next start of the entries of this install that
 * select it (-a and -t select enabled jobs, as cncopagent does; named jobs run even when
 * disabled). Read back from what the scheduler holds, so it is what will really happen.
 */
import type { Job } from "../../install/jobs-db.ts";
import { openScheduler } from "./commands.ts";
import { nextRun, type ScheduleEntry } from "./entry.ts";

export function selects(entry: ScheduleEntry, job: Job): boolean {
  const s = entry.selection;
  if (s.kind === "all") return job.enabled;
  if (s.kind === "type") return job.enabled && job.jobtype.toUpperCase() === s.type;
  return s.jobs.includes(String(job.jobid));
}

export interface JobNextRun {
  readonly at: Date;
  readonly schedule: string;
}

/** jobid → its next run, for the entries whose config is `configFile`. */
export function jobNextRuns(entries: readonly ScheduleEntry[], jobs: readonly Job[], configFile: string, now: Date): Map<bigint, JobNextRun> {
  const mine = entries.filter((e) => e.config === configFile);
  const out = new Map<bigint, JobNextRun>();
  for (const job of jobs) {
    for (const e of mine) {
      if (!selects(e, job)) continue;
      const at = nextRun(e, now);
      const best = out.get(job.jobid);
      if (at && (!best || at < best.at)) out.set(job.jobid, { at, schedule: e.name });
    }
  }
  return out;
}

/**
 * The next run of each job from the entries the scheduler holds now; a scheduler that
 * cannot be read (no permission, a broken file) gives none, with a note through `warn`.
 */
export function readNextRuns(configFile: string, jobs: readonly Job[], now: Date, warn: (text: string) => void, platform?: NodeJS.Platform): Map<bigint, JobNextRun> {
  try {
    return jobNextRuns(openScheduler(platform).list().map((i) => i.entry), jobs, configFile, now);
  } catch (err) {
    // Not allowed to read it (Task Scheduler's files are for administrators): nothing to say on every listing.
    if (!/\b(EACCES|EPERM)\b/.test((err as Error).message)) warn(`cannot read the schedule: ${(err as Error).message}`);
    return new Map();
  }
}
