/**
 * cncopreporter's log: `Spool/Logs/RP-YYYYMMDD.log` (local date), appended by every pass,
 * lines `<timestamp> <LEVEL> <text>` like the agents' daily logs (docs/log-formats.md).
 * `-d` adds DEBUG lines and echoes every line on stderr; without it only errors reach
 * stderr. The echo goes through the suite's messages (format/messages.ts).
 */
import { LevelLog, type Level } from "../logs/level-log.ts";
import { FileLineLog, openLogFile, stderrFallback, type LineLog } from "../logs/log-file.ts";
import { type Paths, reporterLogPath } from "../install/paths.ts";
import { messages, type Messages } from "../format/messages.ts";

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

/** Shows a log line to a person. */
export type Echo = (level: Level, text: string) => void;

/**
 * The echo as messages: an error as `cncopreporter: error: <text>`; under -d the other
 * lines are debug output with the log's level word, `cncopreporter: warn: <text>`. A line
 * that names the program itself (`cncopreporter finished: ...`) is not tagged again.
 */
export function echoOn(say: Messages): Echo {
  const tagged = say.withTag(PROGRAM);
  return (level, text) => {
    const to = text.startsWith(`${PROGRAM} `) ? say : tagged;
    if (level === "ERROR") to.error(text);
    else to.debug(level === "INFO" ? text : `${level.toLowerCase()}: ${text}`);
  };
}

/** Levelled lines over any LineLog; `echo` shows a person what they should see. */
export function levelled(log: LineLog, debugging: boolean, echo: Echo): ReporterLog {
  const file = new LevelLog(log, debugging);
  const write = (level: Level, text: string, show = true) => {
    if (file.write(level, text) && show && (debugging || level === "ERROR")) echo(level, text);
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

/**
 * A log that cannot be opened or written (read-only or full `Spool/Logs/`) does not stop
 * the reports: it is said once with its path, and its lines go on to stderr (cron's mail,
 * the journal, or cncopagent's CA log when cncopagent ran it).
 */
export function openReporterLog(paths: Paths, debugging: boolean, say: Messages = messages, now: Date = new Date()): ReporterLog {
  const path = reporterLogPath(paths, now);
  let file: FileLineLog;
  try {
    // 0600 when new: the RP log can name URLs.
    file = openLogFile(path, (t) => say.withTag(PROGRAM).fail(`${t}; its lines go to stderr from here`), Date.now, 0o600);
  } catch (err) {
    say.withTag(PROGRAM).fail(`cannot open the log ${path} (open): ${(err as Error).message}; its lines go to stderr. Check the permissions of ${paths.spoolLogs}.`);
    file = new FileLineLog(path, null);
  }
  file.fallback = stderrFallback();
  return levelled(file, debugging, echoOn(say));
}
