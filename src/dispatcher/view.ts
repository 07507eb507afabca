/**
 * What a person sees (on stderr). On a terminal: each job with a live line (title,
 * attempt, elapsed time) and its final state in colour. Without a terminal: plain lines,
 * no colour, no animation, so Task Scheduler and cron capture clean text. Either way the
 * titles and messages are data: their control characters are shown escaped. Notes,
 * warnings and errors are printed by the suite's messages (format/messages.ts), above
 * the live line.
 */
import { escapeControls } from "../format/escape.ts";
import { maskText } from "../format/secrets.ts";
import { messages as processMessages, type Messages } from "../format/messages.ts";
import { ERASE_LINE, isTerminal, makePaint, shouldColour, type Paint, type Style } from "../format/terminal.ts";
import { formatDuration, monotonicMs } from "../format/time.ts";

export interface View {
  jobStarted(label: string, session: string): void;
  attempt(label: string, attempt: number, maxAttempts: number): void;
  waiting(label: string, seconds: number, rerun: number): void;
  /** What the job is doing besides an attempt: its prerun, post command, mail. */
  phase(label: string, text: string): void;
  jobEnded(label: string, status: string, reason: string, durationMs: number): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  close(): void;
}

/**
 * The words of each job line, the same in the live view and in plain output, so that what
 * support staff read on a terminal is what the scheduler's captured output says.
 */
export const JOB_WORDS = {
  started: (session: string) => `started, session ${session}`,
  attempt: (n: number, max: number) => `attempt ${n} of ${max}`,
  waiting: (seconds: number, rerun: number) => `waiting ${seconds} s before re-run ${rerun}`,
  ended: (status: string, reason: string, ms: number) => `${status}${reason ? ` (${reason})` : ""} after ${formatDuration(ms)}`,
  /** A job that never started: one sentence, `job 12 'Payroll' is already running since ..., skipped`. */
  skipped: (reason: string) => ` is ${reason}, skipped`,
};

export interface ViewOptions {
  /** A terminal: the live line. Default: stderr is a TTY and TERM is not `dumb`. */
  readonly tty?: boolean;
  /** How the live line and final states are painted. Default: colour when shouldColour(stderr). */
  readonly paint?: Paint;
  /** Where the view's own lines go; messages go through `messages`, to the same stream. */
  readonly write?: (text: string) => void;
  /** Notes, warnings, errors: untagged (`warning: ...`), on stderr. */
  readonly messages?: Messages;
  readonly now?: () => number;
}

export function createView(opts: ViewOptions = {}): View {
  const tty = opts.tty ?? isTerminal(process.stderr.isTTY);
  const write = opts.write ?? ((t: string) => void process.stderr.write(t));
  const say = opts.messages ?? processMessages;
  const view = tty
    ? new TerminalView(write, say, opts.now ?? monotonicMs, opts.paint ?? makePaint(shouldColour(process.stderr.isTTY)))
    : new PlainView(write, say);
  return escaping(view);
}

/** The view with the texts it draws itself escaped; messages are escaped by their reporter. */
function escaping(view: View): View {
  // The one masking and the one escaping of data, as every other writer does.
  const e = (text: string) => escapeControls(maskText(text));
  return {
    jobStarted: (label, session) => view.jobStarted(e(label), e(session)),
    attempt: (label, attempt, max) => view.attempt(e(label), attempt, max),
    waiting: (label, seconds, rerun) => view.waiting(e(label), seconds, rerun),
    phase: (label, text) => view.phase(e(label), e(text)),
    jobEnded: (label, status, reason, ms) => view.jobEnded(e(label), e(status), e(reason), ms),
    info: (t) => view.info(t),
    warn: (t) => view.warn(t),
    error: (t) => view.error(t),
    close: () => view.close(),
  };
}

