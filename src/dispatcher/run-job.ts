/**
 * One job run: lock, prerun, the agent attempts with re-runs and maxruntime, post
 * commands, and the reports that make every run end with a finish report that tells the
 * truth. Returns the outcome as data; never throws for a job's own failure.
 */
import type { Config } from "../install/config.ts";
import { knownJobTypes } from "../install/job-types.ts";
import type { Job } from "../install/jobs-db.ts";
import type { LineLog } from "../logs/log-file.ts";
import type { Paths } from "../install/paths.ts";
import { newSessionId } from "../reports/session.ts";
import { utf8Excerpt } from "../reports/report-files.ts";
import { formatCommandLine } from "../process/command-line.ts";
import { formatDuration, localTimestamp } from "../format/time.ts";
import { type CommandKind, type CommandOutcome, prepareCommand, runCommand } from "./commands.ts";
import { type AgentExit, type AttemptDetail, runAttempt, type SpawnHooks } from "./attempt.ts";
import { jobEnv, planJob } from "./plan.ts";
import { createReportSink } from "./job-reports.ts";
import { retryDelaySec } from "./states.ts";
import type { View } from "./view.ts";

export type JobStatus = "OK" | "ERROR" | "SKIPPED";
export type { AgentExit, AttemptDetail };

export interface JobOutcome {
  readonly job: Job;
  readonly session: string;
  readonly status: JobStatus;
  readonly reason: string;
  readonly attempts: readonly AttemptDetail[];
  readonly started: Date;
  readonly finished: Date;
  readonly interrupted: boolean;
  /** The last lines of the agents' output, for mail. */
  readonly outputTail: readonly string[];
  readonly reports: readonly string[];
}

/** Held while a job runs; records the pids of the processes it starts. */
export interface JobLock {
  beforeSpawn(): void;
  addProcess(pid: number): void;
  spawnFailed(): void;
  release(): void;
}

/** The hooks that let the lock record every child the run starts. */
function spawnHooks(lock: JobLock): SpawnHooks {
  return { beforeSpawn: () => lock.beforeSpawn(), onSpawn: (pid: number) => lock.addProcess(pid), onSpawnFailed: () => lock.spawnFailed() };
}
export type LockAnswer = { lock: JobLock } | { heldBy: string } | { error: string };

export interface JobRunContext {
  readonly paths: Paths;
  readonly config: Config;
  readonly debug: boolean;
  readonly dryrun: boolean;
  readonly log: LineLog;
  readonly view: View;
  readonly abort: AbortSignal;
  readonly graceMs: number;
  readonly hostname: string;
  readonly lock: (job: Job, session: string) => LockAnswer;
}

const sleep = (ms: number, abort: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (abort.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      abort.removeEventListener("abort", done);
      resolve();
    }
    abort.addEventListener("abort", done, { once: true });
  });

export function jobLabel(job: Job): string {
  return `job ${job.jobid} '${job.jobtitle}'`;
}

