/**
 * cncopagent invokes cncopreporter after each job (SPEC §5) so that the job's reports
 * leave at once. The reporter runs as a child with a time limit; its output and outcome
 * go to the CA log, and nothing it does changes the job's state. Without `[network] url`
 * it is not started at all: the reports stay in the spool, at no cost to a long run.
 *
 * Once a call of a run could not deliver (the reporter says so with EXIT_UNDELIVERED, or
 * ran out of its time limit), the later calls of that run are not made: a hanging or
 * unreachable report service costs one `timeout`, not one per job. The reports wait in
 * the spool for the next run or a scheduled reporter.
 */
import { existsSync, statSync } from "node:fs";
import nodePath from "node:path";
import { formatCommandLine } from "../process/command-line.ts";
import type { Config } from "../install/config.ts";
import type { LineLog } from "../logs/log-file.ts";
import { isCompiled, type Paths } from "../install/paths.ts";
import { runProcess, type RunResult, type RunSpec } from "../process/process-tree.ts";
import { formatDuration, monotonicMs } from "../format/time.ts";
import { EXIT_UNDELIVERED, INVOKED_BY_ENV } from "./answer.ts";
import { exitStatusText } from "../process/exit-status.ts";

export const REPORTER = "cncopreporter";
/** Between SIGTERM (the reporter stops sending and awaits its answers) and SIGKILL. */
export const INVOKE_GRACE_MS = 10_000;

/** What the calls of one cncopagent run know: the first "not delivered", once seen. */
export interface ReporterRunState {
  undelivered: string | undefined;
}

export function newReporterRunState(): ReporterRunState {
  return { undelivered: undefined };
}

export interface InvokeReporterOptions {
  readonly paths: Paths;
  readonly config: Config;
  readonly log: LineLog;
  readonly debug: boolean;
  /** Shared by the calls of one run; without it every call runs. */
  readonly state?: ReporterRunState;
}

export interface ReporterCommand {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface CommandInputs {
  readonly compiled: boolean;
  /** This process's executable (the suite's binary, or bun when run from source). */
  readonly execPath: string;
  /** src/cli.ts, when run from source. */
  readonly cliPath: string;
  readonly platform: NodeJS.Platform;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly isFile: (path: string) => boolean;
}

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

export function defaultInputs(): CommandInputs {
  return {
    compiled: isCompiled(),
    execPath: process.execPath,
    cliPath: nodePath.join(import.meta.dir, "..", "cli.ts"),
    platform: process.platform,
    env: process.env,
    isFile,
  };
}

/**
 * `<Bin>/cncopreporter [-d] -c <config>`; when that file is missing, the suite's own
 * executable under the reporter's name; from source, `bun src/cli.ts cncopreporter`.
 */
export function reporterCommand(paths: Paths, debug: boolean, inp: CommandInputs): ReporterCommand {
  const args = [...(debug ? ["-d"] : []), "-c", paths.configFile];
  const env: Record<string, string | undefined> = { ...inp.env, CNCOP_HOME: paths.root, [INVOKED_BY_ENV]: "cncopagent" };
  delete env.CNCOP_PROGRAM;
  if (!inp.compiled) return { argv: [inp.execPath, inp.cliPath, REPORTER, ...args], env };
  const p = inp.platform === "win32" ? nodePath.win32 : nodePath.posix;
  const inBin = p.join(paths.bin, inp.platform === "win32" ? `${REPORTER}.exe` : REPORTER);
  if (inp.isFile(inBin)) return { argv: [inBin, ...args], env };
  return { argv: [inp.execPath, ...args], env: { ...env, CNCOP_PROGRAM: REPORTER } };
}

/** Long enough for a pass whose requests time out, and for a backlog to make headway. */
export function reporterTimeLimitMs(config: Config): number {
  return (2 * config.network.timeoutSec + 60) * 1000;
}

export function describeOutcome(r: RunResult, limitMs: number): string {
  const after = formatDuration(r.durationMs);
  if (r.spawnError !== undefined) return `${REPORTER} could not be started (${r.spawnError}); the reports stay in the spool`;
  if (r.timedOut) return `${REPORTER} was stopped after the time limit of ${formatDuration(limitMs)}; the reports it did not send stay in the spool`;
  if (r.signal) return `${REPORTER} was killed by ${r.signal} after ${after}`;
  if (r.exitCode === EXIT_UNDELIVERED) return `${REPORTER} exited with status ${exitStatusText(r.exitCode)} after ${after}: a report was not delivered`;
  return `${REPORTER} exited with status ${exitStatusText(r.exitCode)} after ${after}`;
}

export interface InvokeDeps {
  readonly command?: ReporterCommand;
  readonly timeLimitMs?: number;
  readonly run?: (spec: RunSpec) => Promise<RunResult>;
}

/** Never throws and never changes a job's outcome: everything ends up in the log. */
export async function invokeReporter(opts: InvokeReporterOptions, deps: InvokeDeps = {}): Promise<void> {
  const { paths, config, log } = opts;
  if (!config.network.url) {
    log.line(`${REPORTER} not run: no [network] url in ${config.file}; the reports stay in ${paths.messages}`);
    return;
  }
  if (opts.state?.undelivered !== undefined) {
    log.line(`${REPORTER} not run: ${opts.state.undelivered}; the reports stay in ${paths.messages} for the next run or a scheduled ${REPORTER}`);
    return;
  }
  try {
    const cmd = deps.command ?? reporterCommand(paths, opts.debug, defaultInputs());
    const limitMs = deps.timeLimitMs ?? reporterTimeLimitMs(config);
    log.line(`${REPORTER}: run: ${formatCommandLine(cmd.argv)}`);
    const result = await (deps.run ?? runProcess)({
      argv: cmd.argv,
      cwd: paths.root,
      env: cmd.env,
      deadline: monotonicMs() + limitMs,
      graceMs: INVOKE_GRACE_MS,
      stdout: log.sink(`[${REPORTER} stdout]`),
      stderr: log.sink(`[${REPORTER} stderr]`),
    });
    log.line(describeOutcome(result, limitMs));
    if (opts.state && (result.timedOut || result.exitCode === EXIT_UNDELIVERED)) {
      opts.state.undelivered = `a report was not delivered earlier in this run (${REPORTER} ${result.timedOut ? "ran out of its time limit" : `exited with status ${EXIT_UNDELIVERED}`} at ${new Date().toISOString()})`;
    }
  } catch (err) {
    log.line(`${REPORTER} could not be run: ${(err as Error).message}; the reports stay in the spool`);
  }
}
