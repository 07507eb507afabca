/**
 * The columns of a job (SPEC §4) as cncopjobs writes them, and one validator per column.
 * Validators are pure except for the Bin/ check of pre/post commands, which is the very
 * rule cncopagent applies before running one (prepareCommand: split, confine to Bin/).
 */
import { prepareCommand } from "../dispatcher/commands.ts";
import type { ConfineFs } from "../process/confine.ts";
import { JOB_DEFAULTS, MAX_RETRIES, MAX_SECONDS } from "../install/jobs-db.ts";

export const INT_FIELDS = ["maxretries", "retrydelay", "maxruntime"] as const;
export type IntField = (typeof INT_FIELDS)[number];

/** A complete job row as written (settings as an object; null clears a text column). */
export interface JobValues {
  jobtitle: string;
  jobtype: string;
  enabled: 0 | 1;
  maxretries: number;
  retrydelay: number;
  maxruntime: number;
  prerun: string | null;
  postsuccess: string | null;
  postfailure: string | null;
  source: string | null;
  destination: string | null;
  settings: Record<string, unknown>;
}
export type JobChanges = Partial<JobValues>;
export type FieldName = keyof JobValues;

/** Every writable column, in SPEC §4 order. */
export const WRITABLE_FIELDS: readonly FieldName[] = [
  "jobtitle", "jobtype", "enabled", "maxretries", "retrydelay", "maxruntime",
  "prerun", "postsuccess", "postfailure", "source", "destination", "settings",
];

export const INT_RANGES: Readonly<Record<IntField, { min: number; max: number }>> = {
  maxretries: { min: 0, max: MAX_RETRIES },
  retrydelay: { min: 0, max: MAX_SECONDS },
  maxruntime: { min: 0, max: MAX_SECONDS },
};

/** What a missing column means (SPEC §4 defaults). */
export function defaultValues(title: string, type: string): JobValues {
  return {
    jobtitle: title,
    jobtype: type,
    enabled: JOB_DEFAULTS.enabled as 1,
    maxretries: JOB_DEFAULTS.maxretries,
    retrydelay: JOB_DEFAULTS.retrydelay,
    maxruntime: JOB_DEFAULTS.maxruntime,
    prerun: null,
    postsuccess: null,
    postfailure: null,
    source: null,
    destination: null,
    settings: {},
  };
}

export const MAX_TITLE_LENGTH = 200;

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(message: string): Checked<T> => ({ ok: false, message });

const CONTROL_RE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

export function checkTitle(raw: unknown): Checked<string> {
  if (typeof raw !== "string") return bad("the title must be text");
  const t = raw.trim();
  if (t === "") return bad("the title must not be empty");
  if (t.length > MAX_TITLE_LENGTH) return bad(`the title is ${t.length} characters long; at most ${MAX_TITLE_LENGTH} are allowed`);
  if (CONTROL_RE.test(t)) return bad("the title must not hold line breaks or other control characters");
  if (/^\d+$/.test(t)) return bad(`the title "${t}" is all digits, which cncopagent would take for a job id; add a letter`);
  return ok(t);
}

/** Case-insensitive; stored upper-case. An unknown type lists the known ones. */
export function checkType(raw: unknown, knownTypes: readonly string[]): Checked<string> {
  if (typeof raw !== "string" || raw.trim() === "") return bad(`the job type must be one of ${knownTypes.join(", ")}`);
  const t = raw.trim().toUpperCase();
  if (!knownTypes.includes(t)) return bad(`unknown job type "${raw.trim()}". Known types: ${knownTypes.join(", ")} (add one in [agents] of the configuration)`);
  return ok(t);
}

/** Whole numbers in range; from the command line as digits, from JSON as numbers. */
export function checkInt(field: IntField, raw: unknown): Checked<number> {
  const { min, max } = INT_RANGES[field];
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const unit = field === "maxretries" ? "" : " (seconds)";
    const what = Number.isSafeInteger(n) || (typeof raw === "string" && /^\s*-\d+\s*$/.test(raw)) ? "is out of range" : "is not a whole number";
    return bad(`${JSON.stringify(raw)} ${what}: ${field} must be a whole number from ${min} to ${max}${unit}`);
  }
  return ok(n);
}

export function checkEnabled(raw: unknown): Checked<0 | 1> {
  if (raw === true || raw === 1) return ok(1);
  if (raw === false || raw === 0) return ok(0);
  return bad(`${JSON.stringify(raw)} is not valid: enabled must be true or false`);
}

/** Free text; "" or null clears the column. */
export function checkText(raw: unknown): Checked<string | null> {
  if (raw === null || raw === undefined) return ok(null);
  if (typeof raw !== "string") return bad("must be text");
  if (raw.trim() === "") return ok(null);
  if (CONTROL_RE.test(raw)) return bad("must be one line without control characters");
  return ok(raw);
}

export interface CommandCheckContext {
  readonly bin: string;
  readonly platform?: NodeJS.Platform;
  readonly fs?: ConfineFs;
}

/** A pre/post command line: refused exactly as cncopagent would refuse to run it. */
export function checkCommand(raw: unknown, ctx: CommandCheckContext): Checked<string | null> {
  const text = checkText(raw);
  if (!text.ok || text.value === null) return text;
  const prepared = prepareCommand(text.value, ctx);
  if (!prepared.ok) return bad(`${JSON.stringify(text.value)} would be refused by cncopagent: ${prepared.reason}`);
  return ok(text.value);
}

/** A JSON object, given as JSON text (command line, database) or as an object (import). */
export function checkSettings(raw: unknown): Checked<Record<string, unknown>> {
  let v: unknown = raw;
  if (raw === null || raw === undefined) return ok({});
  if (typeof raw === "string") {
    if (raw.trim() === "") return ok({});
    try {
      v = JSON.parse(raw);
    } catch {
      // The parser's message quotes the text near the error, which may be a password: left out.
      return bad(`settings must be a JSON object such as '{"user":"backup"}': the text is not valid JSON (check quotes, braces and commas)`);
    }
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    const what = v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
    return bad(`settings must be a JSON object such as '{"user":"backup"}', not ${what}`);
  }
  return ok(v as Record<string, unknown>);
}

export interface FieldContext extends CommandCheckContext {
  readonly knownTypes: readonly string[];
}

/** Check one column's value; the message does not name the column (callers add where it came from). */
export function checkField(field: FieldName, raw: unknown, ctx: FieldContext): Checked<unknown> {
  switch (field) {
    case "jobtitle":
      return checkTitle(raw);
    case "jobtype":
      return checkType(raw, ctx.knownTypes);
    case "enabled":
      return checkEnabled(raw);
    case "maxretries":
    case "retrydelay":
    case "maxruntime":
      return checkInt(field, raw);
    case "prerun":
    case "postsuccess":
    case "postfailure":
      return checkCommand(raw, ctx);
    case "source":
    case "destination":
      return checkText(raw);
    case "settings":
      return checkSettings(raw);
  }
}

/** The value that a missing column stands for: writing it needs no new column. */
export function isDefaultValue(field: FieldName, value: unknown): boolean {
  if (field === "settings") return value !== null && typeof value === "object" && Object.keys(value).length === 0;
  if (field === "enabled") return value === JOB_DEFAULTS.enabled;
  if (field === "maxretries" || field === "retrydelay" || field === "maxruntime") return value === JOB_DEFAULTS[field];
  return value === null;
}
