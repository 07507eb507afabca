/**
 * The shared agent runtime (SPEC §5 "Agents", §9): reads `[-d] -c CONFIG [-n] jobid`,
 * finds the install tree, the job and its session, writes START and FINISH to the daily
 * log, runs the agent's work, writes its JS-/JF- reports and turns the state into the
 * exit status (0 OK, 75 RE-RUN, 1 ERROR). Every failure, including a bad command line,
 * ends as ERROR (exit 1) with a message on stderr; nothing here throws.
 */
import os from "node:os";
import type { Config } from "../install/config.ts";
import { loadConfig } from "../install/config.ts";
import { CncopError, errorMessage } from "../cli/errors.ts";
import { agentLogPrefix } from "../install/job-types.ts";
import { type Job, loadJobs, rowToJob } from "../install/jobs-db.ts";
import { ensureTree, type Paths, resolvePaths } from "../install/paths.ts";
import { stopSignals } from "../process/signals.ts";
import { newSessionId } from "../reports/session.ts";
import { writeReport } from "../reports/report-files.ts";
import { VERSION } from "../cli/version.ts";
import { agentHelp, parseBackupAgentArgs, type AgentArgs } from "./agent-args.ts";
import { AgentLog, openAgentLog } from "./agent-log.ts";
import { finishedReport, redactUrlPassword, statisticsReport, type RunFacts } from "./agent-reports.ts";
import { type AgentResult, earlyResult } from "./agent-result.ts";
import { AGENT_EXIT, exitCodeOf } from "../reports/finish-state.ts";
import { priorAttempts } from "./prior-attempts.ts";
import { escapeControls } from "../format/escape.ts";
import { jobSecrets } from "../format/secrets.ts";

export interface AgentContext {
  readonly name: string;
  readonly job: Job;
  readonly paths: Paths;
  readonly config: Config;
  readonly session: string;
  readonly attempt: number;
  readonly debug: boolean;
  readonly dryrun: boolean;
  readonly log: AgentLog;
  /** Aborted by SIGTERM, SIGINT or SIGHUP: stop soon, clean up, return. */
  readonly abort: AbortSignal;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A line for a person on stdout (cncopagent copies it into its log). */
  readonly say: (line: string) => void;
}

export interface AgentDefinition {
  readonly name: string;
  readonly title: string;
  readonly run: (ctx: AgentContext) => Promise<AgentResult>;
}

export interface RuntimeDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly hostname?: string;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

const SIGNALS = stopSignals();

/** The session and attempt cncopagent passed, when they belong to this job; else a new session. */
export function sessionOf(env: Readonly<Record<string, string | undefined>>, jobid: bigint | number): { session: string; attempt: number; fromDispatcher: boolean } {
  const own = env.CNCOP_JOBID === undefined || env.CNCOP_JOBID === String(jobid);
  const session = own && env.CNCOP_SESSION && /^\S{1,200}$/.test(env.CNCOP_SESSION) ? env.CNCOP_SESSION : undefined;
  const attemptText = own ? env.CNCOP_ATTEMPT : undefined;
  const attempt = attemptText && /^\d{1,6}$/.test(attemptText) && Number(attemptText) >= 1 ? Number(attemptText) : 1;
  return session ? { session, attempt, fromDispatcher: true } : { session: newSessionId(), attempt: 1, fromDispatcher: false };
}

/**
 * The job from the database. When the database cannot be read, the identity cncopagent
 * passed (so the run still ends with its reports), with `unreadable` saying why.
 */
function findJob(paths: Paths, jobid: bigint, env: Readonly<Record<string, string | undefined>>): { job?: Job; problem?: string; unreadable?: string } {
  try {
    const job = loadJobs(paths.jobsDb).find((j) => j.jobid === jobid);
    return job ? { job } : { problem: `job ${jobid} is not in ${paths.jobsDb} (list the jobs with cncopjobs)` };
  } catch (err) {
    const problem = errorMessage(err);
    if (env.CNCOP_JOBID === String(jobid) && env.CNCOP_JOBTITLE) {
      return { job: rowToJob({ jobid, jobtitle: env.CNCOP_JOBTITLE, jobtype: env.CNCOP_JOBTYPE ?? "" }), unreadable: `cannot read the job: ${problem}` };
    }
    return { problem };
  }
}

