/**
 * One pass over `Spool/Messages/`: the reports in order (spool-scan.ts), each read just
 * before it is sent, and acted on by its answer (answer.ts). A prefix with a few reports
 * (a pass after a job) is sent strictly one at a time, so they arrive in the order they
 * were written. A backlog (more than SEQUENTIAL_UP_TO reports of a prefix, e.g. after an
 * outage) has up to IN_FLIGHT requests in flight, to drain quickly over a slow link,
 * within these limits:
 *  - a prefix is finished (every answer in) before the next prefix starts, so all JE-
 *    reports are answered before any JS- is sent, and so on;
 *  - reports of one job (same `jobid`; reports without one count as one job) go one at a
 *    time, oldest first, so a receiver sees a job's runs in the order they happened;
 *  - after a "not delivered" answer nothing new is sent: the requests in flight get their
 *    answers, and the rest waits for the next pass.
 * Nothing is sent while the folder does not let the reporter delete what it sent (a
 * read-only or unwritable `Spool/Messages/`): every pass would send the same reports again.
 */
import { accessSync, closeSync, constants, existsSync, openSync, unlinkSync } from "node:fs";
import nodePath from "node:path";
import { unlink } from "node:fs/promises";
import { errnoCode } from "../cli/errors.ts";
import { type ReportPrefix } from "../reports/report-files.ts";
import { sentFinishLine } from "../reports/session-reports.ts";
import { escapeControls } from "../format/escape.ts";
import { maskUrl } from "../format/secrets.ts";
import { describeResult, formatAge, isReportExpired, REPORT_KEEP_DAYS, REPORT_KEEP_MS, verdictOf } from "./answer.ts";
import { formatBytes } from "../format/bytes.ts";
import { MAX_REPORT_BYTES, moveAside, readReport, type ReportBody } from "./report-file.ts";
import type { ReporterLog } from "./reporter-log.ts";
import { endpointUrl, scanMessages, type SpoolEntry } from "./spool-scan.ts";
import type { Transport } from "./transport.ts";

/** Requests in flight at most: enough to hide a link's latency, too few to flood it. */
export const IN_FLIGHT = 4;
/** A prefix with at most this many reports goes one at a time: strict order costs nothing there. */
export const SEQUENTIAL_UP_TO = 16;

export interface PassOptions {
  readonly messagesDir: string;
  /** Where unreadable reports are moved: `Paths.badMessages`. */
  readonly badDir: string;
  readonly baseUrl: string;
  readonly transport: Transport;
  readonly log: ReporterLog;
  readonly inFlight?: number;
  readonly sequentialUpTo?: number;
  readonly now?: () => number;
  /** Names refused earlier in this invocation: retried on later runs, not now. */
  readonly skip?: ReadonlySet<string>;
  /** Aborted (SIGTERM, SIGINT): send nothing new; answers in flight are still awaited. */
  readonly stop?: AbortSignal;
  /**
   * Told once per request whose answer takes longer than `slowAfterMs` (cncopagent then
   * stops waiting for this reporter at the end of its run: reporter/run-calls.ts).
   */
  readonly onSlowAnswer?: (text: string) => void;
  readonly slowAfterMs?: number;
}

export interface PassResult {
  readonly found: number;
  readonly sent: number;
  readonly refused: readonly string[];
  readonly expired: number;
  readonly bad: number;
  /** Reports this pass did not deliver (refused, not delivered, or not tried). */
  readonly left: number;
  /** A report was not delivered (the pass stopped on it). */
  readonly undelivered: boolean;
  /** Why the pass stopped early: the first "not delivered" answer, or the signal. */
  readonly stoppedBy: string | undefined;
  readonly interrupted: boolean;
  /** The reporter's own failures (a report it could not read, delete or move aside). */
  readonly failures: number;
}

function groups(entries: readonly SpoolEntry[]): SpoolEntry[][] {
  const out: SpoolEntry[][] = [];
  let prev: ReportPrefix | undefined;
  for (const e of entries) {
    if (e.prefix !== prev) out.push([]);
    out[out.length - 1]!.push(e);
    prev = e.prefix;
  }
  return out;
}

