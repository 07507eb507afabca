/**
 * Report files in `Spool/Messages/` (SPEC §8). A report is written under a name the
 * reporter ignores (a leading dot), flushed to disk, then renamed into place, and the
 * folder is flushed on POSIX: a crash at any instant leaves no report or a whole one.
 */
import { maskText } from "../format/secrets.ts";
import { lstatSync, readdirSync, unlinkSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { isoUtc } from "../format/time.ts";
import { writeFileAtomic } from "../install/atomic-write.ts";
import { type JobIdLike, stringifyJson } from "../install/job-id.ts";

export const REPORT_PREFIXES = ["JE-", "JS-", "JF-", "VIRUS-"] as const;
export type ReportPrefix = (typeof REPORT_PREFIXES)[number];

export interface JobIdentity {
  readonly jobid: JobIdLike;
  readonly jobtitle: string;
  readonly jobtype: string;
}

export interface AttemptRecord {
  readonly started: string;
  readonly finished: string;
  readonly exitcode: number | null;
  readonly signal: string | null;
}

export type ExceptionSource = "prerun" | "postsuccess" | "postfailure" | "agent" | "dispatcher";

export interface JobExceptionReport extends JobIdentity {
  readonly type: "jobexception";
  readonly session: string;
  readonly hostname: string;
  readonly time: string;
  readonly source: ExceptionSource;
  readonly exitcode: number | null;
  readonly message: string;
}

export interface JobFinishedReport extends JobIdentity {
  readonly type: "jobfinished";
  readonly session: string;
  readonly hostname: string;
  readonly time: string;
  readonly status: "OK" | "ERROR";
  readonly reason: string;
  readonly attempts: readonly AttemptRecord[];
  readonly started: string;
  readonly finished: string;
}

/** The temporary name a report is written under before it is renamed into place. */
function reportTempName(name: string): string {
  return `.${name}.tmp`;
}

const REPORT_TEMP_RE = /^\.(JE-|JS-|JF-|VIRUS-).+\.json\.tmp$/;
/** A writer stopped mid-write (killed, power loss) leaves its temporary file: after this, it is a leftover. */
export const REPORT_TEMP_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * Delete leftover temporary report files older than `maxAgeMs`: a writer takes
 * milliseconds, so an old one belongs to a writer that was stopped mid-write and will
 * never be renamed into a report. Returns the names removed.
 */
export function removeStaleReportTemps(messagesDir: string, now = Date.now(), maxAgeMs = REPORT_TEMP_MAX_AGE_MS): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(messagesDir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!REPORT_TEMP_RE.test(name)) continue;
    const path = nodePath.join(messagesDir, name);
    try {
      const st = lstatSync(path);
      if (!st.isFile() || now - st.mtimeMs < maxAgeMs) continue;
      unlinkSync(path);
      removed.push(name);
    } catch {
      // Vanished or not ours to delete: nothing to do.
    }
  }
  return removed;
}

/** A unique report file name: prefix, UTC time (sorts by age), random tail. */
export function reportFileName(prefix: ReportPrefix, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.(\d{3})Z$/, "$1Z");
  return `${prefix}${stamp}-${crypto.randomUUID()}.json`;
}

/**
 * Write one report atomically; returns its final path. Throws on failure (full disk,
 * unwritable folder) after removing the temporary file: the caller logs it.
 */
/** Fields of free text that may quote a secret (a command's stderr, an agent's reason, a URL). */
const MASKED_FIELDS = new Set(["message", "reason", "source", "destination"]);

/** The report with the one masking rule applied to its free-text fields (SPEC §4). */
function masked(report: object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(report)) out[k] = MASKED_FIELDS.has(k) && typeof v === "string" ? maskText(v) : v;
  return out;
}

export function writeReport(messagesDir: string, prefix: ReportPrefix, report: object, now: Date = new Date()): string {
  const name = reportFileName(prefix, now);
  const final = nodePath.join(messagesDir, name);
  writeFileAtomic(final, `${stringifyJson(masked(report), 2)}\n`, { tempPath: nodePath.join(messagesDir, reportTempName(name)) });
  return final;
}

export function reportBase(job: JobIdentity, session: string, now: Date = new Date(), hostname = os.hostname()) {
  return { jobid: job.jobid, jobtitle: job.jobtitle, jobtype: job.jobtype, session, hostname, time: isoUtc(now) };
}

/** Length of the UTF-8 sequence a lead byte starts (0 for a byte that cannot lead one). */
function utf8SequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Cut UTF-8 bytes to at most `max` bytes without splitting a character (a character cut at
 * the end is dropped); undecodable bytes become U+FFFD; a leading BOM is kept as it is.
 */
export function utf8Excerpt(bytes: Uint8Array, max = 2048): string {
  let end = Math.min(bytes.length, max);
  // A continuation byte (10xxxxxx) right after the cut means a character may straddle it:
  // find its lead byte, and drop the character if it does not fit before the cut.
  if (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) {
    let i = end - 1;
    while (i > 0 && end - i < 4 && (bytes[i]! & 0xc0) === 0x80) i--;
    const len = utf8SequenceLength(bytes[i]!);
    if (i >= 0 && len > 0 && i + len > end) end = i;
  }
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(bytes.subarray(0, end));
}