export async function runAgent(def: AgentDefinition, raw: readonly string[], deps: RuntimeDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const out = deps.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = deps.stderr ?? ((t: string) => void process.stderr.write(t));
  /** One escaped line per line of ours: the message, then a usage error's usage lines. */
  const fail = (message: string, detail: readonly string[] = []) => {
    err(`${def.name}: ${escapeControls(message)}\n${detail.map((l) => `${escapeControls(l)}\n`).join("")}`);
    return AGENT_EXIT.ERROR;
  };

  let args: AgentArgs;
  let paths: Paths;
  try {
    args = parseBackupAgentArgs(def.name, raw);
    if (args.help) {
      out(agentHelp(def.name, def.title));
      return AGENT_EXIT.OK;
    }
    if (args.version) {
      out(`${def.name} ${VERSION}\n`);
      return AGENT_EXIT.OK;
    }
    paths = resolvePaths(args.config, env as NodeJS.ProcessEnv);
    ensureTree(paths);
  } catch (e) {
    return e instanceof CncopError ? fail(e.lines[0], e.lines.slice(1)) : fail(`internal error: ${errorMessage(e)}`);
  }

  const debug = args.debug || env.CNCOP_DEBUG === "1";
  const started = new Date();
  const startedMono = performance.now(); // durations: monotonic; `started` stays wall clock
  const prefix = agentLogPrefix(def.name);
  const log = openAgentLog(paths.spoolLogs, prefix, { debug, echo: (t) => err(`${t}\n`) }, started);
  try {
    const { job, problem, unreadable } = findJob(paths, args.jobid, env);
    if (!job) {
      log.error(`${def.name}: ${problem}`);
      return AGENT_EXIT.ERROR;
    }
    log.hideSecrets(jobSecrets(job));
    const { session, attempt } = sessionOf(env, job.jobid);
    const id = { jobid: job.jobid, jobtitle: job.jobtitle, session };
    log.start(id, attempt, args.dryrun);
    log.info(`${def.name} ${VERSION} (${def.title}): pid ${process.pid}, host ${deps.hostname ?? os.hostname()}, root ${paths.root}, log ${log.path}`);
    log.info(`source ${redactUrlPassword(job.source ?? "(none)")}, destination ${redactUrlPassword(job.destination ?? "(none)")}`);

    const controller = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (controller.signal.aborted) return;
      log.warn(`${sig} received: stopping`);
      controller.abort(sig);
    };
    for (const s of SIGNALS) process.on(s, onSignal);
    let result: AgentResult;
    let config: Config | undefined;
    try {
      if (unreadable) result = earlyResult("ERROR", unreadable);
      else if (job.problems.length > 0) result = earlyResult("ERROR", `invalid job definition: ${job.problems.join("; ")}`);
      else {
        config = loadConfig(paths.configFile);
        result = await def.run({ name: def.name, job, paths, config, session, attempt, debug, dryrun: args.dryrun, log, abort: controller.signal, env, say: (t) => out(`${escapeControls(t)}\n`) });
      }
    } catch (e) {
      if (e instanceof CncopError) result = earlyResult("ERROR", e.message);
      else {
        result = earlyResult("ERROR", `internal error: ${errorMessage(e)}`);
        if (e instanceof Error && e.stack) log.debug(e.stack);
      }
    } finally {
      for (const s of SIGNALS) process.off(s, onSignal);
    }
    const interrupted = controller.signal.aborted;
    if (interrupted) result = { ...result, state: "ERROR", reason: `interrupted by ${String(controller.signal.reason)}` };
    if (result.state === "ERROR") log.error(result.reason);
    else if (result.state === "RE-RUN") log.warn(`re-run requested: ${result.reason}`);

    const finished = new Date();
    if (!args.dryrun) {
      const facts: RunFacts = {
        job,
        session,
        hostname: deps.hostname ?? os.hostname(),
        agent: def.name,
        attempt,
        started,
        finished,
        durationMs: performance.now() - startedMono,
        source: job.source,
        destination: job.destination,
        errors: log.errors,
        warnings: log.warnings,
      };
      const write = (kind: "JS-" | "JF-", report: object) => {
        try {
          const path = writeReport(paths.messages, kind, report, finished);
          log.info(`report written: ${path}`);
        } catch (e) {
          log.error(`cannot write the ${kind} report into ${paths.messages}: ${errorMessage(e)}`);
        }
      };
      write("JS-", statisticsReport(facts, result));
      // RE-RUN: the job goes on (another attempt, or cncopagent's own JF- when none is left).
      // Interrupted: cncopagent stopped us and writes the JF- itself.
      if (result.state !== "RE-RUN" && !interrupted) {
        const earlier = await priorAttempts(paths.spoolLogs, prefix, job.jobid, session, attempt, finished);
        write("JF-", finishedReport(facts, result.state, result.reason, exitCodeOf(result.state), earlier));
      }
    }
    log.finish(id, result.state, result.files, result.bytes, performance.now() - startedMono);
    out(`${def.name}: job ${job.jobid} '${escapeControls(job.jobtitle)}': ${result.state}: ${escapeControls(result.reason)}\n`);
    return exitCodeOf(result.state);
  } catch (e) {
    log.error(`internal error: ${errorMessage(e)}`);
    return AGENT_EXIT.ERROR;
  } finally {
    log.close();
  }
}
