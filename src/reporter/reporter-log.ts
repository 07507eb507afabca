/**
 * cncopreporter's log: `Spool/Logs/RP-YYYYMMDD.log` (local date), appended by every pass,
 * lines `<timestamp> <LEVEL> <text>` like the agents' daily logs (docs/log-formats.md).
 * `-d` adds DEBUG lines and echoes every line on stderr; without it only errors reach
 * stderr.
 */
import nodePath from "node:path";
import { CncopError, EXIT } from "../cli/errors.ts";
import { LevelLog, type Level } from "../logs/level-log.ts";
import { openLogFile, type FileLineLog, type LineLog } from "../logs/log-file.ts";
import type { Paths } from "../install/paths.ts";
import { escapeControls } from "../format/escape.ts";
import { localDateStamp } from "../format/time.ts";

export const RP_PREFIX = "RP";
const PROGRAM = "cncopreporter";

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

export function reporterLogPath(paths: Paths, now: Date = new Date()): string {
  return nodePath.join(paths.spoolLogs, `${RP_PREFIX}-${localDateStamp(now)}.log`);
}

/** A log line as a person sees it on stderr: `cncopreporter: warn: <text>`, data escaped. */
export function echoText(level: Level, text: string): string {
  const shown = `${level === "INFO" ? "" : `${level.toLowerCase()}: `}${escapeControls(text)}\n`;
  return text.startsWith(`${PROGRAM} `) ? shown : `${PROGRAM}: ${shown}`;
}

/** Levelled lines over any LineLog; `echo` gets what a person should see on stderr. */
export function levelled(log: LineLog, debugging: boolean, echo: (text: string) => void): ReporterLog {
  const file = new LevelLog(log, debugging);
  const write = (level: Level, text: string, show = true) => {
    if (file.write(level, text) && show && (debugging || level === "ERROR")) echo(echoText(level, text));
  };
  return {
    path: file.path,
    debugging,
    info: (t) => write("INFO", t),
    warn: (t) => write("WARN", t),
    error: (t, show) => write("ERROR", t, show),
    debug: (t) => write("DEBUG", t),
    close: () => file.close(),
  };
}

export function openReporterLog(paths: Paths, debugging: boolean, echo: (text: string) => void = (t) => void process.stderr.write(t), now: Date = new Date()): ReporterLog {
  const path = reporterLogPath(paths, now);
  let file: FileLineLog;
  try {
    file = openLogFile(path, (t) => echo(`${PROGRAM}: ${t}\n`));
  } catch (err) {
    throw new CncopError(`cannot open the log ${path}: ${(err as Error).message}. Check the permissions of ${paths.spoolLogs}.`, EXIT.FAILED);
  }
  return levelled(file, debugging, echo);
}