class PlainView implements View {
  constructor(
    private readonly write: (t: string) => void,
    private readonly say: Messages,
  ) {}
  private out(t: string) {
    this.write(`${t}\n`);
  }
  jobStarted(label: string, session: string) {
    this.out(`${label}: ${JOB_WORDS.started(session)}`);
  }
  attempt(label: string, attempt: number, maxAttempts: number) {
    this.out(`${label}: ${JOB_WORDS.attempt(attempt, maxAttempts)}`);
  }
  waiting(label: string, seconds: number, rerun: number) {
    this.out(`${label}: ${JOB_WORDS.waiting(seconds, rerun)}`);
  }
  phase(label: string, text: string) {
    this.out(`${label}: ${text}`);
  }
  jobEnded(label: string, status: string, reason: string, durationMs: number) {
    this.out(status === "SKIPPED" ? `${label}${JOB_WORDS.skipped(reason)}` : `${label}: ${JOB_WORDS.ended(status, reason, durationMs)}`);
  }
  info(t: string) {
    this.say.info(t);
  }
  warn(t: string) {
    this.say.warn(t);
  }
  error(t: string) {
    this.say.error(t);
  }
  close() {}
}

const END_MARK: Record<string, [Style, string]> = { OK: ["ok", "✔"], SKIPPED: ["warn", "–"] };
const FAILED_MARK: [Style, string] = ["error", "✖"];

class TerminalView implements View {
  private live: { label: string; attempt: number; max: number; since: number; note: string } | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly write: (t: string) => void,
    private readonly say: Messages,
    private readonly now: () => number,
    private readonly paint: Paint,
  ) {}

  private clearLine() {
    if (this.live) this.write(ERASE_LINE);
  }
  private draw() {
    if (!this.live) return;
    const l = this.live;
    const elapsed = formatDuration(this.now() - l.since);
    // Before its first attempt (prerun) a job shows no attempt number.
    const attempt = l.attempt > 0 ? `${JOB_WORDS.attempt(l.attempt, l.max)} · ` : "";
    this.write(`${ERASE_LINE}${this.paint("warn", "▶")} ${l.label} ${this.paint("dim", `${attempt}${elapsed}${l.note ? ` · ${l.note}` : ""}`)}`);
  }
  /** A line printed above the live line, which is then drawn again. */
  private above(print: () => void) {
    this.clearLine();
    print();
    this.draw();
  }

  jobStarted(label: string, session: string) {
    this.above(() => this.write(`${this.paint("dim", `${label}: ${JOB_WORDS.started(session)}`)}\n`));
    this.live = { label, attempt: 0, max: 0, since: this.now(), note: "" };
    this.timer ??= setInterval(() => this.draw(), 1000);
    this.timer.unref?.();
    this.draw();
  }
  attempt(label: string, attempt: number, max: number) {
    if (this.live) Object.assign(this.live, { label, attempt, max, note: "" });
    this.draw();
  }
  waiting(_label: string, seconds: number, rerun: number) {
    if (this.live) this.live.note = JOB_WORDS.waiting(seconds, rerun);
    this.draw();
  }
  /** The live line shows the phase (prerun, post command); the line above keeps it. */
  phase(label: string, text: string) {
    this.above(() => this.write(`${this.paint("dim", `${label}: ${text}`)}\n`));
    if (this.live) this.live.note = text.replace(/:.*$/, "");
    this.draw();
  }
  jobEnded(label: string, status: string, reason: string, durationMs: number) {
    this.clearLine();
    this.live = undefined;
    const [style, mark] = END_MARK[status] ?? FAILED_MARK;
    if (status === "SKIPPED") this.write(`${this.paint(style, `${mark} ${label}`)}${JOB_WORDS.skipped(reason)}\n`);
    else this.write(`${this.paint(style, `${mark} ${label}: ${status}`)}${JOB_WORDS.ended("", reason, durationMs)}\n`);
  }
  info(t: string) {
    this.above(() => this.say.info(t));
  }
  warn(t: string) {
    this.above(() => this.say.warn(t));
  }
  error(t: string) {
    this.above(() => this.say.error(t));
  }
  close() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
    this.live = undefined;
  }
}
