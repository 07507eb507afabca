/**
 * cncopagent: turns arguments into options, loads config and jobs, and hands over to the
 * dispatcher. Usage errors exit 2 before anything runs. The modules that do the work
 * (SQLite, the dispatcher and its view, the lock) are imported where they are first used,
 * so that `--help`, `--version` and usage errors start without them (bench/startup.bench.ts).
 */
import nodePath from "node:path";
import { moreHelp } from "../cli/suggest.ts";
import { quoteArg } from "../process/command-line.ts";
import { findJob, selectJobs, selectionFromArgs } from "../dispatcher/selection.ts";
import { COMMON_ARGS, type OptionArgs, type OptionValues } from "../cli/args.ts";
import { loadConfig, isValidEmailAddress, type Config } from "../install/config.ts";
import { CncopError, EXIT, usageError } from "../cli/errors.ts";
import { knownJobTypes } from "../install/job-types.ts";
import { ensureTree, resolvePaths } from "../install/paths.ts";
import { resolveMailSettings } from "../mail/transport.ts";
import { answerHelpOrVersion, defineProgram } from "../cli/run-program.ts";

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
  -t TYPE, --type TYPE  run all enabled jobs with the specified jobtype (case insensitive);
                        may be given more than once: the jobs of every type named run,
                        ordered as for --alljobs
  --email EMAIL         after each job completes, send a completion email to EMAIL
                        (a comma-separated list is allowed); needs [mail] mail_server
  -n, --dryrun          pass -n to the agents; run no pre/post command, send no email,
                        delete no log
  --unlock JOB          remove the lock of a job whose processes have all ended
  --init ROOT           make a new install tree at ROOT: Bin/ (this program and its links),
                        Config/cncop3.ini (a commented sample), an empty Config/backupjobs.db,
                        Logs/ and Spool/; never overwrites
  --link                make (or refresh) every other program of the suite beside this
                        executable as a hard link to it (Windows: <program>.exe), and
                        remove old .cmd launchers; prints what it did

