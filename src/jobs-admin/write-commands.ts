/**
 * The commands that change the job database: add, set, remove, enable, disable, import.
 * Fields are checked before the database is opened; titles, ids and stored secrets are
 * checked inside the write transaction, so a failed check changes nothing.
 */
import { existsSync, readFileSync } from "node:fs";
import { EXIT, errorMessage, usageError } from "../cli/errors.ts";
import type { Job } from "../install/jobs-db.ts";
import { jobIdOf, type JobId } from "../install/job-id.ts";
import type { JobsOptions } from "./args.ts";
import { type AdminContext, fieldContext, jobLabel, loadAllJobs, printJson, resolveJob, validationError, withReadDb } from "./context.ts";
import { checkField, checkSettings, defaultValues, type FieldName, type JobChanges, type JobValues, WRITABLE_FIELDS } from "./fields.ts";
import { jobWarnings } from "./job-checks.ts";
import { jobView } from "./render.ts";
import { hasMaskedSecret, MASKED_JOB_FIELDS, restoreMaskedSecrets, restoreMaskedText } from "../format/secrets.ts";
import { deleteJob, EMPTY_SNAPSHOT, insertJob, nextJobId, openJobsDbForWrite, readSnapshot, type Snapshot, updateJob, writeTransaction } from "./store.ts";
import { highestRecordedJobId } from "../history/history.ts";
import { checkImportJob, type ImportEntry, parseImportText, planImport } from "./transfer.ts";

const OPTION_OF: Readonly<Record<FieldName, string>> = {
  jobtitle: "--title", jobtype: "--type", enabled: "enabled", maxretries: "--maxretries", retrydelay: "--retrydelay",
  maxruntime: "--maxruntime", prerun: "--prerun", postsuccess: "--postsuccess", postfailure: "--postfailure",
  source: "--source", destination: "--destination", settings: "--settings",
};

/** Check the options given for columns; every problem at once. */
export function changesFromOptions(ctx: AdminContext, given: Readonly<Partial<Record<FieldName, string>>>): JobChanges {
  const fctx = fieldContext(ctx);
  const changes: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const field of WRITABLE_FIELDS) {
    const raw = given[field];
    if (raw === undefined) continue;
    const c = checkField(field, raw, fctx);
    if (c.ok) changes[field] = c.value;
    else errors.push(`${OPTION_OF[field]}: ${c.message}`);
  }
  if (errors.length > 0) throw validationError("invalid job options; nothing was changed", errors);
  return changes as JobChanges;
}

function titleClash(snap: Snapshot, title: string, exceptId?: JobId): Job | undefined {
  const lower = title.toLowerCase();
  return snap.jobs.find((j) => j.jobtitle.toLowerCase() === lower && j.jobid !== exceptId);
}

function duplicateTitle(clash: Job): Error {
  return usageError(`duplicate title: ${jobLabel(clash)} already has the title "${clash.jobtitle}" (titles are compared without case); nothing was changed`);
}

function storedSettings(snap: Snapshot, jobid: JobId): unknown {
  const c = checkSettings(snap.rows.find((r) => jobIdOf(r.jobid) === jobid)?.settings);
  return c.ok ? c.value : {};
}

/** `***` under a secret key keeps the stored secret; with none stored it is refused. */
function withRestoredSecrets(settings: Record<string, unknown>, stored: unknown): Record<string, unknown> {
  if (!hasMaskedSecret(settings)) return settings;
  const r = restoreMaskedSecrets(settings, stored);
  if (!r.ok) throw usageError(`--settings: ${r.paths.join(", ")} ${r.paths.length > 1 ? "are" : "is"} "***" (a hidden secret) but no secret is stored there: give the real value; nothing was changed`);
  return r.value as Record<string, unknown>;
}

/** `rsync://bob:***@nas/m` given back (from `show`) keeps the stored password. */
function withRestoredTexts(changes: JobChanges, row: Readonly<Record<string, unknown>> | undefined): JobChanges {
  const out: Record<string, unknown> = { ...changes };
  for (const f of MASKED_JOB_FIELDS) {
    const given = changes[f];
    const stored = row?.[f];
    if (typeof given === "string") out[f] = restoreMaskedText(given, typeof stored === "string" ? stored : undefined);
  }
  return out as JobChanges;
}

function noteAdded(ctx: AdminContext, added: readonly string[]): void {
  if (added.length > 0) ctx.stderr(`added column(s) ${added.join(", ")} to the BackupJob table (the other jobs keep its default value)\n`);
}

