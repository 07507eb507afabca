/**
 * cncopreporter's log: `Spool/Logs/RP-YYYYMMDD.log` (local date), appended by every pass,
 * lines `<timestamp> <LEVEL> <text>` like the agents' daily logs (docs/log-formats.md).
 * `-d` adds DEBUG lines and echoes every line on stderr; without it only errors reach
 * stderr.
 */
import { CncopError, EXIT } from "../cli/errors.ts";
import { FileLineLog, type LineLog } from "../logs/log-file.ts";
import { type Paths, reporterLogPath } from "../install/paths.ts";

export type Level = "INFO" | "WARN" | "ERROR" | "DEBUG";

export interface ReporterLog {
  readonly path: string;
  readonly debugging: boolean;
  info(text: string): void;
  warn(text: string): void;
  /** `echo: false`: the log only (the caller shows the message itself). */
  error(text: string, echo?: boolean): void;
  debug(text: string): void;
  close(): void;
}

/** Levelled lines over any LineLog; `echo` gets what a person should see on stderr. */
export function levelled(log: LineLog, debugging: boolean, echo: (text: string) => void): ReporterLog {
  const write = (level: Level, text: string, show = true) => {
    if (level === "DEBUG" && !debugging) return;
    log.line(`${level} ${text}`);
    if (!show || !(debugging || level === "ERROR")) return;
    const tag = level === "INFO" ? "" : `${level.toLowerCase()}: `;
    echo(`${text.startsWith("cncopreporter ") ? "" : "cncopreporter: "}${tag}${text}\n`);
  };
  return {
    path: log.path,
    debugging,
    info: (t) => write("INFO", t),
    warn: (t) => write("WARN", t),
    error: (t, show) => write("ERROR", t, show),
    debug: (t) => write("DEBUG", t),
    close: () => log.close(),
  };
}

export function openReporterLog(paths: Paths, debugging: boolean, echo: (text: string) => void = (t) => void process.stderr.write(t), now: Date = new Date()): ReporterLog {
  const path = reporterLogPath(paths, now);
  let file: FileLineLog;
  try {
    file = new FileLineLog(path, undefined, Date.now, (err) => echo(`cncopreporter: cannot write the log ${path}: ${(err as Error).message}\n`));
  } catch (err) {
    throw new CncopError(`cannot open the log ${path}: ${(err as Error).message}. Check the permissions of ${paths.spoolLogs}.`, EXIT.FAILED);
  }
  return levelled(file, debugging, echo);
}
