/**
 * cncopagent: turns arguments into options, loads config and jobs, and hands over to the
 * dispatcher. Usage errors exit 2 before anything runs. The modules that do the work
 * (nodemailer, SQLite, the dispatcher, consola) are imported where they are first used,
 * so that `--help`, `--version` and usage errors start without them (bench/startup.bench.ts).
 */
import os from "node:os";
import { selectJobs, selectionFromArgs } from "../dispatcher/selection.ts";
import type { ArgsDef } from "citty";
import { optionValues, parseStrict } from "../cli/args.ts";
import { loadConfig, isValidEmailAddress, type Config } from "../install/config.ts";
import { CncopError, EXIT, usageError } from "../cli/errors.ts";
import { knownJobTypes } from "../install/job-types.ts";
import { ensureTree, resolvePaths } from "../install/paths.ts";
import { findJob } from "../dispatcher/selection.ts";
import { VERSION } from "../cli/version.ts";
import { resolveMailSettings } from "../mail/transport.ts";
import type { JobOutcome } from "../dispatcher/run-job.ts";
import { answerHelpOrVersion } from "../cli/run-program.ts";

export const USAGE = "usage: cncopagent [-?] [-d] [-c CONFIG] [-a] [-t TYPE] [--email EMAIL] [job [job ...]]";

export const HELP = `${USAGE}

Runs backup jobs through their agents: pre/post commands, re-runs, single instance per
job, finish reports, log pruning, and optional completion email.

positional arguments:
  job                   jobid or jobtitle of backup job(s) to run. Caller must specify
                        one of --alljobs, --type TYPE or list individual job(s).

optional arguments:
  -?, -h, --help        display help and exit
  --version             print the version and exit
  -d, --debug           generate diagnostic logging into Spool/Logs/ and pass -d to agents
  -c CONFIG, --config CONFIG
                        alternate configuration file
  -a, --alljobs         run all enabled backup jobs, sorted alphabetically by jobtitle;
                        on a Healthy Server (role = REMOTE) all PULL jobs run before PUSH jobs
  -t TYPE, --type TYPE  run all enabled jobs with the specified jobtype (case insensitive)
  --email EMAIL         after each job completes, send a completion email to EMAIL
                        (a comma-separated list is allowed); needs [mail] mail_server
  -n, --dryrun          pass -n to the agents; run no pre/post command, send no email,
                        delete no log
  --unlock JOB          remove the lock of a job whose processes have all ended

exit status: 0 all jobs OK, 1 a job failed, 2 usage or configuration error,
3 a job was skipped because it was already running, 130/143 interrupted.
`;

const ARGS = {
  help: { type: "boolean", alias: ["h", "?"] },
  version: { type: "boolean" },
  debug: { type: "boolean", alias: ["d"] },
  config: { type: "string", alias: ["c"] },
  alljobs: { type: "boolean", alias: ["a"] },
  type: { type: "string", alias: ["t"] },
  email: { type: "string" },
  dryrun: { type: "boolean", alias: ["n"] },
  unlock: { type: "string" },
} satisfies ArgsDef;

export interface AgentOptions {
  readonly help: boolean;
  readonly version: boolean;
  readonly debug: boolean;
  readonly config: string | undefined;
  readonly alljobs: boolean;
  readonly type: string | undefined;
  readonly email: readonly string[] | undefined;
  readonly dryrun: boolean;
  readonly unlock: string | undefined;
  readonly jobs: readonly string[];
}

/**
 * `--email` values (the option may be repeated, each a comma-separated list) as a list of
 * addresses without duplicates; a malformed address is a usage error (exit 2).
 */
