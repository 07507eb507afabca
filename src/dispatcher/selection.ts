/**
 * Job selection and ordering (SPEC §5 "Selecting jobs"): named jobs in the order given,
 * each once; `--alljobs` every enabled job by title (PULL before PUSH on a Healthy
 * Server); `--type` every enabled job of a type.
 */
import type { Role } from "../install/config.ts";
import { usageError } from "../cli/errors.ts";
import type { Job } from "../install/jobs-db.ts";
import { isPushType } from "../install/job-types.ts";
import { suggest } from "../cli/suggest.ts";
import { compareJobIds, type JobId, parseJobId } from "../install/job-id.ts";

export type Selection =
  | { readonly kind: "named"; readonly names: readonly string[] }
  | { readonly kind: "all" }
  | { readonly kind: "type"; readonly types: readonly string[] };

export interface SelectionResult {
  readonly jobs: readonly Job[];
  /** Named jobs that match no job. */
  readonly unknown: readonly string[];
  /** For an unknown name, the title it is nearest to ("did you mean"). */
  readonly suggestions?: ReadonlyMap<string, string>;
  /** Jobs left out only because they are disabled (--alljobs, --type). */
  readonly disabled?: number;
}

/**
 * Exactly one of job names, --alljobs, --type; else a usage error. `--type` may be given
 * more than once (a string or the list of values).
 */
export function selectionFromArgs(names: readonly string[], all: boolean, type: string | readonly string[] | undefined): Selection {
  const types = type === undefined ? undefined : typeof type === "string" ? [type] : type;
  const given = [names.length > 0, all, types !== undefined && types.length > 0].filter(Boolean).length;
  if (given === 0) throw usageError("No jobs selected: name one or more jobs (id or title), or use --alljobs, or --type TYPE.");
  if (given > 1) throw usageError("Choose exactly one of: job names, --alljobs, --type TYPE.");
  if (all) return { kind: "all" };
  if (types !== undefined && types.length > 0) {
    if (types.some((t) => t.trim() === "")) throw usageError("--type needs a job type, e.g. --type RSYNC.");
    return { kind: "type", types: [...new Set(types.map((t) => t.trim().toUpperCase()))] };
  }
  return { kind: "named", names };
}

export function compareByTitle(a: Job, b: Job): number {
  const x = a.jobtitle.toLowerCase();
  const y = b.jobtitle.toLowerCase();
  if (x < y) return -1;
  if (x > y) return 1;
  return compareJobIds(a.jobid, b.jobid);
}

/** Sorted by title; with role REMOTE every PULL job before every PUSH (CCS) job. */
export function orderJobs(jobs: readonly Job[], role: Role): Job[] {
  const sorted = [...jobs].sort(compareByTitle);
  if (role !== "REMOTE") return sorted;
  return [...sorted.filter((j) => !isPushType(j.jobtype)), ...sorted.filter((j) => isPushType(j.jobtype))];
}

/** A job argument that is all digits is a jobid first, else a title (case-insensitive). */
export function findJob(jobs: readonly Job[], name: string): Job | undefined {
  const id = parseJobId(name);
  if (id !== undefined) {
    const byId = jobs.find((j) => j.jobid === id);
    if (byId) return byId;
  }
  const lower = name.toLowerCase();
  return jobs.find((j) => j.jobtitle.toLowerCase() === lower);
}

export function selectJobs(jobs: readonly Job[], selection: Selection, role: Role, knownTypes: readonly string[]): SelectionResult {
  switch (selection.kind) {
    case "all":
      return { jobs: orderJobs(jobs.filter((j) => j.enabled), role), unknown: [], disabled: jobs.filter((j) => !j.enabled).length };
    case "type": {
      const unknownTypes = selection.types.filter((t) => !knownTypes.includes(t));
      if (unknownTypes.length > 0) {
        const which = unknownTypes.map((t) => `"${t}"`).join(", ");
        throw usageError(`Unknown job type${unknownTypes.length > 1 ? "s" : ""} ${which}. Known types: ${knownTypes.join(", ")}.`);
      }
      // Every type named, ordered as for --alljobs (not type by type).
      const ofTypes = jobs.filter((j) => selection.types.includes(j.jobtype));
      return { jobs: orderJobs(ofTypes.filter((j) => j.enabled), role), unknown: [], disabled: ofTypes.filter((j) => !j.enabled).length };
    }
    case "named": {
      const out: Job[] = [];
      const seen = new Set<JobId>();
      const unknown: string[] = [];
      for (const name of selection.names) {
        const job = findJob(jobs, name);
        if (!job) unknown.push(name);
        else if (!seen.has(job.jobid)) {
          seen.add(job.jobid);
          out.push(job);
        }
      }
      const suggestions = new Map<string, string>();
      for (const name of unknown) {
        const near = suggest(name, jobs.map((j) => j.jobtitle));
        if (near !== undefined) suggestions.set(name, near);
      }
      return { jobs: out, unknown, suggestions };
    }
  }
}
