/** The commands that only read: the jobs table, -t, show, export, history. */
import { jsonText } from "../format/escape.ts";
import { existsSync } from "node:fs";
import nodePath from "node:path";
import { findJob } from "../dispatcher/selection.ts";
import { CncopError, EXIT, errorMessage, usageError } from "../cli/errors.ts";
import { escapeControls } from "../format/escape.ts";
import { writeFileAtomic } from "../install/atomic-write.ts";
import { agentsForType } from "../install/job-types.ts";
import { type Job, readJobs, rowToJob } from "../install/jobs-db.ts";
import { compareJobIds, type JobId, parseJobId } from "../install/job-id.ts";
import { type HistoryRun, lastRuns, readHistory } from "../history/history.ts";
import type { JobsOptions } from "./args.ts";
import { type AdminContext, hostnameOf, jobLabel, loadAllJobs, printJson, resolveJob, withReadDb } from "./context.ts";
import { jobView, renderHistoryTable, renderJobBlock, renderJobsTable } from "./render.ts";
import { readNextRuns } from "./schedule/next-runs.ts";
import { hasMaskedSecret, MASK, MASKED_JOB_FIELDS } from "../format/secrets.ts";
import { readRows, tableColumns } from "./store.ts";
import { exportDocument, exportJob } from "./transfer.ts";
import { listJobTypes, missingAgents, renderTypesTable, unstartableAgents } from "./types-list.ts";

/** Last runs for the table; a history that cannot be read is a warning, not a failure. */
function safeLastRuns(ctx: AdminContext): Map<JobId, HistoryRun> {
  try {
    return lastRuns(ctx.paths);
  } catch (err) {
    ctx.stderr(`warning: cannot read the run history: ${errorMessage(err)}\n`);
    return new Map();
  }
}

export function listJobsCommand(ctx: AdminContext, opts: JobsOptions): number {
  const jobs = loadAllJobs(ctx).sort((a, b) => compareJobIds(a.jobid, b.jobid));
  const last = safeLastRuns(ctx);
  const next = readNextRuns(ctx.paths.configFile, jobs, ctx.now?.() ?? new Date(), (t) => ctx.stderr(`warning: ${t}\n`), ctx.platform);
  // nextRun only when a schedule of this install runs some job: the shape is otherwise unchanged.
  const withNext = next.size > 0;
  const views = jobs.map((j) => ({ ...jobView(j, last.get(j.jobid), opts.showSecrets), ...(withNext ? { nextRun: next.get(j.jobid)?.at.toISOString() ?? null } : {}) }));
  if (opts.json) printJson(ctx, views);
  else if (views.length === 0) ctx.stderr(`no jobs in ${ctx.paths.jobsDb}; add one with cncopjobs add --title TITLE --type TYPE\n`);
  else ctx.stdout(renderJobsTable(views, withNext));
  if (!opts.json) {
    for (const j of jobs) if (j.problems.length > 0) ctx.stderr(`warning: ${jobLabel(j)} (!) cannot run: ${j.problems.join("; ")}\n`);
  }
  return EXIT.OK;
}

export function typesCommand(ctx: AdminContext, opts: JobsOptions): number {
  const types = listJobTypes(ctx.config.agents, opts.typeFilter, { bin: ctx.paths.bin, platform: ctx.platform, configFile: ctx.paths.configFile });
  if (opts.json) printJson(ctx, types);
  else {
    ctx.stdout(renderTypesTable(types));
    const missing = missingAgents(types);
    if (missing.length > 0) ctx.stderr(`${missing.length} agent(s) missing from ${ctx.paths.bin}: ${missing.join(", ")}; jobs of their types end as ERROR until the agent is installed there\n`);
    for (const u of unstartableAgents(types)) ctx.stderr(`agent ${escapeControls(u.name)} cannot be started: ${escapeControls(u.problem)}; jobs of its types end as ERROR\n`);
  }
  return EXIT.OK;
}