export function parseEmailList(value: string | readonly string[]): string[] {
  const values = typeof value === "string" ? [value] : value;
  const list = values.flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw usageError(`--email needs at least one address, e.g. --email admin@example.com`);
  const bad = list.filter((a) => !isValidEmailAddress(a));
  if (bad.length > 0) {
    throw usageError(
      `--email: ${bad.map((b) => JSON.stringify(b)).join(", ")} ${bad.length > 1 ? "are not valid email addresses" : "is not a valid email address"} (expected name@example.com; separate several with commas)`,
    );
  }
  const seen = new Set<string>();
  return list.filter((a) => {
    const key = a.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function parseAgentArgs(raw: readonly string[]): AgentOptions {
  const a = parseStrict(raw, ARGS, USAGE);
  const config = a.config as string | undefined;
  if (config === "") throw usageError(`option -c needs a file name\n${USAGE}`);
  const email = a.email === undefined ? undefined : optionValues(raw, ARGS, "email");
  return {
    help: a.help === true,
    version: a.version === true,
    debug: a.debug === true,
    config,
    alljobs: a.alljobs === true,
    type: a.type as string | undefined,
    email: email === undefined ? undefined : parseEmailList(email),
    dryrun: a.dryrun === true,
    unlock: a.unlock as string | undefined,
    jobs: a._,
  };
}

/**
 * `--email` needs `[mail] mail_server` (and a readable `mail_ca_file` when one is set):
 * checked before any job runs, so a refusal runs nothing and writes no log.
 */
export function checkMailReady(opts: AgentOptions, config: Config, root?: string): void {
  if (!opts.email) return;
  if (!config.mail.server) {
    throw new CncopError(`--email needs a mail server: set mail_server in the [mail] section of ${config.file}.`, EXIT.USAGE);
  }
  if (root !== undefined) resolveMailSettings(config.mail, root, config.file);
}

export async function main(raw: string[]): Promise<number> {
  const opts = parseAgentArgs(raw);
  const early = answerHelpOrVersion("cncopagent", opts, HELP);
  if (early !== undefined) return early;
  if (opts.unlock !== undefined && (opts.jobs.length > 0 || opts.alljobs || opts.type !== undefined || opts.email !== undefined || opts.dryrun)) {
    throw usageError(`--unlock JOB takes one job and no other job selection or option (-a, -t, --email, -n, job names)\n${USAGE}`);
  }
  if (opts.unlock === "") throw usageError(`--unlock needs a job id or title\n${USAGE}`);
  const selection = opts.unlock === undefined ? selectionFromArgs(opts.jobs, opts.alljobs, opts.type) : undefined;
  const paths = resolvePaths(opts.config);
  const config = loadConfig(paths.configFile);
  const { createView } = await import("../dispatcher/view.ts");
  const view = createView();
  for (const w of config.warnings) view.warn(w);

  const { loadJobs } = await import("../install/jobs-db.ts");
  if (opts.unlock !== undefined) {
    const jobs = loadJobs(paths.jobsDb);
    const job = findJob(jobs, opts.unlock);
    if (!job) throw usageError(`--unlock: unknown job "${opts.unlock}"`);
    ensureTree(paths);
    const { forceUnlock } = await import("../locks/job-lock.ts");
    const r = forceUnlock(paths.work, job.jobid);
    const since = r.owner ? ` (session ${r.owner.session}, started ${r.owner.started})` : "";
    view.info(r.removed ? `job ${job.jobid} '${job.jobtitle}': lock removed${since}` : `job ${job.jobid} '${job.jobtitle}' is not locked`);
    return EXIT.OK;
  }

  if (!selection) throw usageError(USAGE);
  checkMailReady(opts, config, paths.root);
  const jobs = loadJobs(paths.jobsDb);
  const selected = selectJobs(jobs, selection, config.role, knownJobTypes(config.agents));
  ensureTree(paths);

  const [{ dispatch, openDiagnosticLog }, { openCaLog }] = await Promise.all([import("../dispatcher/dispatch.ts"), import("../logs/ca-log.ts")]);
  let logFailed = false;
  const log = openCaLog(paths.logs, new Date(), (err) => {
    if (!logFailed) view.error(`cannot write the log: ${(err as Error).message}`);
    logFailed = true;
  });
  try {
    if (opts.debug) log.mirrors.push(openDiagnosticLog(paths));
    log.line(`cncopagent ${VERSION} started: pid ${process.pid}, host ${os.hostname()}, root ${paths.root}, config ${paths.configFile}, arguments: ${raw.join(" ")}`);
    for (const w of config.warnings) log.line(`warning: ${w}`);
    if (opts.dryrun) log.line("dry run: agents get -n; no pre/post command, no email, no log pruning");
    const names = selected.jobs.map((j) => `${j.jobid} '${j.jobtitle}' (${j.jobtype})`);
    log.line(`selected ${selected.jobs.length} job(s)${names.length ? `: ${names.join(", ")}` : ""}`);
    if (selected.jobs.length === 0 && selected.unknown.length === 0) view.info("no job matches the selection: nothing to run");
    const afterJob = async (outcome: JobOutcome) => {
      if (opts.dryrun) return;
      const { recordRun } = await import("../history/history.ts");
      try {
        recordRun(paths, outcome, log.path);
      } catch (err) {
        log.line(`cannot record the run in the history: ${(err as Error).message}`);
      }
      const { invokeReporter } = await import("../reporter/invoke.ts");
      await invokeReporter({ paths, config, log, debug: opts.debug });
      if (opts.email) {
        const { sendJobMail } = await import("../mail/job-mail.ts");
        await sendJobMail(outcome, { config, recipients: opts.email, caLogPath: log.path, log, warn: (t) => view.warn(t), root: paths.root });
      }
    };
    const afterAll = async (_outcomes: readonly JobOutcome[], signal?: AbortSignal) => {
      if (opts.dryrun) return;
      if (config.daysOfLogs === 0) {
        log.line("log pruning is off (days_of_logs = 0)");
        return;
      }
      // This invocation's own logs are never pruned, whatever their age.
      const keep = new Set([log.path, ...log.mirrors.map((m) => m.path)]);
      const [{ pruneLogs }, { pruneHistory }] = await Promise.all([import("../logs/prune.ts"), import("../history/history.ts")]);
      try {
        await pruneLogs(paths, config.daysOfLogs, { keep, log: (t) => log.line(t), signal });
      } catch (err) {
        log.line(`warning: log pruning failed: ${(err as Error).message}`);
      }
      try {
        const n = pruneHistory(paths, config.daysOfLogs);
        if (n > 0) log.line(`pruned ${n} run(s) older than ${config.daysOfLogs} days from the history`);
      } catch (err) {
        log.line(`cannot prune the history: ${(err as Error).message}`);
      }
    };
    const result = await dispatch({ paths, config, jobs: selected.jobs, unknown: selected.unknown, debug: opts.debug, dryrun: opts.dryrun, log, view, afterJob, afterAll });
    return result.exitCode;
  } finally {
    view.close();
    for (const m of log.mirrors) m.close();
    log.close();
  }
}
