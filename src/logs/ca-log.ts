/**
 * cncopagent's own log: `<root>/Logs/CA-YY-MM-DD_HHMM.log` (local time), then `-001`,
 * `-002`, ... The file is created with O_EXCL, so concurrent invocations in the same
 * minute never share or overwrite a log. Under -d its diagnostic mirror, the CAD log
 * `Spool/Logs/CAD-YYYYMMDD.log` (local date), shared by the day's invocations.
 */
import { openSync } from "node:fs";
import { errnoCode } from "../cli/errors.ts";
import { caLogName, caLogPath, diagnosticLogPath, type Paths } from "../install/paths.ts";
import { FileLineLog, openLogFile } from "./log-file.ts";

export const MAX_CA_SUFFIX = 999;

/** Create a new CA log exclusively; returns its path and descriptor. */
export function createCaLogFile(logsDir: string, now: Date = new Date()): { path: string; fd: number } {
  for (let suffix = 0; suffix <= MAX_CA_SUFFIX * 10; suffix++) {
    const path = caLogPath(logsDir, now, suffix);
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
export function openDiagnosticLog(paths: Pick<Paths, "spoolLogs">, say: (text: string) => void, now: Date = new Date()): FileLineLog {
  return openLogFile(diagnosticLogPath(paths, now), say);
}