export function showCommand(ctx: AdminContext, opts: JobsOptions): number {
  const job = resolveJob(loadAllJobs(ctx), opts.targets[0]!);
  const view = jobView(job, safeLastRuns(ctx).get(job.jobid), opts.showSecrets);
  if (opts.json) printJson(ctx, view);
  else {
    const agents = agentsForType(job.jobtype, ctx.config.agents);
    ctx.stdout(renderJobBlock(view, agents ? `agent ${agents.join(" + ")}` : "unknown type: cncopagent cannot run it"));
  }
  return EXIT.OK;
}

/** Write a file whole or not at all, readable by its owner only (it may hold secrets). */
function writePrivateFile(file: string, text: string): void {
  try {
    writeFileAtomic(file, text, { mode: 0o600 });
  } catch (err) {
    throw new CncopError(`cannot write ${file}: ${errorMessage(err)}`, EXIT.FAILED);
  }
}

/** To FILE: complete, secrets included (a backup, mode 0600). To stdout: secrets as *** unless --show-secrets. */
export function exportCommand(ctx: AdminContext, opts: JobsOptions): number {
  const target = opts.targets[0];
  const toFile = target !== undefined && target !== "-";
  const showSecrets = toFile || opts.showSecrets;
  const exported = withReadDb(ctx, (db) => {
    readJobs(db, ctx.paths.jobsDb); // its checks and messages: table present, required columns
    return readRows(db, tableColumns(db)).map((row) => exportJob(row, rowToJob(row), showSecrets));
  });
  const doc = exportDocument(exported, hostnameOf(ctx), ctx.now?.() ?? new Date());
  const text = `${jsonText(doc, 2)}\n`;
  if (toFile) {
    writePrivateFile(nodePath.resolve(target), text);
    ctx.stderr(`exported ${exported.length} job(s) to ${target} (with their secrets: keep the file safe)\n`);
  } else {
    ctx.stdout(text);
    if (exported.some((j) => hasMaskedSecret(j.settings) || MASKED_JOB_FIELDS.some((f) => typeof j[f] === "string" && (j[f] as string).includes(MASK)))) ctx.stderr("secrets are shown as ***: export to a FILE, or add --show-secrets, for a complete copy\n");
  }
  return EXIT.OK;
}

export const DEFAULT_HISTORY_LIMIT = 20;

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_HISTORY_LIMIT;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > 1_000_000) throw usageError(`--limit "${raw}" must be a whole number from 0 (all runs) to 1000000`);
  return Number(raw);
}

/** The history does not need the job database: one that is missing or unreadable is only a warning. */
function jobsForHistory(ctx: AdminContext): Job[] {
  if (!existsSync(ctx.paths.jobsDb)) return [];
  try {
    return loadAllJobs(ctx);
  } catch (err) {
    ctx.stderr(`warning: ${errorMessage(err)}; looking the job up in the history only\n`);
    return [];
  }
}

/** JOB: in the job database by id or title; else (a removed job) its id or title in the history. */
export function historyCommand(ctx: AdminContext, opts: JobsOptions): number {
  const limit = parseLimit(opts.limit);
  const name = opts.targets[0];
  let runs: HistoryRun[];
  let label = "any job";
  if (name === undefined) runs = readHistory(ctx.paths, { limit });
  else {
    const job = findJob(jobsForHistory(ctx), name);
    if (job) {
      label = jobLabel(job);
      runs = readHistory(ctx.paths, { jobids: [job.jobid], limit });
    } else {
      const id = parseJobId(name);
      runs = readHistory(ctx.paths, id !== undefined ? { jobids: [id], limit } : { titles: [name], limit });
      if (runs.length === 0) throw usageError(`unknown job "${name}": no job has that id or title, and the history holds no run of it`);
      label = `job "${name}"`;
    }
  }
  if (opts.json) printJson(ctx, runs);
  else if (runs.length === 0) ctx.stderr(`no runs of ${label} recorded (cncopagent records each run; history is kept for days_of_logs days)\n`);
  else ctx.stdout(renderHistoryTable(runs));
  return EXIT.OK;
}
