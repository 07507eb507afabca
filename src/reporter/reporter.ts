/**
 * One cncopreporter invocation after its arguments are read: no url, nothing sent; else
 * take the pass lock (or leave the work to the reporter holding it), run passes while
 * other reporters ask for one, and sum up. Expected trouble on the network is not a
 * failure: the reports stay for the next run.
 */
import nodePath from "node:path";
import type { Config } from "../install/config.ts";
import { CncopError, EXIT } from "../cli/errors.ts";
import { type Paths, reporterLockFiles } from "../install/paths.ts";
import { VERSION } from "../cli/version.ts";
import { REPORT_KEEP_DAYS } from "./answer.ts";
import { acquirePassLock, passWanted, requestPass } from "./pass-lock.ts";
import { IN_FLIGHT, type PassResult, runPass } from "./pass.ts";
import type { ReporterLog } from "./reporter-log.ts";
import { scanMessages } from "./spool-scan.ts";
import { removeStaleReportTemps } from "../reports/report-files.ts";
import { removeStaleTemps } from "../install/atomic-write.ts";
import { createFetchTransport, loadTrust, type Transport } from "./transport.ts";

/** Passes one invocation runs at most while other reporters keep asking for one. */
export const MAX_PASSES = 10;

export interface ReporterOptions {
  readonly paths: Paths;
  readonly config: Config;
  readonly log: ReporterLog;
  readonly stop?: AbortSignal;
  readonly transport?: Transport;
  readonly inFlight?: number;
  /** See PassOptions.onSlowAnswer. */
  readonly onSlowAnswer?: (text: string) => void;
  readonly slowAfterMs?: number;
}

export interface ReporterSummary {
  /** What happened, in one line (stdout and the log's last line). */
  readonly text: string;
  /** Anything worth a line on stdout: reports were there, or another reporter had them. */
  readonly eventful: boolean;
  readonly failures: number;
  readonly interrupted: boolean;
  /** A report was not delivered: the pass stopped on it. */
  readonly undelivered: boolean;
}

interface Totals {
  found: number;
  sent: number;
  refused: number;
  expired: number;
  bad: number;
  left: number;
  failures: number;
  stoppedBy: string | undefined;
  interrupted: boolean;
  undelivered: boolean;
}

export function summaryText(t: Totals): string {
  const base = `${t.sent} sent, ${t.refused} refused, ${t.expired} expired, ${t.bad} bad, ${t.left} left in the spool`;
  return t.stoppedBy ? `${base}; stopped: ${t.stoppedBy}` : base;
}

export function caFilePath(paths: Paths, caFile: string): string {
  return nodePath.resolve(paths.root, caFile);
}

export async function runReporter(opts: ReporterOptions): Promise<ReporterSummary> {
  const { paths, config, log } = opts;
  const net = config.network;
  const leftovers = removeStaleReportTemps(paths.messages);
  if (leftovers.length > 0) {
    log.info(`removed ${leftovers.length} leftover temporary report file(s) of writers stopped mid-write: ${leftovers.join(", ")}`);
  }
  const lockTemps = removeStaleTemps(paths.locks);
  if (lockTemps.length > 0) log.info(`removed ${lockTemps.length} leftover temporary lock record file(s) of interrupted writes in ${paths.locks}: ${lockTemps.join(", ")}`);
  if (!net.url) {
    const waiting = scanMessages(paths.messages).length;
    const text = `no [network] url in ${config.file}: nothing sent; ${waiting} report(s) stay in ${paths.messages}`;
    log.info(text);
    return { text, eventful: waiting > 0, failures: 0, interrupted: false, undelivered: false };
  }
  if (net.apiKey !== undefined && !/^[\x21-\x7e]+$/.test(net.apiKey)) {
    // fetch would refuse every request, and the reports would wait forever without a hint.
    throw new CncopError(`${config.file}: [network] api_key holds spaces or characters other than printable ASCII, which cannot be sent in an HTTP header. Check the key.`, EXIT.USAGE);
  }
  const ca = net.caFile ? loadTrust(caFilePath(paths, net.caFile), config.file) : undefined;
  const transport =
    opts.transport ?? createFetchTransport({ apiKey: net.apiKey, ca, timeoutMs: net.timeoutSec * 1000, userAgent: `cncopreporter/${VERSION}` });
  log.debug(
    `url ${net.url}, api_key ${net.apiKey ? "set" : "not set"}, ca_file ${net.caFile ? caFilePath(paths, net.caFile) : "none (bundled and system roots)"}, timeout ${net.timeoutSec} s, ${opts.inFlight ?? IN_FLIGHT} request(s) in flight at most, reports expire ${REPORT_KEEP_DAYS} days after they were written when refused`,
  );

  const files = reporterLockFiles(paths.locks);
  try {
    requestPass(files);
  } catch (err) {
    throw new CncopError(`cannot ask for a pass: write ${files.wanted}: ${(err as Error).message}; nothing sent, the reports stay in ${paths.messages}. Check that ${paths.locks} can be written.`, EXIT.FAILED);
  }
  const totals: Totals = { found: 0, sent: 0, refused: 0, expired: 0, bad: 0, left: 0, failures: 0, stoppedBy: undefined, interrupted: false, undelivered: false };
  const refusedNames = new Set<string>();
  let busyText: string | undefined;
  for (let round = 1; round <= MAX_PASSES; round++) {
    let lock: ReturnType<typeof acquirePassLock>;
    try {
      lock = acquirePassLock(files, (t) => log.info(t));
    } catch (err) {
      if (err instanceof CncopError) throw err;
      throw new CncopError(`cannot take the reporter's pass lock ${files.record}: ${(err as Error).message}; nothing sent, the reports stay in ${paths.messages}`, EXIT.FAILED);
    }
    if ("busy" in lock) {
      const o = lock.busy;
      const who = o ? `pid ${o.process.pid}, since ${o.started}` : "starting right now";
      const text = round === 1 ? `another cncopreporter (${who}) is running a pass; it sends these reports too` : `another cncopreporter (${who}) took over the next pass`;
      log.info(text);
      if (round === 1) busyText = text;
      break;
    }
    let r: PassResult;
    try {
      r = await runPass({ messagesDir: paths.messages, badDir: paths.badMessages, baseUrl: net.url, transport, log, skip: refusedNames, stop: opts.stop, inFlight: opts.inFlight, onSlowAnswer: opts.onSlowAnswer, slowAfterMs: opts.slowAfterMs });
    } finally {
      lock.held.release();
    }
    for (const n of r.refused) refusedNames.add(n);
    totals.found += r.found;
    totals.sent += r.sent;
    totals.expired += r.expired;
    totals.bad += r.bad;
    totals.failures += r.failures;
    totals.stoppedBy = r.stoppedBy;
    totals.interrupted ||= r.interrupted;
    totals.undelivered ||= r.undelivered;
    if (r.stoppedBy !== undefined || !passWanted(files)) break;
    log.info("another cncopreporter asked for a pass while this one ran: passing again");
  }
  totals.refused = refusedNames.size;
  if (busyText !== undefined) return { text: busyText, eventful: true, failures: 0, interrupted: false, undelivered: false };
  // What is in the spool now: refused, not delivered, not tried, or written meanwhile.
  totals.left = scanMessages(paths.messages).length;
  return { text: summaryText(totals), eventful: totals.found > 0 || totals.failures > 0, failures: totals.failures, interrupted: totals.interrupted, undelivered: totals.undelivered };
}
