/**
 * An agent's daily log, `Spool/Logs/<PREFIX>-YYYYMMDD.log` (local date of the run's
 * start), in the format of docs/log-formats.md "Agents": START, ERROR, WARN, INFO, DEBUG
 * and FINISH lines after the timestamp. Every run appends; a run that crosses midnight
 * stays in the file it started in, so its START and FINISH are read together.
 *
 * Text from outside (titles, file names, messages from other programs) can hold line
 * breaks and control characters; they are escaped so that one event is one line.
 */
import { FileLineLog, type LineLog } from "../logs/log-file.ts";
import { dailyLogPath } from "../install/paths.ts";
import { type FinishState } from "../reports/finish-state.ts";

/** Control characters as visible escapes (`\n`, `\t`, `\x1b`): one event, one line. */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** `'Bob''s files'`: a title in quotes with `'` doubled. */
export function quoteTitle(title: string): string {
  return `'${oneLine(title).replace(/'/g, "''")}'`;
}

export interface RunIdentity {
  readonly jobid: number;
  readonly jobtitle: string;
  readonly session: string;
}

export function startLine(id: RunIdentity, attempt: number, dryrun: boolean): string {
  return `START job ${id.jobid} ${quoteTitle(id.jobtitle)} session ${oneLine(id.session)} attempt ${attempt}${dryrun ? " dry run" : ""}`;
}

/** Seconds with at most three decimals: `12s`, `0.25s`, `3.142s`. */
export function formatSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms)) / 1000;
  return `${Number(s.toFixed(3))}s`;
}

export function finishLine(id: RunIdentity, state: FinishState, files: number, bytes: number, durationMs: number): string {
  return `FINISH job ${id.jobid} ${quoteTitle(id.jobtitle)} session ${oneLine(id.session)} state ${state} files ${files} bytes ${bytes} duration ${formatSeconds(durationMs)}`;
}

export interface AgentLogOptions {
  readonly debug: boolean;
  /** Where ERROR and WARN lines are echoed for a person (and cncopagent's log): stderr. */
  readonly echo?: (text: string) => void;
}

/** The log an agent's work writes to. Counts its errors and warnings for the reports. */
export class AgentLog {
  errors = 0;
  warnings = 0;

  constructor(
    private readonly file: LineLog,
    private readonly opts: AgentLogOptions,
  ) {}

  get path(): string {
    return this.file.path;
  }

  get debugEnabled(): boolean {
    return this.opts.debug;
  }

  start(id: RunIdentity, attempt: number, dryrun: boolean): void {
    this.file.line(startLine(id, attempt, dryrun));
  }

  finish(id: RunIdentity, state: FinishState, files: number, bytes: number, durationMs: number): void {
    this.file.line(finishLine(id, state, files, bytes, durationMs));
  }

  error(message: string): void {
    this.errors++;
    this.file.line(`ERROR ${oneLine(message)}`);
    this.opts.echo?.(`ERROR ${message}`);
  }

  warn(message: string): void {
    this.warnings++;
    this.file.line(`WARN ${oneLine(message)}`);
    this.opts.echo?.(`WARN ${message}`);
  }

  info(message: string): void {
    this.file.line(`INFO ${oneLine(message)}`);
  }

  debug(message: string): void {
    if (this.opts.debug) this.file.line(`DEBUG ${oneLine(message)}`);
  }

  close(): void {
    this.file.close();
  }
}

export function openAgentLog(spoolLogs: string, prefix: string, opts: AgentLogOptions, now: Date = new Date()): AgentLog {
  let failed = false;
  const file = new FileLineLog(dailyLogPath(spoolLogs, prefix, now), undefined, Date.now, (err) => {
    // A full disk must not stop a backup: say it once on stderr and go on.
    if (!failed) process.stderr.write(`cannot write the log ${dailyLogPath(spoolLogs, prefix, now)}: ${(err as Error).message}\n`);
    failed = true;
  });
  return new AgentLog(file, opts);
}
