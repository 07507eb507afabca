/**
 * `export` and `import`: a JSON document of jobs with the SPEC §4 column names. Import
 * checks every job (each field, titles and ids against each other and the database) and
 * returns every error at once; only a file without any error is applied, in one
 * transaction. A job whose title exists is refused unless --replace, which overwrites it
 * and keeps its jobid.
 */
import type { Job } from "../install/jobs-db.ts";
import { JOB_DEFAULTS } from "../install/jobs-db.ts";
import { jobIdOf, type JobId, parseJsonWithJobIds } from "../install/job-id.ts";
import { usageError } from "../cli/errors.ts";
import { checkField, checkInt, checkSettings, defaultValues, type FieldContext, INT_FIELDS, type JobValues, WRITABLE_FIELDS } from "./fields.ts";
import { hasMaskedSecret, MASKED_JOB_FIELDS, maskSecrets, maskText, restoreMaskedSecrets, restoreMaskedText } from "../format/secrets.ts";
import { nextJobId, type Row, type Snapshot } from "./store.ts";

export const EXPORT_FORMAT = "cncop3-jobs";
export const EXPORT_VERSION = 1;
/** Keys of `cncopjobs --json` output that import accepts and ignores. */
const READ_ONLY_KEYS = new Set(["problems", "lastRun"]);

export type ExportedJob = Record<string, unknown>;

/** A row as it is stored: valid values as JSON types, invalid ones kept as they are. */
export function exportJob(row: Row, job: Job, showSecrets: boolean): ExportedJob {
  const out: ExportedJob = { jobid: job.jobid, jobtitle: job.jobtitle, jobtype: String(row.jobtype ?? ""), enabled: job.enabled };
  for (const f of INT_FIELDS) {
    const raw = typeof row[f] === "bigint" ? Number(row[f]) : row[f];
    if (raw === null || raw === undefined || raw === "") out[f] = JOB_DEFAULTS[f];
    else {
      const c = checkInt(f, raw);
      out[f] = c.ok ? c.value : raw;
    }
  }
  for (const f of MASKED_JOB_FIELDS) {
    const v = job[f] ?? null;
    out[f] = v === null || showSecrets ? v : maskText(v);
  }
  const s = checkSettings(row.settings instanceof Uint8Array ? new TextDecoder().decode(row.settings) : row.settings);
  out.settings = s.ok ? (showSecrets ? s.value : maskSecrets(s.value)) : row.settings;
  return out;
}

export function exportDocument(jobs: readonly ExportedJob[], hostname: string, now: Date): Record<string, unknown> {
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exported: now.toISOString(), hostname, jobs };
}

