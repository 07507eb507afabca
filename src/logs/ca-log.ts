/**
 * cncopagent's own log: `<root>/Logs/CA-YY-MM-DD_HHMM.log` (local time), then `-001`,
 * `-002`, ... The file is created with O_EXCL, so concurrent invocations in the same
 * minute never share or overwrite a log. Under -d its diagnostic mirror, the CAD log
 * `Spool/Logs/CAD-YYYYMMDD.log` (local date), shared by the day's invocations.
 */
import { openSync } from "node:fs";
import nodePath from "node:path";
import { errnoCode } from "../cli/errors.ts";
import { localDateStamp } from "../format/time.ts";
import { FileLineLog, openLogFile } from "./log-file.ts";

const pad2 = (n: number) => String(n).padStart(2, "0");
export const MAX_CA_SUFFIX = 999;

/** `CA-YY-MM-DD_HHMM.log`, or with `-NNN` for suffix > 0. */
export function caLogName(d: Date, suffix = 0): string {
  const base = `CA-${pad2(d.getFullYear() % 100)}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}_${pad2(d.getHours())}${pad2(d.getMinutes())}`;
  return suffix === 0 ? `${base}.log` : `${base}-${String(suffix).padStart(3, "0")}.log`;
}

export const CA_LOG_RE = /^CA-\d{2}-\d{2}-\d{2}_\d{4}(-\d{3,})?\.log$/;

/** Create a new CA log exclusively; returns its path and descriptor. */
export function createCaLogFile(logsDir: string, now: Date = new Date()): { path: string; fd: number } {
  for (let suffix = 0; suffix <= MAX_CA_SUFFIX * 10; suffix++) {
    const path = nodePath.join(logsDir, caLogName(now, suffix));
    try {
      return { path, fd: openSync(path, "wx", 0o644) };
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw err;
    }
  }
  throw new Error(`no free CA log name in ${logsDir} for ${caLogName(now)}`);
}

export function openCaLog(logsDir: string, now: Date = new Date(), onError?: (err: unknown) => void): FileLineLog {
  const { path, fd } = createCaLogFile(logsDir, now);
  return new FileLineLog(path, fd, Date.now, onError);
}

/** The CAD log, appended; its first write failure is said through `say`, as the CA log's is. */
export function openDiagnosticLog(spoolLogs: string, say: (text: string) => void, now: Date = new Date()): FileLineLog {
  return openLogFile(nodePath.join(spoolLogs, `CAD-${localDateStamp(now)}.log`), say);
}
