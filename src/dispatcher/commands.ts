/**
 * Pre/post commands (SPEC §5): split without a shell, confined to Bin/, run with the job
 * environment plus CNCOP_STATUS (post) and CNCOP_LOG, the root as working directory,
 * stdin empty, `command_timeout`, every output line into the CA log.
 */
import { CommandLineError, cmdExeArgv, formatCommandLine, isBatchFile, splitCommandLine, windowsCmdExe } from "../process/command-line.ts";
import { confineProgram, type ConfineFs, realFs } from "../process/confine.ts";
import type { LineLog, StreamSink } from "../logs/log-file.ts";
import { runProcess, type RunResult } from "../process/process-tree.ts";
import { exitStatusText } from "../process/exit-status.ts";
import { concatBytes, copyBytes } from "../format/bytes.ts";
import { maskText } from "../format/secrets.ts";
import { redactingSink } from "../logs/redact-sink.ts";
import { monotonicMs } from "../format/time.ts";

export type CommandKind = "prerun" | "postsuccess" | "postfailure";

export interface CommandOutcome {
  readonly kind: CommandKind;
  readonly commandLine: string;
  readonly ok: boolean;
  /** Why it was refused before anything ran. */
  readonly refused: string | undefined;
  readonly result: RunResult | undefined;
  /** The first bytes of stderr (up to STDERR_KEEP_BYTES). */
  readonly stderrHead: Uint8Array;
  /** In words: "exited with status 3", "timed out after 60 s", ... */
  readonly description: string;
}

/** How much of a command's stderr a JE- report quotes (SPEC §5). */
export const STDERR_EXCERPT_BYTES = 2048;
/** Kept a little longer, so the excerpt can tell a character the cut splits. */
export const STDERR_KEEP_BYTES = STDERR_EXCERPT_BYTES + 4;

/** How commands run; what runs is in the PlannedCommand. */
export interface CommandContext {
  readonly root: string;
  readonly timeoutSec: number;
  readonly graceMs: number;
  readonly log: LineLog;
  /** Aborting stops the command as interrupted; post commands run without one. */
  readonly abort?: AbortSignal | undefined;
  readonly platform?: NodeJS.Platform;
  readonly beforeSpawn?: (() => void) | undefined;
  readonly onSpawn?: ((pid: number) => void) | undefined;
  readonly onSpawnFailed?: (() => void) | undefined;
}

/** What a prepareCommand needs: where Bin/ is, and the file system and OS to check against. */
export interface PrepareContext {
  readonly bin: string;
  readonly platform?: NodeJS.Platform | undefined;
  readonly fs?: ConfineFs | undefined;
  readonly comspec?: string | undefined;
}

/** `file` is the checked real path that is started; argv[0] is the program as named in Bin/. */
export type PreparedCommand = { ok: true; argv: string[]; file: string; verbatim: boolean } | { ok: false; reason: string };

/** A pre/post command as it will be started, or why it is refused; nothing has run. */
export interface PlannedCommand {
  readonly kind: CommandKind;
  readonly line: string;
  /** As checked when the job was planned (what a dry run shows). */
  readonly prepared: PreparedCommand;
  /** Where its program must lie: checked again just before it starts. */
  readonly confineTo: PrepareContext;
  /** The job environment, CNCOP_LOG, and CNCOP_STATUS for post commands. */
  readonly env: Readonly<Record<string, string>>;
  /** The job's secrets: shown as *** in the command's output. */
  readonly secrets?: readonly string[] | undefined;
}

export { windowsCmdExe } from "../process/command-line.ts";

