/**
 * What a person sees (on stderr). On a terminal: each job with a live line (title,
 * attempt, elapsed time) and its final state in colour. Without a terminal: plain lines,
 * no colour, no animation, so Task Scheduler and cron capture clean text.
 */
import { createConsola } from "consola";
import { formatDuration } from "../format/time.ts";

export interface View {
  jobStarted(label: string, session: string): void;
  attempt(label: string, attempt: number, maxAttempts: number): void;
  waiting(label: string, seconds: number, rerun: number): void;
  jobEnded(label: string, status: string, reason: string, durationMs: number): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  close(): void;
}

export interface ViewOptions {
  readonly tty?: boolean;
  readonly write?: (text: string) => void;
  readonly now?: () => number;
}

export function createView(opts: ViewOptions = {}): View {
  const tty = opts.tty ?? (process.stderr.isTTY === true && process.env.TERM !== "dumb");
  const write = opts.write ?? ((t: string) => void process.stderr.write(t));
  return tty ? new TerminalView(write, opts.now ?? Date.now) : new PlainView(write);
}

class PlainView implements View {
  constructor(private readonly write: (t: string) => void) {}
  private out(t: string) {
    this.write(`${t}\n`);
  }
  jobStarted(label: string, session: string) {
    this.out(`${label}: started, session ${session}`);
  }
  attempt(label: string, attempt: number, maxAttempts: number) {
    this.out(`${label}: attempt ${attempt} of at most ${maxAttempts}`);
  }
  waiting(label: string, seconds: number, rerun: number) {
    this.out(`${label}: re-run ${rerun} in ${seconds} s`);
  }
  jobEnded(label: string, status: string, reason: string, durationMs: number) {
    this.out(`${label}: ${status}${reason ? ` (${reason})` : ""} after ${formatDuration(durationMs)}`);
  }
  info(t: string) {
    this.out(t);
  }
  warn(t: string) {
    this.out(`warning: ${t}`);
  }
  error(t: string) {
    this.out(`error: ${t}`);
  }
  close() {}
}

const GREEN = "\x1b[32m";
const RED = "\x1b[31m";
const YELLOW = "\x1b[33m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

class TerminalView implements View {
  private live: { label: string; attempt: number; max: number; since: number; note: string } | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly consola;

  constructor(
    private readonly write: (t: string) => void,
    private readonly now: () => number,
  ) {
    this.consola = createConsola({ fancy: true, stdout: process.stderr, stderr: process.stderr } as Parameters<typeof createConsola>[0]);
  }

  private clearLine() {
    if (this.live) this.write("\r\x1b[2K");
  }
  private draw() {
    if (!this.live) return;
    const l = this.live;
    const elapsed = formatDuration(this.now() - l.since);
    // Before its first attempt (prerun, lock) a job shows no attempt number.
    const attempt = l.attempt > 0 ? `attempt ${l.attempt}/${l.max} · ` : "";
    this.write(`\r\x1b[2K${YELLOW}▶${RESET} ${l.label} ${DIM}${attempt}${elapsed}${l.note ? ` · ${l.note}` : ""}${RESET}`);
  }
  private above(fn: () => void) {
    this.clearLine();
    fn();
    this.draw();
  }

  jobStarted(label: string, session: string) {
    this.above(() => this.write(`${DIM}${label}: session ${session}${RESET}\n`));
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
    if (this.live) this.live.note = `re-run ${rerun} in ${seconds} s`;
    this.draw();
  }
  jobEnded(label: string, status: string, reason: string, durationMs: number) {
    this.clearLine();
    this.live = undefined;
    const colour = status === "OK" ? GREEN : status === "SKIPPED" ? YELLOW : RED;
    const mark = status === "OK" ? "✔" : status === "SKIPPED" ? "–" : "✖";
    this.write(`${colour}${mark} ${label} ${status}${RESET}${reason && status !== "OK" ? ` (${reason})` : ""} ${DIM}${formatDuration(durationMs)}${RESET}\n`);
  }
  info(t: string) {
    this.above(() => this.consola.info(t));
  }
  warn(t: string) {
    this.above(() => this.consola.warn(t));
  }
  error(t: string) {
    this.above(() => this.consola.error(t));
  }
  close() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
    this.live = undefined;
  }
}