function countByPrefix(entries: readonly SpoolEntry[]): string {
  const n = new Map<string, number>();
  for (const e of entries) n.set(e.prefix, (n.get(e.prefix) ?? 0) + 1);
  return [...n].map(([p, c]) => `${c} ${p.slice(0, -1)}`).join(", ");
}

export async function runPass(opts: PassOptions): Promise<PassResult> {
  const { log, transport } = opts;
  const limit = Math.max(1, opts.inFlight ?? IN_FLIGHT);
  const now = opts.now ?? Date.now;
  const skip = opts.skip ?? new Set<string>();
  const entries = scanMessages(opts.messagesDir).filter((e) => !skip.has(e.name));
  let sent = 0;
  let expired = 0;
  let bad = 0;
  let gone = 0;
  let failures = 0;
  const refused: string[] = [];
  let stoppedBy: string | undefined;
  let undelivered = false;
  const stopped = () => stoppedBy !== undefined || opts.stop?.aborted === true;

  if (entries.length > 0) log.info(`${entries.length} report(s) to send: ${countByPrefix(entries)}`);
  const cannotDelete = entries.length > 0 ? deleteCheck(opts.messagesDir) : undefined;
  if (cannotDelete !== undefined) {
    log.error(`${cannotDelete}; nothing sent, so that nothing is sent twice: the ${entries.length} report(s) stay in ${opts.messagesDir}. Make that folder writable for this user.`);
    const none = { found: entries.length, sent: 0, refused: [], expired: 0, bad: 0, left: entries.length, undelivered: false, interrupted: false, failures: 1 };
    return { ...none, stoppedBy: cannotDelete };
  }

  const removeFile = async (e: SpoolEntry, what: string): Promise<boolean> => {
    try {
      await unlink(e.path);
      return true;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return true;
      failures++;
      log.error(`cannot delete ${e.name} (${what}): ${(err as Error).message}; it will be sent again by a later pass. Check the permissions of ${opts.messagesDir}.`);
      return false;
    }
  };

  const sendOne = async (e: SpoolEntry, body: ReportBody, bytes: number, report: Record<string, unknown> | undefined, session: string | undefined): Promise<void> => {
    const url = endpointUrl(opts.baseUrl, e.prefix);
    const onSlow = opts.onSlowAnswer;
    const slowMs = opts.slowAfterMs ?? 0;
    const slowTimer = onSlow ? setTimeout(() => onSlow(`no answer yet from ${maskUrl(url)} to ${e.name} after ${slowMs} ms; still waiting`), slowMs) : undefined;
    const result = await transport.send(url, body, e.name).finally(() => clearTimeout(slowTimer));
    const answer = describeResult(result);
    log.debug(`POST ${url} ${e.name} (${bytes} bytes): ${answer} after ${Math.round(result.ms)} ms`);
    const verdict = verdictOf(result);
    if (verdict === "accepted") {
      // A JF- names its session, so cncopagent knows the run has its finish report. The line
      // is written before the file goes: whoever reads the spool and then this log
      // (reports/session-reports.ts) finds the report in one of the two, never in neither.
      const what = e.prefix === "JF-" && session !== undefined ? sentFinishLine(e.name, escapeControls(session)) : `sent ${e.name}`;
      log.info(`${what} to ${url}: HTTP ${result.kind === "answer" ? result.status : ""}; deleting it`);
      if (await removeFile(e, "accepted")) sent++;
    } else if (verdict === "refused") {
      const age = now() - e.mtimeMs;
      if (isReportExpired(e.mtimeMs, now())) {
        if (await removeFile(e, "expired")) expired++;
        log.warn(`expired ${e.name}: refused by ${url} (${answer}) and written ${formatAge(age)} ago, more than ${REPORT_KEEP_DAYS} days: deleted; ${contentForLog(report, bytes)}`);
      } else {
        refused.push(e.name);
        const until = new Date(e.mtimeMs + REPORT_KEEP_MS).toISOString();
        log.warn(`refused ${e.name} by ${url}: ${answer}; kept and tried again on later runs until it expires at ${until}`);
      }
    } else {
      undelivered = true;
      stoppedBy ??= `${e.name} was not delivered to ${url}: ${answer}`;
      log.warn(`not delivered ${e.name} to ${url}: ${answer}; the report stays, and the pass stops`);
    }
  };

  const moveBad = (e: SpoolEntry, why: string): void => {
    try {
      const to = moveAside(opts.messagesDir, opts.badDir, e.name, existsSync);
      bad++;
      log.error(`bad report ${e.name}: ${why}; never sent, moved to ${to}`);
    } catch (err) {
      failures++;
      log.error(`bad report ${e.name}: ${why}; cannot move it to ${opts.badDir} (rename): ${(err as Error).message}; it stays in ${opts.messagesDir}`);
    }
  };

  for (const group of groups(entries)) {
    if (stopped()) break;
    const active = new Set<Promise<void>>();
    const busyKeys = new Set<string>();
    const width = group.length > (opts.sequentialUpTo ?? SEQUENTIAL_UP_TO) ? limit : 1;
    for (const e of group) {
      if (stopped()) break;
      if (e.size > MAX_REPORT_BYTES) {
        moveBad(e, `${formatBytes(e.size)} (${e.size} bytes) is over the limit of ${formatBytes(MAX_REPORT_BYTES)} for a report`);
        continue;
      }
      const r = await readReport(e.path, e.size);
      if (r.kind === "gone") {
        gone++;
        log.debug(`${e.name} is gone (sent by another reporter, or removed)`);
        continue;
      }
      if (r.kind === "unreadable") {
        failures++;
        log.error(`cannot read ${e.name}: ${r.why}; it stays in ${opts.messagesDir}`);
        continue;
      }
      if (r.kind === "bad") {
        moveBad(e, r.why);
        continue;
      }
      const key = r.key;
      while (active.size >= width || busyKeys.has(key)) await Promise.race(active);
      if (stopped()) break;
      busyKeys.add(key);
      const p: Promise<void> = sendOne(e, r.body, r.bytes, r.report, r.session).finally(() => {
        active.delete(p);
        busyKeys.delete(key);
      });
      active.add(p);
    }
    await Promise.all(active);
  }

  const interrupted = opts.stop?.aborted === true;
  if (interrupted && stoppedBy === undefined) stoppedBy = `interrupted by ${String(opts.stop?.reason ?? "a signal")}`;
  return {
    found: entries.length,
    sent,
    refused,
    expired,
    bad,
    left: Math.max(0, entries.length - sent - expired - bad - gone),
    undelivered,
    stoppedBy,
    interrupted,
    failures,
  };
}

