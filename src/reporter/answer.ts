/**
 * What an answer means for a report (SPEC §6), as pure functions:
 *  - 2xx: accepted, the file is deleted;
 *  - 4xx except 408 and 429: refused, the file stays and is tried again on later runs
 *    until 5 days after it was written, then it expires and is deleted;
 *  - anything else (1xx, 3xx, 408, 429, 5xx, a timeout, a DNS or connection error, a TLS
 *    failure): not delivered; the pass stops, the file stays and never expires.
 */
import { isAtLeastAsOld } from "../format/time.ts";

/** Set in the reporter's environment by cncopagent: exit EXIT_UNDELIVERED when a report was not delivered. */
export const INVOKED_BY_ENV = "CNCOP_REPORTER_INVOKED_BY";
/** The reporter's exit status, under INVOKED_BY_ENV, when its pass stopped on a "not delivered" (EX_TEMPFAIL). */
export const EXIT_UNDELIVERED = 75;
/**
 * Under INVOKED_BY_ENV, a request unanswered for this long makes the reporter say so once
 * on stdout, in a line starting with SLOW_ANSWER_MARK: cncopagent then ends its run without
 * waiting for this reporter, which finishes its pass on its own (reporter/run-calls.ts).
 */
export const SLOW_ANSWER_MS = 500;
export const SLOW_ANSWER_MARK = "waiting: ";

export type Verdict = "accepted" | "refused" | "undelivered";

/** A report expires this long after it was written (its file's mtime). */
export const REPORT_KEEP_DAYS = 5;
export const REPORT_KEEP_MS = REPORT_KEEP_DAYS * 24 * 3600 * 1000;

/** The outcome of one request, as data. */
export type SendResult =
  | { readonly kind: "answer"; readonly status: number; readonly statusText: string; readonly body: string; readonly ms: number }
  | { readonly kind: "error"; readonly message: string; readonly code: string | undefined; readonly timedOut: boolean; readonly ms: number };

export function verdictOfStatus(status: number): Verdict {
  if (status >= 200 && status <= 299) return "accepted";
  if (status >= 400 && status <= 499 && status !== 408 && status !== 429) return "refused";
  return "undelivered";
}

export function verdictOf(result: SendResult): Verdict {
  return result.kind === "answer" ? verdictOfStatus(result.status) : "undelivered";
}

/** A refused report expires once it is REPORT_KEEP_MS old (at exactly 5 days, too). */
export function isReportExpired(writtenMs: number, nowMs: number): boolean {
  return isAtLeastAsOld(writtenMs, nowMs, REPORT_KEEP_MS);
}

/** One line for the log: `HTTP 404 Not Found: <start of the answer>` or the error. */
export function describeResult(result: SendResult, maxBody = 300): string {
  if (result.kind === "error") {
    if (result.timedOut) return `no answer within the time limit (${Math.round(result.ms)} ms)`;
    return result.code && !result.message.includes(result.code) ? `${result.code}: ${result.message}` : result.message;
  }
  const body = result.body.replace(/\s+/g, " ").trim();
  const cut = body.length > maxBody ? `${body.slice(0, maxBody)}...` : body;
  return `HTTP ${result.status}${result.statusText ? ` ${result.statusText}` : ""}${cut ? `: ${cut}` : ""}`;
}

/** `5 d 3 h`, `2 h 10 min`: a report's age for the log. */
export function formatAge(ms: number): string {
  const min = Math.floor(Math.max(0, ms) / 60_000);
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}
