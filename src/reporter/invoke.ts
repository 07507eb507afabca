/**
 * How cncopagent starts cncopreporter after each job (SPEC §5): the command, its time
 * limit, and the CA log line of its outcome. The calls of a run (started without waiting,
 * one at a time, none after a "not delivered") are in run-calls.ts. Without `[network] url`
 * it is not started at all: the reports stay in the spool, at no cost to a long run.
 */
import { existsSync, statSync } from "node:fs";
import nodePath from "node:path";
import type { Config } from "../install/config.ts";
import type { LineLog } from "../logs/log-file.ts";
import { isCompiled, type Paths } from "../install/paths.ts";
import type { RunResult, RunSpec } from "../process/process-tree.ts";
import { formatDuration } from "../format/time.ts";
import { EXIT_UNDELIVERED, INVOKED_BY_ENV } from "./answer.ts";
import { exitStatusText } from "../process/exit-status.ts";

export const REPORTER = "cncopreporter";
/** Between SIGTERM (the reporter stops sending and awaits its answers) and SIGKILL. */
export const INVOKE_GRACE_MS = 10_000;

export interface InvokeReporterOptions {
  readonly paths: Paths;
  readonly config: Config;
  readonly log: LineLog;
  readonly debug: boolean;
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