/** The jobs of an export document, a bare array, or `cncopjobs --json` output. */
export function parseImportText(text: string, source: string): unknown[] {
  let doc: unknown;
  try {
    doc = parseJsonWithJobIds(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    throw usageError(`${source} is not valid JSON (${(err as Error).message}); nothing was imported.`);
  }
  if (Array.isArray(doc)) return doc;
  if (doc !== null && typeof doc === "object" && Array.isArray((doc as { jobs?: unknown }).jobs)) {
    const d = doc as { format?: unknown; version?: unknown; jobs: unknown[] };
    if (d.format !== undefined && d.format !== EXPORT_FORMAT) throw usageError(`${source}: format ${JSON.stringify(d.format)} is not ${EXPORT_FORMAT}; nothing was imported.`);
    if (typeof d.version === "number" && d.version > EXPORT_VERSION) throw usageError(`${source}: version ${d.version} is newer than this cncopjobs understands (${EXPORT_VERSION}); nothing was imported.`);
    return d.jobs;
  }
  throw usageError(`${source} must hold {"format": "${EXPORT_FORMAT}", "jobs": [...]} or an array of jobs; nothing was imported.`);
}

export interface ImportEntry {
  readonly label: string;
  readonly jobid: JobId | undefined;
  readonly values: JobValues;
}

function labelOf(i: number, obj: unknown): string {
  const t = obj !== null && typeof obj === "object" ? (obj as Record<string, unknown>).jobtitle : undefined;
  return typeof t === "string" ? `job #${i + 1} ("${t}")` : `job #${i + 1}`;
}

/** Check one job's fields; every problem is returned. */
export function checkImportJob(obj: unknown, i: number, ctx: FieldContext): { entry?: ImportEntry; errors: string[] } {
  const label = labelOf(i, obj);
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return { errors: [`${label}: must be a JSON object with jobtitle, jobtype, ...`] };
  const o = obj as Record<string, unknown>;
  const errors: string[] = [];
  const known = new Set<string>(["jobid", ...WRITABLE_FIELDS]);
  for (const k of Object.keys(o)) {
    if (!known.has(k) && !READ_ONLY_KEYS.has(k)) errors.push(`${label}: unknown field "${k}" (known: ${[...known].join(", ")})`);
  }
  for (const k of ["jobtitle", "jobtype"]) if (o[k] === undefined) errors.push(`${label}: ${k} is missing`);
  let jobid: JobId | undefined;
  if (o.jobid !== undefined && o.jobid !== null) {
    const id = typeof o.jobid === "number" || typeof o.jobid === "bigint" ? jobIdOf(o.jobid) : undefined;
    if (id !== undefined && id > 0n) jobid = id;
    else errors.push(`${label}: jobid ${typeof o.jobid === "bigint" ? String(o.jobid) : JSON.stringify(o.jobid)} must be a whole number of at least 1 (or left out for a new id)`);
  }
  const values: Record<string, unknown> = { ...defaultValues("", "") };
  for (const f of WRITABLE_FIELDS) {
    if (o[f] === undefined) continue;
    const c = checkField(f, o[f], ctx);
    if (c.ok) values[f] = c.value;
    else errors.push(`${label}: ${f}: ${c.message}`);
  }
  if (errors.length > 0) return { errors };
  return { entry: { label, jobid, values: values as unknown as JobValues }, errors };
}

export type ImportAction =
  | { readonly kind: "add"; readonly jobid: JobId; readonly values: JobValues; readonly label: string }
  | { readonly kind: "replace"; readonly jobid: JobId; readonly values: JobValues; readonly label: string };

function parseSettingsOf(row: Row | undefined): unknown {
  const c = checkSettings(row?.settings);
  return c.ok ? c.value : {};
}

/** Titles and ids against each other and the database; masked secrets restored or refused. */
export function planImport(entries: readonly ImportEntry[], snap: Snapshot, replace: boolean, historyHighest: JobId = 0n): { actions: ImportAction[]; errors: string[] } {
  const errors: string[] = [];
  const byTitle = new Map<string, ImportEntry>();
  const fileIds = new Map<JobId, ImportEntry>();
  for (const e of entries) {
    const key = e.values.jobtitle.toLowerCase();
    const first = byTitle.get(key);
    if (first) errors.push(`${e.label}: duplicate title: ${first.label} has the same title (titles are compared without case)`);
    else byTitle.set(key, e);
    if (e.jobid !== undefined) {
      const other = fileIds.get(e.jobid);
      if (other) errors.push(`${e.label}: jobid ${e.jobid} is also given to ${other.label}`);
      else fileIds.set(e.jobid, e);
    }
  }
  const existingByTitle = new Map(snap.jobs.map((j) => [j.jobtitle.toLowerCase(), j]));
  const usedIds = new Set(snap.jobs.map((j) => j.jobid));
  let next = [nextJobId(snap, historyHighest) - 1n, ...fileIds.keys()].reduce((m, id) => (id > m ? id : m), 0n) + 1n;
  const actions: ImportAction[] = [];
  for (const e of entries) {
    const existing = existingByTitle.get(e.values.jobtitle.toLowerCase());
    let values = e.values;
    const stored = existing ? parseSettingsOf(snap.rows.find((r) => jobIdOf(r.jobid) === existing.jobid)) : undefined;
    if (hasMaskedSecret(values.settings)) {
      const restored = restoreMaskedSecrets(values.settings, replace ? stored : undefined);
      if (!restored.ok) {
        errors.push(`${e.label}: ${restored.paths.join(", ")} ${restored.paths.length > 1 ? "are" : "is"} "***" (a hidden secret) and there is no stored secret to keep: export with --show-secrets or give the real value`);
        continue;
      }
      values = { ...values, settings: restored.value as Record<string, unknown> };
    }
    if (existing && replace) {
      // A URL password or a command's secret shown as *** in an export: keep the stored one.
      const storedRow = snap.rows.find((r) => BigInt(r.jobid as number | bigint) === BigInt(existing.jobid));
      const restoredText: Record<string, unknown> = {};
      for (const f of MASKED_JOB_FIELDS) restoredText[f] = restoreMaskedText(values[f] as string | null | undefined, storedRow?.[f] as string | null | undefined);
      values = { ...values, ...restoredText };
    }
    if (existing) {
      if (!replace) errors.push(`${e.label}: duplicate title: job ${existing.jobid} "${existing.jobtitle}" already exists; use --replace to overwrite it`);
      else actions.push({ kind: "replace", jobid: existing.jobid, values, label: e.label });
      continue;
    }
    if (e.jobid !== undefined && usedIds.has(e.jobid)) {
      const holder = snap.jobs.find((j) => j.jobid === e.jobid)!;
      errors.push(`${e.label}: jobid ${e.jobid} is taken by job "${holder.jobtitle}" here; leave "jobid" out to get a new id`);
      continue;
    }
    actions.push({ kind: "add", jobid: e.jobid ?? next++, values, label: e.label });
  }
  return { actions, errors };
}
