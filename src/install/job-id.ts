/**
 * Job ids are 64-bit integers (SPEC §4, §5), kept exact everywhere: a JavaScript number
 * rounds above 2^53, so the suite carries them as `bigint` from the database (read with
 * safe integers) through argv, the environment, lock records, reports (a JSON number,
 * written digit for digit) and the run history.
 */
export type JobId = bigint;
/** What functions that take a job id accept: a safe number is exact too. */
export type JobIdLike = bigint | number;

export const JOB_ID_MAX = (1n << 63n) - 1n;
export const JOB_ID_MIN = -(1n << 63n);

/** An all-digits argument as a job id; undefined when it is not one or does not fit 64 bits. */
export function parseJobId(text: string): JobId | undefined {
  if (!/^\d{1,19}$/.test(text)) return undefined;
  const id = BigInt(text);
  return id <= JOB_ID_MAX ? id : undefined;
}

/** A job id from SQLite (bigint under safe integers), JSON or text; undefined when it is none. */
export function jobIdOf(value: unknown): JobId | undefined {
  if (typeof value === "bigint") return value >= JOB_ID_MIN && value <= JOB_ID_MAX ? value : undefined;
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (typeof value === "string" && /^-?\d{1,19}$/.test(value.trim())) {
    const id = BigInt(value.trim());
    return id >= JOB_ID_MIN && id <= JOB_ID_MAX ? id : undefined;
  }
  return undefined;
}

/** Orders job ids as numbers (for Array.prototype.sort). */
export function compareJobIds(a: JobId, b: JobId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON.rawJSON (Bun's JavaScriptCore has it; TypeScript's lib does not declare it yet). */
const rawJson = (text: string): unknown => (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text);

/** JSON.stringify that writes every bigint as a JSON number, digit for digit. */
export function stringifyJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? rawJson(v.toString()) : v), space);
}

/**
 * JSON.parse that reads every `jobid` as a bigint from its source text, so a number above
 * 2^53 is not rounded; a `jobid` that is not a whole number is left as it is.
 */
export function parseJsonWithJobIds(text: string): unknown {
  return JSON.parse(text, function (this: unknown, key: string, v: unknown, context?: { source?: string }) {
    if (key !== "jobid" || typeof v !== "number") return v;
    return jobIdOf(context?.source ?? v) ?? v;
  } as (this: unknown, key: string, value: unknown) => unknown);
}
