/**
 * One attempt of a job: its agents started together (CCS runs two), each streamed into the
 * CA log, stopped at the job's deadline or on interruption; the worse verdict decides.
 */
import type { LineLog } from "../logs/log-file.ts";
import { runProcess, type RunResult } from "../process/process-tree.ts";
import { redactingSink } from "../logs/redact-sink.ts";
import { exitStatusText } from "../process/exit-status.ts";
import type { AttemptRecord } from "../reports/report-files.ts";
import { formatCommandLine } from "../process/command-line.ts";
import { formatDuration, isoUtc } from "../format/time.ts";
import type { JobIdLike } from "../install/job-id.ts";
import { agentLaunch } from "./agent-launch.ts";
import { type JobPlan, lookUpAgent } from "./plan.ts";
import { stateOf, type StateVerdict, worstOf } from "./states.ts";
import { agentRuntimeEnv } from "./agent-env.ts";

export interface AgentExit {
  readonly agent: string;
  readonly exitcode: number | null;
  readonly signal: string | null;
  readonly state: StateVerdict["state"];
  readonly reason: string;
}

export interface AttemptDetail extends AttemptRecord {
  readonly number: number;
  /** The longest of its agents' runs, from the monotonic clock. */
  readonly durationMs?: number;
  readonly agents: readonly AgentExit[];
}

/** Called around each start so the job lock records every child. */
export interface SpawnHooks {
  readonly beforeSpawn: () => void;
  readonly onSpawn: (pid: number) => void;
  readonly onSpawnFailed: () => void;
}

export interface AttemptContext {
  readonly root: string;
  readonly log: LineLog;
  readonly abort: AbortSignal;
  readonly graceMs: number;
  /** Absent when no lock records the children (dry run). */
  readonly hooks: SpawnHooks | undefined;
}

export interface AttemptRun {
  readonly detail: AttemptDetail;
  readonly verdict: StateVerdict;
  readonly results: RunResult[];
  /** The last lines of the agents' output, for mail. */
  readonly tail: string[];
  /** Each agent's own summary of the attempt (its last `<agent>: job N '...': STATE: words` line). */
  readonly summaries: readonly { readonly agent: string; readonly words: string }[];
  /** The last line the deciding agent wrote on stderr (its own words), if any. */
  readonly lastWords: string | undefined;
}

/**
 * The words of an agent's summary line (`backupagentcifs: job 1 'Docs': OK: dry run: would
 * copy 1 (4 bytes), ...` gives `dry run: would copy 1 (4 bytes), ...`), from its output's
 * last lines; undefined when it printed none.
 */
export function agentSummaryOf(agent: string, jobid: JobIdLike, lines: readonly string[]): string | undefined {
  const head = `${agent}: job ${jobid} '`;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.startsWith(head)) continue;
    const m = /': (?:OK|ERROR|RE-RUN): (.*)$/.exec(line.slice(head.length - 1));
    if (m) return m[1];
  }
  return undefined;
}

/** The result of an agent that was not started. */
function notStarted(argv: readonly string[], why: string): RunResult {
  const at = new Date();
  return { argv, pid: undefined, exitCode: null, signal: null, timedOut: false, interrupted: false, spawnError: why, started: at, finished: at, durationMs: 0 };
}

/** A level word our agents put before an echoed line (`ERROR the source ...`). */
const LEVEL_WORD = /^(?:ERROR|WARN|error:|warning:)\s+/;

/** The last non-blank line of a stderr tail, without a leading level word; undefined when none. */
export function lastWordsOf(tail: readonly string[]): string | undefined {
  for (let i = tail.length - 1; i >= 0; i--) {
    const line = tail[i]!.replace(/\r$/, "").trim();
    if (line !== "") return line.replace(LEVEL_WORD, "").slice(0, 500) || undefined;
  }
  return undefined;
}