/** The job as written: what can be told now about the night it runs (warnings), then --json. */
function printJob(ctx: AdminContext, opts: JobsOptions, jobid: JobId): void {
  const job = loadAllJobs(ctx).find((j) => j.jobid === jobid);
  if (!job) return;
  const checks = { bin: ctx.paths.bin, root: ctx.paths.root, agents: ctx.config.agents, platform: ctx.platform };
  for (const w of jobWarnings(job, checks)) ctx.stderr(`warning: ${jobLabel(job)}: ${w}\n`);
  if (opts.json) printJson(ctx, jobView(job, undefined, opts.showSecrets));
}

export function parseNewJobId(raw: string | undefined): JobId | undefined {
  if (raw === undefined) return undefined;
  const id = /^\d+$/.test(raw.trim()) ? jobIdOf(raw.trim()) : undefined;
  if (id === undefined || id < 1n) throw usageError(`--id "${raw}" must be a whole number from 1 to ${2n ** 63n - 1n}`);
  return id;
}

export function addCommand(ctx: AdminContext, opts: JobsOptions): number {
  const missing = (["jobtitle", "jobtype"] as const).filter((f) => opts.fields[f] === undefined).map((f) => OPTION_OF[f]);
  if (missing.length > 0) throw usageError(`add needs ${missing.join(" and ")}, e.g. cncopjobs add --title "Nightly files" --type RSYNC --source /data`);
  const changes = changesFromOptions(ctx, opts.fields);
  const wantedId = parseNewJobId(opts.id);
  const file = ctx.paths.jobsDb;
  const created = !existsSync(file);
  const values: JobValues = { ...defaultValues("", ""), ...changes, ...(opts.disabled ? { enabled: 0 as const } : {}) };
  values.settings = withRestoredSecrets(values.settings, undefined); // a new job has no stored secret
  const historyHighest = highestRecordedJobId(ctx.paths);
  const db = openJobsDbForWrite(file, true);
  let jobid: JobId;
  try {
    const r = writeTransaction(db, file, true, (snap) => {
      const clash = titleClash(snap, values.jobtitle);
      if (clash) throw duplicateTitle(clash);
      if (wantedId !== undefined) {
        const holder = snap.jobs.find((j) => j.jobid === wantedId);
        if (holder) throw usageError(`--id ${wantedId} is taken by ${jobLabel(holder)}; choose another id or leave --id out`);
      }
      const id = wantedId ?? nextJobId(snap, historyHighest);
      return { id, added: insertJob(db, snap, id, values) };
    });
    jobid = r.id;
    if (!created) noteAdded(ctx, r.added);
  } finally {
    db.close();
  }
  if (created) ctx.stderr(`created the job database ${file}\n`);
  ctx.stderr(`${jobLabel({ jobid, jobtitle: values.jobtitle })} added (${values.jobtype}${values.enabled ? "" : ", disabled"})\n`);
  printJob(ctx, opts, jobid);
  return EXIT.OK;
}

export function setCommand(ctx: AdminContext, opts: JobsOptions): number {
  if (Object.keys(opts.fields).length === 0) throw usageError("set needs at least one of --title, --type, --source, --destination, --maxretries, --retrydelay, --maxruntime, --prerun, --postsuccess, --postfailure, --settings");
  const changes = changesFromOptions(ctx, opts.fields);
  const file = ctx.paths.jobsDb;
  const db = openJobsDbForWrite(file, false);
  let job: Job;
  try {
    const r = writeTransaction(db, file, false, (snap) => {
      const j = resolveJob(snap.jobs, opts.targets[0]!);
      if (changes.jobtitle !== undefined) {
        const clash = titleClash(snap, changes.jobtitle, j.jobid);
        if (clash) throw duplicateTitle(clash);
      }
      const withSettings = changes.settings ? { ...changes, settings: withRestoredSecrets(changes.settings, storedSettings(snap, j.jobid)) } : changes;
      const final = withRestoredTexts(withSettings, snap.rows.find((row) => BigInt(row.jobid as number | bigint) === BigInt(j.jobid)));
      return { job: j, added: updateJob(db, snap, j.jobid, final) };
    });
    job = r.job;
    noteAdded(ctx, r.added);
  } finally {
    db.close();
  }
  const names = WRITABLE_FIELDS.filter((f) => f in changes);
  ctx.stderr(`${jobLabel(job)} changed: ${names.join(", ")}\n`);
  printJob(ctx, opts, job.jobid);
  return EXIT.OK;
}

