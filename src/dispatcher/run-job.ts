/**
 * One job run: plan it, take its lock, then perform the steps `nextStep` decides (prerun,
 * attempts, waits, the post command) and end with the reports that make every run end
 * with a finish report that tells the truth. Returns the outcome as data; never throws for
 * a job's own failure. What a dry run leaves out is the plan's `mode`, read here only.
 */
import type { Config } from "../install/config.ts";
import type { Job } from "../install/jobs-db.ts";
import type { LineLog } from "../logs/log-file.ts";
import type { Paths } from "../install/paths.ts";
import { newSessionId } from "../reports/session.ts";
import { stopLeftovers } from "../process/process-tree.ts";
import { CONSOLE_CLOSE_POST_SEC, consoleClosed } from "../process/signals.ts";
import { utf8Excerpt } from "../reports/report-files.ts";
import { formatDuration, localTimestamp, monotonicMs } from "../format/time.ts";
import { formatCommandLine } from "../process/command-line.ts";
import { type CommandOutcome, type PlannedCommand, runCommand, STDERR_EXCERPT_BYTES } from "./commands.ts";
import { type AgentExit, type AttemptDetail, runAttempt, type SpawnHooks } from "./attempt.ts";
import { describeCommand, type JobPlan, jobLabel, planJob } from "./plan.ts";
import { createReportSink, type ReportSink } from "./job-reports.ts";
import { deadlineOf, type Ending, nextStep, type RunEvent, type Step } from "./next-step.ts";
import type { RunMode } from "./run-mode.ts";
import { finalWordOf } from "./final-word.ts";
import { findSessionFinish } from "../reports/session-reports.ts";
import type { View } from "./view.ts";

export type JobStatus = "OK" | "ERROR" | "SKIPPED";
export type { AgentExit, AttemptDetail };
export { jobLabel };

export interface JobOutcome {
  readonly job: Job;
  readonly session: string;
  readonly status: JobStatus;
  readonly reason: string;
  readonly attempts: readonly AttemptDetail[];
  readonly started: Date;
  readonly finished: Date;
  /** From the monotonic clock: a step of the wall clock does not change it. */
  readonly durationMs: number;
  readonly interrupted: boolean;
  /** The signal that interrupted it (SIGINT, SIGTERM, SIGHUP, ...), when one did. */
  readonly interruptedBy?: string | undefined;
  /** The last lines of the agents' output, for mail. */
  readonly outputTail: readonly string[];
  readonly reports: readonly string[];
}

/** Held while a job runs; records the pids of the processes it starts. */
export interface JobLock {
  beforeSpawn(): void;
  addProcess(pid: number): void;
  spawnFailed(): void;
  /** The attempts so far, kept in the lock record for the report of a killed run. */
  noteAttempts(attempts: readonly { started: string; finished: string | null; exitcode: number | null; signal: string | null }[], persist?: boolean): void;
  release(): void;
}

export type LockAnswer = { lock: JobLock } | { heldBy: string } | { error: string };

export type Sleep = (ms: number, abort: AbortSignal) => Promise<void>;

export interface JobRunContext {
  readonly paths: Paths;
  readonly config: Config;
  readonly debug: boolean;
  readonly mode: RunMode;
  readonly log: LineLog;
  readonly view: View;
  readonly abort: AbortSignal;
  /** Between SIGTERM and SIGKILL when a tree is stopped. */
  readonly graceMs: number;
  readonly hostname: string;
  readonly lock: (job: Job, session: string) => LockAnswer;
  /** The wait before a re-run; it ends early when `abort` fires. */
  readonly sleep?: Sleep;
  /** Monotonic milliseconds (maxruntime); monotonicMs by default. */
  readonly now?: () => number;
  /** The platform whose rules apply (a console close on Windows); this one by default. */
  readonly platform?: NodeJS.Platform;
}