/** Attempt `n` of a plan: every agent started together, stopped at `deadlineMs`. */
export async function runAttempt(n: number, plan: Pick<JobPlan, "agents" | "env" | "label" | "rules" | "job"> & { readonly secrets?: readonly string[] }, deadlineMs: number | undefined, ctx: AttemptContext): Promise<AttemptRun> {
  const { label } = plan;
  const agents = plan.agents ?? [];
  const attemptEnv = { ...plan.env, CNCOP_ATTEMPT: String(n) };
  const secrets = plan.secrets ?? [];
  const sinks = agents.map((a) => ({ out: redactingSink(ctx.log.sink(`[${a.agent}#${n} stdout]`), secrets), err: redactingSink(ctx.log.sink(`[${a.agent}#${n} stderr]`), secrets) }));
  const results = await Promise.all(
    agents.map((a, i) => {
      // Looked up and checked again now: Bin/ may have changed since the plan (a prerun,
      // an earlier attempt, an administrator). What was checked is what starts.
      const now = lookUpAgent(a.agent, a.confineTo);
      if (now.file === undefined) {
        const why = now.refused ?? `not found in ${a.confineTo.bin}`;
        ctx.log.line(`${label}: attempt ${n}: agent ${a.agent} refused: ${why}`);
        return Promise.resolve(notStarted(a.argv, `refused: ${why}`));
      }
      // On Windows a .cmd/.bat agent runs through cmd.exe, every argument quoted
      // (agent-launch.ts), given the checked real path; any other agent is started from it.
      const launch = agentLaunch([now.file, ...a.argv.slice(1)], process.platform);
      if (!launch.ok) {
        ctx.log.line(`${label}: attempt ${n}: agent ${a.agent} refused: ${launch.reason}`);
        return Promise.resolve(notStarted(a.argv, `refused: ${launch.reason}`));
      }
      const batch = launch.verbatim;
      const argv = batch ? launch.argv : a.argv;
      const file = batch ? undefined : now.file;
      ctx.log.line(`${label}: attempt ${n}: run: ${formatCommandLine(argv)}${file !== undefined && file !== argv[0] ? ` (the file started: ${file})` : ""}`);
      return runProcess({
        argv,
        file,
        cwd: ctx.root,
        env: { ...attemptEnv, ...agentRuntimeEnv(a.agent, attemptEnv) },
        deadline: deadlineMs,
        graceMs: ctx.graceMs,
        abort: ctx.abort,
        stdout: sinks[i]!.out,
        stderr: sinks[i]!.err,
        // Every agent of the attempt is stopped together: the whole session is theirs.
        session: (attemptEnv as Record<string, string | undefined>).CNCOP_SESSION,
        log: (text: string) => ctx.log.line(`${label}: attempt ${n}: ${a.agent}: ${text}`),
        verbatim: batch,
        ...ctx.hooks,
      });
    }),
  );
  const verdicts = results.map((r) => stateOf(r, plan.rules.maxruntimeSec));
  const exits: AgentExit[] = results.map((r, i) => ({ agent: agents[i]!.agent, exitcode: r.exitCode, signal: r.signal, state: verdicts[i]!.state, reason: verdicts[i]!.reason }));
  results.forEach((r, i) => {
    const v = verdicts[i]!;
    const how = r.spawnError !== undefined && r.pid === undefined ? `could not be started (${r.spawnError})` : r.signal ? `was killed by ${r.signal}` : `exited with status ${exitStatusText(r.exitCode)}`;
    ctx.log.line(`${label}: attempt ${n}: ${agents[i]!.agent} ${how} after ${formatDuration(r.durationMs)}: ${v.state}${r.timedOut ? " (timed out)" : ""}${r.interrupted ? " (interrupted)" : ""}`);
  });
  const verdict = worstOf(verdicts);
  const decisive = results[verdicts.indexOf(verdict)] ?? results[0]!;
  const startedAt = new Date(Math.min(...results.map((r) => r.started.getTime())));
  const finishedAt = new Date(Math.max(...results.map((r) => r.finished.getTime())));
  const tail = sinks.flatMap((s) => [...s.out.tail(), ...s.err.tail()]).slice(-20);
  const decisiveSink = sinks[verdicts.indexOf(verdict)] ?? sinks[0];
  const lastWords = decisiveSink && lastWordsOf(decisiveSink.err.tail());
  return {
    detail: { number: n, durationMs: Math.max(...results.map((r) => r.durationMs)), started: isoUtc(startedAt), finished: isoUtc(finishedAt), exitcode: decisive.exitCode, signal: decisive.signal, agents: exits },
    verdict,
    results,
    tail,
    summaries: agents.flatMap((a, i) => {
      const words = agentSummaryOf(a.agent, plan.job.jobid, sinks[i]!.out.tail());
      return words === undefined ? [] : [{ agent: a.agent, words }];
    }),
    lastWords,
  };
}