exit status: 0 all jobs OK, 1 a job failed, 2 usage or configuration error,
3 a job was skipped because it was already running, 130/143 interrupted.
`;

export const DISPATCHER_ARGS = {
  ...COMMON_ARGS,
  alljobs: { type: "boolean", alias: ["a"], description: "run all enabled backup jobs" },
  type: { type: "string", alias: ["t"], valueHint: "TYPE", multiple: true, description: "run all enabled jobs of this job type (repeatable)" },
  email: { type: "string", valueHint: "EMAIL", multiple: true, description: "after each job, send a completion email to EMAIL" },
  dryrun: { type: "boolean", alias: ["n"], description: "pass -n to the agents; run no pre/post command, send no email" },
  unlock: { type: "string", valueHint: "JOB", description: "remove the lock of a job whose processes have all ended" },
  init: { type: "string", valueHint: "ROOT", description: "make a new install tree at ROOT" },
  link: { type: "boolean", description: "make or refresh the other programs beside this executable as hard links to it" },
} satisfies OptionArgs;

export interface DispatcherOptions {
  readonly help: boolean;
  readonly version: boolean;
  readonly debug: boolean;
  readonly config: string | undefined;
  readonly alljobs: boolean;
  readonly type: readonly string[] | undefined;
  readonly email: readonly string[] | undefined;
  readonly dryrun: boolean;
  readonly unlock: string | undefined;
  readonly init: string | undefined;
  readonly link: boolean;
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

function dispatcherOptionsOf({ _: jobs, ...values }: OptionValues<typeof DISPATCHER_ARGS>): DispatcherOptions {
  return { ...values, email: values.email && parseEmailList(values.email), jobs };
}

export const { main, parse: parseDispatcherArgs } = defineProgram({
  name: "cncopagent",
  description: "Runs backup jobs through their agents",
  args: DISPATCHER_ARGS,
  usage: USAGE,
  options: dispatcherOptionsOf,
  run: dispatchJobs,
});

/** `--init ROOT` alone: the tree, then what to do next. */
async function initInstall(opts: DispatcherOptions): Promise<number> {
  if (opts.jobs.length > 0 || opts.alljobs || opts.type !== undefined || opts.email !== undefined || opts.dryrun || opts.unlock !== undefined || opts.config !== undefined || opts.link) {
    throw usageError(`--init ROOT takes no job selection and no other option`, moreHelp(USAGE));
  }
  const [{ initTree }, { isCompiled }, { messages }] = await Promise.all([import("../install/init-tree.ts"), import("../install/paths.ts"), import("../format/messages.ts")]);
  const r = initTree(opts.init ?? "", { executable: isCompiled() ? process.execPath : undefined });
  for (const line of r.done) messages.info(`made ${line}`);
  // As the person would type it: cmd.exe and PowerShell quote with "", a POSIX shell with ''.
  const quote = (p: string) => (process.platform !== "win32" ? quoteArg(p) : /[\s&()^%!'"]/.test(p) ? `"${p}"` : p);
  const bin = (name: string) => quote(nodePath.join(r.root, "Bin", name));
  messages.info(`next: edit ${nodePath.join(r.root, "Config", "cncop3.ini")}; add a job: ${bin("cncopjobs")} add --title TITLE --type CIFS --source FOLDER --destination FOLDER; run it: ${bin("cncopagent")} TITLE`);
  return EXIT.OK;
}

/**
 * `--email` needs `[mail] mail_server` (and a readable `mail_ca_file` when one is set):
 * checked before any job runs, so a refusal runs nothing and writes no log.
 */
export function checkMailReady(opts: DispatcherOptions, config: Config, root?: string): void {
  if (!opts.email) return;
  if (!config.mail.server) {
    throw new CncopError(`--email needs a mail server: set mail_server in the [mail] section of ${config.file}.`, EXIT.USAGE);
  }
  if (root !== undefined) resolveMailSettings(config.mail, root, config.file);
}

/** `--link`: needs no config or database (a fresh unpack has neither yet). */
async function linkBesideExecutable(opts: DispatcherOptions): Promise<number> {
  if (opts.jobs.length > 0 || opts.alljobs || opts.type !== undefined || opts.email !== undefined || opts.dryrun || opts.unlock !== undefined || opts.config !== undefined || opts.debug) {
    throw usageError(`--link takes no other option and no job`, moreHelp(USAGE));
  }
  const exe = process.execPath;
  const base = exe.replace(/\\/g, "/").split("/").pop()!.replace(/\.exe$/i, "").toLowerCase();
  // From source the "executable" is bun itself: linking it would install bun, not the suite.
  if (base === "bun" || base === "node") throw new CncopError(`--link works in the compiled executable only (this is ${exe})`, EXIT.USAGE);
  const [{ linkPrograms, describeLinks }, { SUITE_PROGRAMS }] = await Promise.all([import("../install/links.ts"), import("../cli/program-names.ts")]);
  const outcomes = linkPrograms({ exe, programs: SUITE_PROGRAMS, platform: process.platform });
  const text = describeLinks(exe, outcomes);
  const failed = outcomes.some((o) => o.action === "failed");
  (failed ? process.stderr : process.stdout).write(text);
  return failed ? EXIT.FAILED : EXIT.OK;
}

async function dispatchJobs(opts: DispatcherOptions, raw: readonly string[]): Promise<number> {
  const early = answerHelpOrVersion("cncopagent", opts, HELP);
  if (early !== undefined) return early;
  if (opts.init !== undefined) return initInstall(opts);
  if (opts.link) return linkBesideExecutable(opts);
  if (opts.unlock !== undefined && (opts.jobs.length > 0 || opts.alljobs || opts.type !== undefined || opts.email !== undefined || opts.dryrun)) {
    throw usageError(`--unlock JOB takes one job and no other job selection or option (-a, -t, --email, -n, job names)`, moreHelp(USAGE));
  }
  if (opts.unlock === "") throw usageError(`--unlock needs a job id or title`, moreHelp(USAGE));
  const selection = opts.unlock === undefined ? selectionFromArgs(opts.jobs, opts.alljobs, opts.type) : undefined;
  const paths = resolvePaths(opts.config);
  const [{ createView }, { loadJobs, loadJobsWaiting }] = await Promise.all([import("../dispatcher/view.ts"), import("../install/jobs-db.ts")]);
  // A run that cannot start says so where an administrator looks, not only on stderr.
  const recorded = async <T>(work: () => T | Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (selection && err instanceof CncopError && err.exitCode === EXIT.USAGE) {
        const { recordStartupFailure } = await import("../dispatcher/startup-failure.ts");
        recordStartupFailure({ paths, message: err.message, exitCode: err.exitCode, argv: raw, warn: (t) => process.stderr.write(`cncopagent: ${t}\n`) });
      }
      throw err;
    }
  };
  const config = await recorded(() => loadConfig(paths.configFile));
  const view = createView();
  for (const w of config.warnings) view.warn(w);

  if (opts.unlock !== undefined) {
    const jobs = loadJobs(paths.jobsDb);
    const job = findJob(jobs, opts.unlock);
    if (!job) throw usageError(`--unlock: unknown job "${opts.unlock}"`);
    ensureTree(paths);
    const { forceUnlock } = await import("../locks/job-lock.ts");
    const r = forceUnlock(paths.locks, job.jobid);
    const since = r.owner ? ` (session ${r.owner.session}, started ${r.owner.started})` : "";
    view.info(r.removed ? `job ${job.jobid} '${job.jobtitle}': lock removed${since}` : `job ${job.jobid} '${job.jobtitle}' is not locked`);
    if (r.owner) {
      // The removed run was killed: it still gets its finish report and history entry.
      const { finishKilledRuns } = await import("../dispatcher/killed-runs.ts");
      const owner = r.owner;
      finishKilledRuns({ killedRuns: [...(owner.killedRuns ?? []), owner], settleKilledRuns: () => {} }, job, paths, { line: (t) => view.info(t) });
    }
    return EXIT.OK;
  }

  if (!selection) throw usageError(USAGE);
  checkMailReady(opts, config, paths.root);
  const notes: string[] = [];
  const jobs = await recorded(() =>
    loadJobsWaiting(paths.jobsDb, undefined, (t) => {
      notes.push(t);
      view.warn(t);
    }),
  );
  const selected = selectJobs(jobs, selection, config.role, knownJobTypes(config.agents));
  ensureTree(paths);
  const [{ runInvocation }, { runModeOf }] = await Promise.all([import("../dispatcher/invocation.ts"), import("../dispatcher/run-mode.ts")]);
  return runInvocation({ paths, config, view, selected, mode: runModeOf(opts.dryrun), debug: opts.debug, email: opts.email, argv: raw, notes });
}
