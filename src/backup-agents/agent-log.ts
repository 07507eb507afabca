/**
 * An agent's daily log, `Spool/Logs/<PREFIX>-YYYYMMDD.log` (local date of the run's
 * start), in the format of docs/log-formats.md "Agents": START, ERROR, WARN, INFO, DEBUG
 * and FINISH lines after the timestamp. Every run appends; a run that crosses midnight
 * stays in the file it started in, so its START and FINISH are read together.
 *
 * Text from outside (titles, file names, messages from other programs) can hold line
 * breaks and control characters: the log writer escapes them, so one event is one line.
 */
import { dailyLogPath } from "../install/paths.ts";
import { LevelLog } from "../logs/level-log.ts";
import { FileLineLog, openLogFile, stderrFallback } from "../logs/log-file.ts";
import { escapeControls } from "../format/escape.ts";
import { messages } from "../format/messages.ts";
import { MASK, maskText } from "../format/secrets.ts";
import { type FinishState } from "../reports/finish-state.ts";

/** `'Bob''s files'`: a title in quotes with `'` doubled, its control characters escaped. */
export function quoteTitle(title: string): string {
  return `'${escapeControls(title).replace(/'/g, "''")}'`;
}

export interface RunIdentity {
  readonly jobid: bigint | number;
  readonly jobtitle: string;
  readonly session: string;
}

export function startLine(id: RunIdentity, attempt: number, dryrun: boolean): string {
  return `START job ${id.jobid} ${quoteTitle(id.jobtitle)} session ${escapeControls(id.session)} attempt ${attempt}${dryrun ? " dry run" : ""}`;
}

/** Seconds with at most three decimals: `12s`, `0.25s`, `3.142s`. */
export function formatSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms)) / 1000;
  return `${Number(s.toFixed(3))}s`;
}

export function finishLine(id: RunIdentity, state: FinishState, files: number, bytes: number, durationMs: number): string {
  return `FINISH job ${id.jobid} ${quoteTitle(id.jobtitle)} session ${escapeControls(id.session)} state ${state} files ${files} bytes ${bytes} duration ${formatSeconds(durationMs)}`;
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
  /** The job's own secrets, longest first: shown as `***` in every line (see hideSecrets). */
  private secrets: readonly string[] = [];

  constructor(
    private readonly file: LevelLog,
    /** Where ERROR and WARN lines are echoed for a person (and cncopagent's log): stderr. */
    private readonly echo?: (text: string) => void,
  ) {}

  get path(): string {
    return this.file.path;
  }

  get debugEnabled(): boolean {
    return this.file.debugging;
  }

  start(id: RunIdentity, attempt: number, dryrun: boolean): void {
    this.file.line(startLine(id, attempt, dryrun));
  }

  finish(id: RunIdentity, state: FinishState, files: number, bytes: number, durationMs: number): void {
    this.file.line(finishLine(id, state, files, bytes, durationMs));
  }

  /**
   * From now on the job's secrets (format/secrets.ts jobSecrets: its settings' passwords,
   * its URLs' passwords) are `***` in every line, whatever quotes them: a server's reply,
   * a library's error. The log writer's maskText hides what looks like a secret; this
   * hides what is known to be one.
   */
  hideSecrets(secrets: readonly string[]): void {
    this.secrets = [...new Set(secrets)].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  }

  private clean(message: string): string {
    let out = message;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(MASK);
    return out;
  }

  error(message: string): void {
    const text = this.clean(message);
    this.errors++;
    this.file.write("ERROR", text);
    this.echo?.(`ERROR ${escapeControls(maskText(text))}`);
  }

  warn(message: string): void {
    const text = this.clean(message);
    this.warnings++;
    this.file.write("WARN", text);
    this.echo?.(`WARN ${escapeControls(maskText(text))}`);
  }

  info(message: string): void {
    this.file.write("INFO", this.clean(message));
  }

  debug(message: string): void {
    this.file.write("DEBUG", this.clean(message));
  }

  close(): void {
    this.file.close();
  }
}

/**
 * A full or read-only disk must not stop a backup: the failure is said once on stderr with
 * the path, and the log's lines go on to stderr, which cncopagent keeps in its CA log.
 */
export function openAgentLog(spoolLogs: string, prefix: string, opts: AgentLogOptions, now: Date = new Date()): AgentLog {
  const path = dailyLogPath(spoolLogs, prefix, now);
  let file: FileLineLog;
  try {
    // 0600 when new: an agent's log can name URLs and hosts of remote systems.
    file = openLogFile(path, (t) => messages.fail(`${t}; its lines go to stderr from here`), Date.now, 0o600);
  } catch (err) {
    messages.fail(`cannot open the log ${path} (open): ${(err as Error).message}; its lines go to stderr`);
    file = new FileLineLog(path, null);
  }
  file.fallback = stderrFallback();
  return new AgentLog(new LevelLog(file, opts.debug), opts.echo);
}