/** remove, enable, disable: all names are resolved first; one unknown changes nothing. */
export function forEachJobCommand(ctx: AdminContext, opts: JobsOptions, action: "remove" | "enable" | "disable"): number {
  const file = ctx.paths.jobsDb;
  const db = openJobsDbForWrite(file, false);
  const done: { job: Job; note: string }[] = [];
  const added: string[] = [];
  try {
    writeTransaction(db, file, false, (snap) => {
      const jobs = opts.targets.map((t) => resolveJob(snap.jobs, t));
      const seen = new Set<JobId>();
      for (const job of jobs) {
        if (seen.has(job.jobid)) continue;
        seen.add(job.jobid);
        if (action === "remove") {
          deleteJob(db, job.jobid);
          done.push({ job, note: "removed (its run history is kept)" });
        } else {
          const enabled = action === "enable";
          if (job.enabled === enabled) done.push({ job, note: `already ${action}d` });
          else {
            added.push(...updateJob(db, snap, job.jobid, { enabled: enabled ? 1 : 0 }));
            done.push({ job, note: `${action}d` });
          }
        }
      }
    });
  } finally {
    db.close();
  }
  noteAdded(ctx, added);
  for (const d of done) ctx.stderr(`${jobLabel(d.job)} ${d.note}\n`);
  if (opts.json) printJson(ctx, done.map((d) => ({ jobid: d.job.jobid, jobtitle: d.job.jobtitle, result: d.note.replace(/ \(.*\)$/, "") })));
  return EXIT.OK;
}

async function readImportSource(ctx: AdminContext, target: string): Promise<string> {
  if (target === "-") return ctx.readStdin ? ctx.readStdin() : Bun.stdin.text();
  try {
    return readFileSync(target, "utf8");
  } catch (err) {
    throw usageError(`cannot read ${target}: ${errorMessage(err)}; nothing was imported`);
  }
}

export async function importCommand(ctx: AdminContext, opts: JobsOptions): Promise<number> {
  const target = opts.targets[0]!;
  const source = target === "-" ? "standard input" : target;
  const items = parseImportText(await readImportSource(ctx, target), source);
  const fctx = fieldContext(ctx);
  const entries: ImportEntry[] = [];
  const errors: string[] = [];
  items.forEach((item, i) => {
    const r = checkImportJob(item, i, fctx);
    if (r.entry) entries.push(r.entry);
    errors.push(...r.errors);
  });
  const file = ctx.paths.jobsDb;
  // Titles and ids too, against a read-only view, before anything is opened for writing:
  // every problem at once, and no database file created for a file that is refused.
  const preview = existsSync(file) ? withReadDb(ctx, (db) => readSnapshot(db, file)) : EMPTY_SNAPSHOT;
  const historyHighest = highestRecordedJobId(ctx.paths);
  errors.push(...planImport(entries, preview, opts.replace, historyHighest).errors);
  if (errors.length > 0) throw validationError(`${source}: ${errors.length} problem(s); nothing was imported`, errors);
  const db = openJobsDbForWrite(file, true);
  let summary: { kind: string; jobid: JobId; jobtitle: string }[];
  try {
    const r = writeTransaction(db, file, true, (snap) => {
      const plan = planImport(entries, snap, opts.replace, historyHighest);
      if (plan.errors.length > 0) throw validationError(`${source}: ${plan.errors.length} problem(s); nothing was imported`, plan.errors);
      const added = new Set<string>();
      for (const a of plan.actions) {
        for (const c of a.kind === "add" ? insertJob(db, snap, a.jobid, a.values) : updateJob(db, snap, a.jobid, a.values)) added.add(c);
      }
      return { added: [...added], summary: plan.actions.map((a) => ({ kind: a.kind === "add" ? "added" : "replaced", jobid: a.jobid, jobtitle: a.values.jobtitle })) };
    });
    summary = r.summary;
    noteAdded(ctx, r.added);
  } finally {
    db.close();
  }
  const count = (k: string) => summary.filter((s) => s.kind === k).length;
  for (const s of summary) ctx.stderr(`${jobLabel(s)} ${s.kind}\n`);
  ctx.stderr(`imported ${summary.length} job(s) from ${source}: ${count("added")} added, ${count("replaced")} replaced\n`);
  if (opts.json) printJson(ctx, summary.map((s) => ({ jobid: s.jobid, jobtitle: s.jobtitle, result: s.kind })));
  return EXIT.OK;
}