/** Split, confine and (for .cmd/.bat on Windows) wrap a command line: nothing runs here. */
export function prepareCommand(commandLine: string, ctx: PrepareContext): PreparedCommand {
  const platform = ctx.platform ?? process.platform;
  let words: string[];
  try {
    words = splitCommandLine(commandLine);
  } catch (err) {
    return { ok: false, reason: `cannot read the command line: ${(err as Error).message}` };
  }
  const [program, ...args] = words;
  if (program === undefined) return { ok: false, reason: "the command line is empty" };
  const confined = confineProgram(program, ctx.bin, platform, ctx.fs ?? realFs);
  if (!confined.ok) return { ok: false, reason: confined.reason };
  if (platform === "win32" && isBatchFile(confined.program)) {
    try {
      const argv = cmdExeArgv(confined.real, args, ctx.comspec ?? windowsCmdExe());
      return { ok: true, argv, file: argv[0]!, verbatim: true };
    } catch (err) {
      if (err instanceof CommandLineError) return { ok: false, reason: err.message };
      throw err;
    }
  }
  return { ok: true, argv: [confined.program, ...args], file: confined.real, verbatim: false };
}

function headKeeper(inner: StreamSink, keep: number): { sink: StreamSink; head: () => Uint8Array } {
  const parts: Uint8Array[] = [];
  let kept = 0;
  return {
    head: () => concatBytes(parts, kept),
    sink: {
      write(chunk: Uint8Array) {
        if (kept < keep) {
          // A copy: the chunk's memory is reused by the reader after write() returns.
          const part = copyBytes(chunk, 0, keep - kept);
          parts.push(part);
          kept += part.length;
        }
        inner.write(chunk);
      },
      end: () => inner.end(),
      get bytes() {
        return inner.bytes;
      },
      tail: () => inner.tail(),
    },
  };
}

export function describeResult(r: RunResult, timeoutSec: number): string {
  if (r.spawnError !== undefined && r.pid === undefined) return `could not be started: ${r.spawnError}`;
  if (r.timedOut) return `timed out after ${timeoutSec} s and was stopped`;
  if (r.interrupted) return "interrupted";
  if (r.signal) return `killed by ${r.signal}`;
  return `exited with status ${exitStatusText(r.exitCode)}`;
}

/** Run a planned command (a refused one is only logged); `extraEnv` adds what is known only now. */
export async function runCommand(command: PlannedCommand, extraEnv: Readonly<Record<string, string>>, ctx: CommandContext): Promise<CommandOutcome> {
  const { kind, line: commandLine } = command;
  // Split and confined again now: the plan's check may be hours old, and a prerun or the
  // agent may have changed Bin/ since (a program added, a link pointed outside).
  const prepared = prepareCommand(commandLine, command.confineTo);
  if (!prepared.ok) {
    ctx.log.line(`${kind}: refused ${JSON.stringify(commandLine)}: ${prepared.reason}`);
    return { kind, commandLine, ok: false, refused: prepared.reason, result: undefined, stderrHead: new Uint8Array(0), description: `refused: ${prepared.reason}` };
  }
  const real = prepared.file !== prepared.argv[0] && !prepared.verbatim ? ` (the file started: ${prepared.file})` : "";
  ctx.log.line(`${kind}: run: ${maskText(formatCommandLine(prepared.argv))}${real}`);
  const err = headKeeper(ctx.log.sink(`[${kind} stderr]`), STDERR_KEEP_BYTES);
  const secrets = command.secrets ?? [];
  const result = await runProcess({
    argv: prepared.argv,
    file: prepared.file,
    cwd: ctx.root,
    env: { ...command.env, ...extraEnv },
    deadline: monotonicMs() + ctx.timeoutSec * 1000,
    graceMs: ctx.graceMs,
    abort: ctx.abort,
    stdout: redactingSink(ctx.log.sink(`[${kind} stdout]`), secrets),
    stderr: redactingSink(err.sink, secrets),
    beforeSpawn: ctx.beforeSpawn,
    onSpawn: ctx.onSpawn,
    onSpawnFailed: ctx.onSpawnFailed,
    platform: ctx.platform,
    verbatim: prepared.verbatim,
    session: command.env.CNCOP_SESSION,
    log: (text: string) => ctx.log.line(`${kind}: ${text}`),
  });
  const ok = result.exitCode === 0 && !result.timedOut && !result.interrupted && result.signal === null;
  const description = describeResult(result, ctx.timeoutSec);
  ctx.log.line(`${kind}: ${description} after ${(result.durationMs / 1000).toFixed(1)} s`);
  return { kind, commandLine, ok, refused: undefined, result, stderrHead: err.head(), description };
}