/** What the steps of one run add to. */
interface JobRun {
  readonly plan: JobPlan;
  readonly ctx: JobRunContext;
  readonly reports: ReportSink;
  readonly hooks: SpawnHooks | undefined;
  readonly lock: JobLock | undefined;
  readonly started: Date;
  readonly startedMono: number;
  readonly attempts: AttemptDetail[];
  outputTail: string[];
  /** The deciding agent's last line of stderr in the last attempt. */
  lastWords: string | undefined;
  deadlineMs: number | undefined;
}

/** Resolves after `ms`, or at once when `abort` fires. */
export const sleepUnlessAborted: Sleep = (ms, abort) =>
  new Promise<void>((resolve) => {
    if (abort.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      abort.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort.addEventListener("abort", done, { once: true });
  });

function interruptedBy(abort: AbortSignal): string | undefined {
  return abort.aborted ? String(abort.reason ?? "a signal") : undefined;
}

/** The hooks that let the lock record every child the run starts. */
function spawnHooks(lock: JobLock): SpawnHooks {
  return { beforeSpawn: () => lock.beforeSpawn(), onSpawn: (pid: number) => lock.addProcess(pid), onSpawnFailed: () => lock.spawnFailed() };
}

export async function runJob(job: Job, ctx: JobRunContext): Promise<JobOutcome> {
  const started = new Date();
  const startedMono = monotonicMs();
  const session = newSessionId();
  const plan = planJob(job, { paths: ctx.paths, config: ctx.config, debug: ctx.debug, mode: ctx.mode, session, logPath: ctx.log.path });
  ctx.log.line(`${plan.label} (${job.jobtype}): session ${session}`);
  const reports = createReportSink(ctx.paths.messages, job, session, ctx.log, (t) => ctx.view.error(t), ctx.hostname, plan.mode.reports);
  const answer: LockAnswer | { lock: undefined } = plan.mode.takesLock ? ctx.lock(job, session) : { lock: undefined };
  const lock = "lock" in answer ? answer.lock : undefined;
  const run: JobRun = { plan, ctx, reports, hooks: lock && spawnHooks(lock), lock, started, startedMono, attempts: [], outputTail: [], lastWords: undefined, deadlineMs: undefined };
  // A skipped job is never "started": its one line says it was skipped, and why.
  if ("heldBy" in answer) return endRun(run, "SKIPPED", `already running ${answer.heldBy}`);
  ctx.view.jobStarted(plan.label, session);
  if ("error" in answer) return refuseWithoutLock(run, answer.error);
  // Awaited inside the try: the lock is released only after the post command and the
  // reports are done.
  try {
    return await execute(run);
  } finally {
    try {
      // Nothing of the run outlives it (a daemon an agent or command left in a session of its own).
      await stopLeftovers(session, ctx.graceMs, (t) => ctx.log.line(`${plan.label}: ${t}`));
    } finally {
      lock?.release();
    }
  }
}

/** Without a lock the job must not run; the other jobs still may. */
function refuseWithoutLock(run: JobRun, error: string): JobOutcome {
  const { plan, ctx, reports } = run;
  ctx.log.line(`${plan.label}: ${error}`);
  ctx.view.error(`${plan.label}: ${error}`);
  reports.exception("dispatcher", null, error);
  reports.finished("ERROR", error, [], run.started, new Date());
  return endRun(run, "ERROR", error);
}

async function execute(run: JobRun): Promise<JobOutcome> {
  let step = nextStep(run.plan.rules, { type: "start", interruptedBy: interruptedBy(run.ctx.abort) });
  while (step.do !== "stop") step = nextStep(run.plan.rules, await perform(run, step));
  return stop(run, step.ending);
}

function perform(run: JobRun, step: Exclude<Step, { do: "stop" }>): Promise<RunEvent> {
  switch (step.do) {
    case "prerun":
      return performPrerun(run);
    case "attempt":
      return performAttempt(run, step);
    case "wait":
      return performWait(run, step);
    case "post":
      return performPost(run, step);
  }
}

/** Runs a command, or under a dry run only shows it; undefined when nothing ran. */
async function performCommand(run: JobRun, command: PlannedCommand | undefined, extraEnv: Record<string, string>, abort: AbortSignal | undefined): Promise<CommandOutcome | undefined> {
  const { plan, ctx } = run;
  if (!command) return undefined;
  if (plan.mode.commands === "describe") {
    const text = describeCommand(command);
    ctx.log.line(`${plan.label}: ${text}`);
    ctx.view.phase(plan.label, text);
    return undefined;
  }
  ctx.view.phase(plan.label, `${command.kind}: ${command.prepared.ok ? formatCommandLine(command.prepared.argv) : JSON.stringify(command.line)}`);
  let timeoutSec = plan.commandTimeoutSec;
  if (consoleClosed(ctx.abort.reason, ctx.platform) && timeoutSec > CONSOLE_CLOSE_POST_SEC) {
    timeoutSec = CONSOLE_CLOSE_POST_SEC;
    ctx.log.line(`${plan.label}: the console was closed: ${command.kind} gets at most ${timeoutSec} s (Windows ends cncopagent a few seconds after a console close)`);
  }
  return runCommand(command, extraEnv, { root: ctx.paths.root, timeoutSec, graceMs: ctx.graceMs, log: ctx.log, abort, ...run.hooks });
}

async function performPrerun(run: JobRun): Promise<RunEvent> {
  const outcome = await performCommand(run, run.plan.commands.prerun, {}, run.ctx.abort);
  return { type: "prerun-ended", outcome, interruptedBy: interruptedBy(run.ctx.abort) };
}

async function performAttempt(run: JobRun, step: Extract<Step, { do: "attempt" }>): Promise<RunEvent> {
  const { plan, ctx } = run;
  const now = ctx.now ?? monotonicMs;
  // maxruntime counts from the start of the first attempt.
  if (step.n === 1) run.deadlineMs = deadlineOf(now(), plan.rules.maxruntimeSec);
  ctx.view.attempt(plan.label, step.n, step.maxAttempts);
  const dry = plan.mode.agentsGetDryRunFlag;
  if (dry) for (const agent of plan.agents ?? []) ctx.view.phase(plan.label, `dry run: runs ${formatCommandLine(agent.argv)}`);
  // Written with the agent's start (beforeSpawn), at no extra cost.
  run.lock?.noteAttempts([...run.attempts, { started: new Date().toISOString(), finished: null, exitcode: null, signal: null }], false);
  const a = await runAttempt(step.n, plan, run.deadlineMs, { root: ctx.paths.root, log: ctx.log, abort: ctx.abort, graceMs: ctx.graceMs, hooks: run.hooks });
  // A dry run's point is the agent's account of what it would do: shown, not only logged.
  if (dry) for (const s of a.summaries) ctx.view.phase(plan.label, `${s.agent}: ${s.words}`);
  run.attempts.push(a.detail);
  // Written with the next child's start, or now before a re-run wait (performWait).
  run.lock?.noteAttempts(run.attempts, false);
  run.outputTail = a.tail;
  run.lastWords = a.lastWords;
  const attempt = { n: step.n, verdict: a.verdict, results: a.results, exitcode: a.detail.exitcode };
  return { type: "attempt-ended", attempt, interruptedBy: interruptedBy(ctx.abort), nowMs: now(), deadlineMs: run.deadlineMs };
}

async function performWait(run: JobRun, step: Extract<Step, { do: "wait" }>): Promise<RunEvent> {
  const { plan, ctx } = run;
  if (step.untilDeadline) {
    ctx.log.line(`${plan.label}: the re-run would start after maxruntime (${plan.rules.maxruntimeSec} s); waiting until then`);
  } else {
    ctx.log.line(`${plan.label}: re-run ${step.rerun} of ${plan.rules.maxretries} in ${step.delaySec} s`);
    ctx.view.waiting(plan.label, step.delaySec, step.rerun);
  }
  run.lock?.noteAttempts(run.attempts, true);
  await (ctx.sleep ?? sleepUnlessAborted)(step.ms, ctx.abort);
  return { type: "wait-ended", rerun: step.rerun, untilDeadline: step.untilDeadline, interruptedBy: interruptedBy(ctx.abort) };
}

async function performPost(run: JobRun, step: Extract<Step, { do: "post" }>): Promise<RunEvent> {
  const { plan, ctx, reports } = run;
  const { kind, ending } = step;
  announceEnding(run, ending);
  const extra = { CNCOP_ATTEMPT: String(Math.max(1, run.attempts.length)) };
  // postfailure must still run after an interruption: it gets no abort signal.
  const out = await performCommand(run, plan.commands[kind], extra, undefined);
  if (out && !out.ok) {
    reports.exception(kind, out.result?.exitCode ?? null, `${kind} command ${JSON.stringify(out.commandLine)} ${out.description}${excerptSuffix(out)}`);
    ctx.view.warn(`${plan.label}: ${kind} command ${out.description}`);
  }
  return { type: "post-ended", ending };
}

/** What an ending writes before its post command runs: its log line and its JE-. */
function announceEnding(run: JobRun, ending: Ending): void {
  if (ending.logReason) run.ctx.log.line(`${run.plan.label}: ${ending.reason}`);
  if (ending.exception) run.reports.exception(ending.exception.source, ending.exception.exitcode, ending.exception.message);
}

function stop(run: JobRun, ending: Ending): JobOutcome {
  const { ctx, plan } = run;
  // Did the agent that decided the state write its JF-? Not looked for in a dry run.
  const checked = !ending.finishReport && ending.agentWords !== undefined && plan.mode.reports === "write";
  const found = checked ? findSessionFinish(ctx.paths, plan.session, run.started) : undefined;
  const word = finalWordOf(ending, { checked, found, lastWords: run.lastWords, attempts: run.attempts.length, session: plan.session });
  if (word.note) ctx.log.line(`${plan.label}: ${word.note}`);
  if (word.writeFinish) run.reports.finished(ending.status, word.reason, run.attempts, run.started, new Date());
  return endRun(run, ending.status, word.reason);
}

function endRun(run: JobRun, status: JobStatus, reason: string): JobOutcome {
  const { plan, ctx } = run;
  const finished = new Date();
  const tookMs = monotonicMs() - run.startedMono;
  if (status === "SKIPPED") ctx.log.line(`${plan.label} skipped: ${reason}`);
  else ctx.log.line(`${plan.label} final state: ${status} (${reason}) after ${formatDuration(tookMs)}, ${run.attempts.length} attempt(s)`);
  ctx.view.jobEnded(plan.label, status, reason, tookMs);
  const { job, session } = plan;
  return { job, session, status, reason, attempts: run.attempts, started: run.started, finished, durationMs: tookMs, interrupted: ctx.abort.aborted, interruptedBy: interruptedBy(ctx.abort), outputTail: run.outputTail, reports: run.reports.written };
}

function excerptSuffix(out: CommandOutcome): string {
  if (out.stderrHead.length === 0) return "";
  return `; stderr: ${utf8Excerpt(out.stderrHead, STDERR_EXCERPT_BYTES)}`;
}

/**
 * Who holds a job: the live process to look at. When the dispatcher that started the run
 * has died but a child of it (an agent, a prerun) still runs, that child is named.
 */
export function describeHeldBy(owner: { since: Date; session: string; pid: number; livePids?: readonly number[] }): string {
  const live = owner.livePids ?? [owner.pid];
  const who = live.includes(owner.pid)
    ? `pid ${owner.pid}`
    : live.length > 0
      ? `pid ${live.join(", ")} still running; its cncopagent, pid ${owner.pid}, has ended`
      : `its cncopagent, pid ${owner.pid}, has ended; a process of its run still runs`;
  return `since ${localTimestamp(owner.since)} as session ${owner.session} (${who})`;
}