/**
 * Can the reporter delete files in `dir`? Undefined when it can. POSIX: write and search
 * permission on the folder, on a file system mounted read-write (access(2)). Windows keeps
 * no such permission in a folder's attributes (its read-only attribute does not stop a
 * deletion), so there a probe file is created and deleted.
 */
export function deleteCheck(dir: string, platform: NodeJS.Platform = process.platform, access: (path: string, mode: number) => void = accessSync): string | undefined {
  if (platform === "win32") return probeDelete(dir);
  try {
    access(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    return `cannot delete reports in ${dir} (access for writing): ${(err as Error).message}`;
  }
}

function probeDelete(dir: string): string | undefined {
  const probe = nodePath.join(dir, `.cncopreporter-probe-${process.pid}.tmp`);
  try {
    closeSync(openSync(probe, "wx"));
  } catch (err) {
    // A full disk still lets files be deleted; an existing probe is a killed reporter's.
    const code = errnoCode(err);
    if (code === "ENOSPC" || code === "EDQUOT" || code === "EEXIST") return undefined;
    return `cannot delete reports in ${dir} (create ${probe}): ${(err as Error).message}`;
  }
  try {
    unlinkSync(probe);
    return undefined;
  } catch (err) {
    return `cannot delete reports in ${dir} (unlink ${probe}): ${(err as Error).message}`;
  }
}

/** An expired report's content for the log line: the report as one line of JSON, when it was read whole. */
function contentForLog(report: Record<string, unknown> | undefined, bytes: number): string {
  if (report) return `its content: ${JSON.stringify(report)}`;
  return `its content (${bytes} bytes) is too large to be copied into the log`;
}