export async function runJob(job: Job, ctx: JobRunContext): Promise<JobOutcome> {
  const started = new Date();
  const session = newSessionId();
  const label = jobLabel(job);
  const log = ctx.log;
  log.line(`${label} (${job.jobtype}): session ${session}`);
  ctx.view.jobStarted(label, session);
  const reports = createReportSink(ctx.paths.messages, job, session, log, (t) => ctx.view.error(t), ctx.hostname, ctx.dryrun);
  const attempts: AttemptDetail[] = [];
  let outputTail: string[] = [];

  const end = (status: JobStatus, reason: string): JobOutcome => {
    const finished = new Date();
    const took = formatDuration(finished.getTime() - started.getTime());
    if (status === "SKIPPED") log.line(`${label} skipped: ${reason}`);
    else log.line(`${label} final state: ${status} (${reason}) after ${took}, ${attempts.length} attempt(s)`);
    ctx.view.jobEnded(label, status, reason, finished.getTime() - started.getTime());
    return { job, session, status, reason, attempts, started, finished, interrupted: ctx.abort.aborted, outputTail, reports: reports.written };
  };

  const plan = planJob(job, { paths: ctx.paths, config: ctx.config, debug: ctx.debug, dryrun: ctx.dryrun, session });
  let early: string | undefined;
  if (job.problems.length > 0) early = `invalid job definition: ${job.problems.join("; ")}`;
  else if (!plan.agents) early = `unknown job type ${job.jobtype} (known: ${knownJobTypes(ctx.config.agents).join(", ")}; add it in [agents] of ${ctx.config.file})`;

  const answer: LockAnswer = ctx.dryrun ? { lock: { beforeSpawn() {}, addProcess() {}, spawnFailed() {}, release() {} } } : ctx.lock(job, session);
  if ("heldBy" in answer) {
    const text = `${label} is already running ${answer.heldBy}, skipped`;
    ctx.view.warn(text);
    return end("SKIPPED", `already running ${answer.heldBy}`);
  }
  if ("error" in answer) {
    // Without a lock the job must not run; the other jobs still may.
    log.line(`${label}: ${answer.error}`);
    ctx.view.error(`${label}: ${answer.error}`);
    reports.exception("dispatcher", null, answer.error);
    reports.finished("ERROR", answer.error, [], started, new Date());
    return end("ERROR", answer.error);
  }
  const lock = answer.lock;
  // Every return below awaits its promise: a bare `return fail(...)` would run `finally`
  // (and release the lock) before postfailure and the reports are done.
  try {
    const env = jobEnv(job, { paths: ctx.paths, debug: ctx.debug, session });
    const cmdCtx = {
      bin: ctx.paths.bin,
      root: ctx.paths.root,
      env: { ...env, CNCOP_LOG: log.path },
      timeoutSec: ctx.config.commandTimeoutSec,
      graceMs: ctx.graceMs,
      log,
      abort: ctx.abort,
      ...spawnHooks(lock),
    };
    const command = async (kind: CommandKind, line: string | undefined, extra: Record<string, string>): Promise<CommandOutcome | undefined> => {
      if (!line) return undefined;
      if (ctx.dryrun) {
        // Shows the argv exactly as it would be started, or why it would be refused.
        const prepared = prepareCommand(line, cmdCtx);
        const text = prepared.ok ? `dry run: would run ${kind}: ${formatCommandLine(prepared.argv)}` : `dry run: ${kind} would be refused: ${JSON.stringify(line)}: ${prepared.reason}`;
        log.line(text);
        ctx.view.info(`${label}: ${text}`);
        return undefined;
      }
      return runCommand(kind, line, extra, cmdCtx);
    };
    const interruption = () => `interrupted by ${String(ctx.abort.reason ?? "a signal")}`;
    const post = async (status: "OK" | "ERROR") => {
      const kind = status === "OK" ? "postsuccess" : "postfailure";
      // postfailure must still run after an interruption: it gets its own, unaborted context.
      const out = await (async () => {
        const line = status === "OK" ? job.postsuccess : job.postfailure;
        if (!line) return undefined;
        if (ctx.dryrun) return command(kind, line, {});
        const extra = { CNCOP_STATUS: status, CNCOP_ATTEMPT: String(Math.max(1, attempts.length)) };
        return runCommand(kind, line, extra, { ...cmdCtx, abort: undefined });
      })();
      if (out && !out.ok) {
        reports.exception(kind, out.result?.exitCode ?? null, `${kind} command ${JSON.stringify(out.commandLine)} ${out.description}${excerptSuffix(out)}`);
        ctx.view.warn(`${label}: ${kind} command ${out.description}`);
      }
    };
    const fail = async (reason: string, needJF: boolean): Promise<JobOutcome> => {
      await post("ERROR");
      if (needJF) reports.finished("ERROR", reason, attempts, started, new Date());
      return end("ERROR", reason);
    };

    // A row the dispatcher cannot run ends as ERROR like any other failure: under the
    // lock, with a JE, postfailure and a JF.
    if (early) {
      log.line(`${label}: ${early}`);
      reports.exception("dispatcher", null, early);
      return await fail(early, true);
    }

    const pre = await command("prerun", job.prerun, {});
    if (pre && !pre.ok) {
      // A prerun stopped by an interruption did not fail: the JF says what happened.
      if (pre.result?.interrupted) return await fail(`${interruption()} during prerun`, true);
      const message = pre.refused ? `prerun command refused: ${pre.refused}` : utf8Excerpt(pre.stderrHead, 2048);
      reports.exception("prerun", pre.result?.exitCode ?? null, message);
      return await fail(`prerun failed: ${pre.description}`, true);
    }
    if (ctx.abort.aborted) return await fail(`${interruption()} before the agent started`, true);

    const missing = plan.agents!.filter((a) => a.program === undefined);
    if (missing.length > 0) {
      const reason = `agent ${missing.map((m) => m.agent).join(" and ")} not found in ${ctx.paths.bin}`;
      log.line(`${label}: ${reason}`);
      reports.exception("agent", null, `${reason}; install the agent program there or change the job type`);
      return await fail(reason, true);
    }

    const maxAttempts = job.maxretries + 1;
    const deadline = job.maxruntime > 0 ? Date.now() + job.maxruntime * 1000 : undefined;
    for (let n = 1; ; n++) {
      ctx.view.attempt(label, n, maxAttempts);
      const { detail, verdict, results, tail } = await runAttempt(n, plan.agents!, env, ctx, label, deadline, job.maxruntime, spawnHooks(lock));
      attempts.push(detail);
      outputTail = tail;
      const timedOut = results.some((r) => r.timedOut);
      const killed = results.some((r) => r.signal !== null && !r.timedOut && !r.interrupted);
      // An agent that completed OK just as a signal came keeps its verdict. Any other end
      // after a signal counts as the interruption (on Windows a console Ctrl-C reaches the
      // agent directly, and it may be gone before we stop it).
      if (results.some((r) => r.interrupted) || (ctx.abort.aborted && verdict.state !== "OK")) return await fail(interruption(), true);
      if (timedOut) {
        const reason = `timed out after ${job.maxruntime} s`;
        reports.exception("agent", null, `${reason}: the agent's process tree was stopped`);
        return await fail(reason, true);
      }
      if (killed || results.some((r) => r.pid === undefined)) {
        reports.exception("agent", detail.exitcode, verdict.reason);
        return await fail(verdict.reason, true);
      }
      if (verdict.state === "OK") {
        await post("OK");
        return end("OK", n > 1 ? `completed on attempt ${n}` : "completed");
      }
      if (verdict.state === "ERROR") return await fail(verdict.reason, false);
      // RE-RUN
      if (n > job.maxretries) {
        const reason = job.maxretries === 0 ? "agent asked for a re-run but maxretries is 0" : `re-runs exhausted: the agent asked for a re-run after ${n} attempts (maxretries ${job.maxretries})`;
        return await fail(reason, true);
      }
      const delaySec = retryDelaySec(job.retrydelay, n);
      if (deadline !== undefined && Date.now() + delaySec * 1000 >= deadline) {
        log.line(`${label}: the re-run would start after maxruntime (${job.maxruntime} s); waiting until then`);
        await sleep(Math.max(0, deadline - Date.now()), ctx.abort);
        if (ctx.abort.aborted) return await fail(`${interruption()} while waiting to re-run`, true);
        return await fail(`timed out after ${job.maxruntime} s (waiting to re-run)`, true);
      }
      log.line(`${label}: re-run ${n} of ${job.maxretries} in ${delaySec} s`);
      ctx.view.waiting(label, delaySec, n);
      await sleep(delaySec * 1000, ctx.abort);
      if (ctx.abort.aborted) return await fail(`${interruption()} while waiting to re-run`, true);
    }
  } finally {
    lock.release();
  }
}

function excerptSuffix(out: CommandOutcome): string {
  if (out.stderrHead.length === 0) return "";
  return `; stderr: ${utf8Excerpt(out.stderrHead, 2048)}`;
}

export function describeHeldBy(owner: { since: Date; session: string; pid: number }): string {
  return `since ${localTimestamp(owner.since)} as session ${owner.session} (pid ${owner.pid})`;
}
