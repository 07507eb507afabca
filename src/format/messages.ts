/**
 * What the programs say to a person (warnings, errors, notes, cncopreporter's summary) goes
 * through one consola instance and our reporter, which prints plain lines: no time, no
 * badge, `<program>: ` when the message is tagged with its program, then the level word
 * (`warning: `, `error: `, `internal error: `) in the scheme's colour on a terminal, then
 * the text with its control characters shown escaped (format/escape.ts): messages carry
 * data. A text given as several arguments is several lines, each escaped (an error's
 * usage line, a list of problems, a stack trace).
 *
 * `log` messages go to stdout, every other type to stderr. consola's throttling (repeated
 * messages collapsed) is off: every message is printed.
 */
import { createConsola, LogLevels, type ConsolaInstance, type ConsolaReporter, type LogType } from "consola/core";
import { escapeControls } from "./escape.ts";
import { maskText } from "./secrets.ts";
import { makePaint, shouldColour, type Paint, type Style } from "./terminal.ts";

export type Messages = ConsolaInstance;

/** The part of a stream the reporter uses; tests pass their own. */
export interface MessageStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const LABELS: Partial<Record<LogType, [Style, string]>> = {
  fatal: ["error", "internal error:"],
  error: ["error", "error:"],
  warn: ["warn", "warning:"],
};

/** `[<tag>: ][<label> ]<lines, escaped>`: one message as a person reads it. */
export function formatMessage(type: LogType, tag: string, args: readonly unknown[], paint: Paint): string {
  const label = LABELS[type];
  const head = `${tag ? `${tag}: ` : ""}${label ? `${paint(label[0], label[1])} ` : ""}`;
  return `${head}${args.map((a) => escapeControls(maskText(String(a)))).join("\n")}\n`;
}

export function plainReporter(paintFor: (stream: MessageStream) => Paint, defaultTag: () => string = () => ""): ConsolaReporter {
  return {
    log(logObj, ctx) {
      const stream = (logObj.type === "log" ? ctx.options.stdout : ctx.options.stderr) as MessageStream;
      stream.write(formatMessage(logObj.type, logObj.tag || defaultTag(), logObj.args, paintFor(stream)));
    },
  };
}

export interface MessagesOptions {
  readonly stdout?: MessageStream;
  readonly stderr?: MessageStream;
  /** How a stream is painted. Default: the scheme's colours when shouldColour() says so. */
  readonly paintFor?: (stream: MessageStream) => Paint;
  /** The tag of an untagged message (the process's messages: its program's name). */
  readonly defaultTag?: () => string;
}

export function createMessages(opts: MessagesOptions = {}): Messages {
  return createConsola({
    // Which messages to print is decided by the programs (-d), not by consola's level.
    level: LogLevels.verbose,
    throttle: 0,
    throttleMin: Number.POSITIVE_INFINITY,
    stdout: (opts.stdout ?? process.stdout) as NodeJS.WriteStream,
    stderr: (opts.stderr ?? process.stderr) as NodeJS.WriteStream,
    reporters: [plainReporter(opts.paintFor ?? ((s) => makePaint(shouldColour(s.isTTY))), opts.defaultTag)],
  });
}

/** The process's messages, on its stdout and stderr. */
let speaker = "";
export const messages: Messages = createMessages({ defaultTag: () => speaker });

/**
 * Every message of this process is `<program>: ...` from here on: one voice for each
 * program, whether the message comes from its own code or from a shared module.
 */
export function speakAs(program: string): void {
  speaker = program;
}
