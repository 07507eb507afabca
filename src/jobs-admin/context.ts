/** What every cncopjobs command receives: the tree, the config, and where output goes. */
import type { Database } from "bun:sqlite";
import os from "node:os";
import { findJob } from "../dispatcher/selection.ts";
import type { Config } from "../install/config.ts";
import { usageError } from "../cli/errors.ts";
import { didYouMean } from "../cli/suggest.ts";
import { knownJobTypes } from "../install/job-types.ts";
import { readJobs, type Job } from "../install/jobs-db.ts";
import type { Paths } from "../install/paths.ts";
import { stringifyJson } from "../install/job-id.ts";
import type { FieldContext } from "./fields.ts";
import { openJobsDbForRead } from "./store.ts";

export interface AdminContext {
  readonly paths: Paths;
  readonly config: Config;
  /** Machine output (tables, JSON). */
  readonly stdout: (text: string) => void;
  /** Human messages. */
  readonly stderr: (text: string) => void;
  readonly hostname?: string;
  readonly now?: () => Date;
  readonly platform?: NodeJS.Platform;
  readonly readStdin?: () => Promise<string>;
}

export function hostnameOf(ctx: AdminContext): string {
  return ctx.hostname ?? os.hostname();
}

export function fieldContext(ctx: AdminContext): FieldContext {
  return { bin: ctx.paths.bin, knownTypes: knownJobTypes(ctx.config.agents), platform: ctx.platform };
}

export function printJson(ctx: AdminContext, value: unknown): void {
  ctx.stdout(`${stringifyJson(value, 2)}\n`);
}

export function jobLabel(job: Pick<Job, "jobid" | "jobtitle">): string {
  return `job ${job.jobid} '${job.jobtitle}'`;
}

/** The id-or-title rule of cncopagent; an unknown name is a usage error. */
export function resolveJob(jobs: readonly Job[], name: string): Job {
  const job = findJob(jobs, name);
  if (!job) throw usageError(`unknown job "${name}": no job has that id or title${didYouMean(name, jobs.map((j) => j.jobtitle), true)} (cncopjobs lists them)`);
  return job;
}

/** Every job, as cncopagent reads them, from a read-only connection. */
export function loadAllJobs(ctx: AdminContext): Job[] {
  return withReadDb(ctx, (db) => readJobs(db, ctx.paths.jobsDb));
}

export function withReadDb<T>(ctx: AdminContext, fn: (db: Database) => T): T {
  const db = openJobsDbForRead(ctx.paths.jobsDb);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Several messages as one usage error (exit 2). */
export function validationError(title: string, errors: readonly string[]): Error {
  return usageError(`${title}:\n${errors.map((e) => `  - ${e}`).join("\n")}`);
}
