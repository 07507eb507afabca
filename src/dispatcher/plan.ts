/**
 * Plans: a pure function turns a job and the config into the whole job run as data: the
 * agents' argv, the pre/post commands already split and confined to Bin/ (or why they are
 * refused), the environment, the re-run and maxruntime rules, and what a dry run does.
 * The executor (run-job.ts) only performs it; tests assert on it.
 */
import nodePath from "node:path";
import type { Config } from "../install/config.ts";
import type { Job } from "../install/jobs-db.ts";
import type { JobIdLike } from "../install/job-id.ts";
import { agentsForType, knownJobTypes, NO_JOBID_AGENT } from "../install/job-types.ts";
import type { Paths } from "../install/paths.ts";
import { formatCommandLine } from "../process/command-line.ts";
import { type ConfineFs, confineFound, lexicalRefusal, realFs } from "../process/confine.ts";
import { agentLaunch } from "./agent-launch.ts";
import { type CommandKind, type PlannedCommand, prepareCommand } from "./commands.ts";
import type { RunRules } from "./next-step.ts";
import type { RunMode } from "./run-mode.ts";
import { jobSecrets } from "../format/secrets.ts";

export const WINDOWS_EXTENSIONS = [".exe", ".cmd", ".bat"] as const;

export interface AgentStep {
  readonly agent: string;
  /** Resolved program in Bin/, or undefined when missing or refused. */
  readonly program: string | undefined;
  /** Its real path, checked to lie inside the real path of Bin/: the file started. */
  readonly file: string | undefined;
  /**
   * Why it is refused: its real path lies outside Bin/ (then `program` is undefined), or,
   * present, it cannot be started (a batch file given what cmd.exe would re-parse).
   */
  readonly refused: string | undefined;
  /** `<program> [-d] -c <config> [-n] <jobid>`; on Windows a .cmd/.bat agent is started through cmd.exe (agent-launch.ts). */
  readonly argv: readonly string[];
  /** Where it must lie: looked up and checked again just before each start. */
  readonly confineTo: AgentConfinement;
}

export interface AgentConfinement {
  readonly bin: string;
  readonly platform: NodeJS.Platform;
  readonly fs: ConfineFs;
}

export type AgentLookup = { program: string; file: string; refused: undefined } | { program: undefined; file: undefined; refused: string | undefined };

/**
 * An agent looked up in Bin/ and checked like a pre/post command: its real path must lie
 * inside the real path of Bin/, and that real path is the file started.
 */
export function lookUpAgent(agent: string, where: AgentConfinement): AgentLookup {
  const found = findInBin(where.bin, agent, where.platform, where.fs.isFile);
  if (found === undefined) return { program: undefined, file: undefined, refused: undefined };
  const c = confineFound(found, where.bin, where.platform, where.fs, `an agent must be a program inside ${where.bin}`);
  return c.ok ? { program: found, file: c.real, refused: undefined } : { program: undefined, file: undefined, refused: c.reason };
}

export interface JobPlan {
  readonly job: Job;
  readonly label: string;
  readonly session: string;
  readonly mode: RunMode;
  /** Undefined when the job type is unknown. */
  readonly agents: readonly AgentStep[] | undefined;
  /** The agents' environment; CNCOP_ATTEMPT is set per attempt. */
  readonly env: Readonly<Record<string, string>>;
  /** Only the commands the job names. */
  readonly commands: Readonly<Partial<Record<CommandKind, PlannedCommand>>>;
  readonly commandTimeoutSec: number;
  /** What decides the next step: re-runs, maxruntime, and what stops the job early. */
  readonly rules: RunRules;
  /** The job's secrets (format/secrets.ts jobSecrets): shown as *** in its children's output. */
  readonly secrets: readonly string[];
}

export interface PlanContext {
  readonly paths: Paths;
  readonly config: Config;
  readonly debug: boolean;
  readonly mode: RunMode;
  readonly session: string;
  /** This invocation's CA log, given to commands as CNCOP_LOG. */
  readonly logPath: string;
  readonly platform?: NodeJS.Platform;
  readonly fs?: ConfineFs;
  readonly comspec?: string;
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
}

export const isRegularFile: (path: string) => boolean = realFs.isFile;

export function jobLabel(job: Job): string {
  return `job ${job.jobid} '${job.jobtitle}'`;
}

/**
 * Look an agent up in Bin/ only: the plain name, or on Windows the name with .exe, .cmd,
 * .bat (a name that already ends in one of these is taken as it is).
 */
export function findInBin(bin: string, name: string, platform: NodeJS.Platform = process.platform, isFile: (p: string) => boolean = isRegularFile): string | undefined {
  const p = platform === "win32" ? nodePath.win32 : nodePath.posix;
  if (name.includes("/") || name.includes("\\") || name === "." || name === "..") return undefined;
  if (platform === "win32") {
    // Windows spellings that name something else than a file of Bin\: a stream (x.exe:s), a
    // device (NUL, COM1), a name Windows trims (a trailing dot or space).
    if (lexicalRefusal(name, bin, "win32") !== undefined) return undefined;
    const lower = name.toLowerCase();
    const candidates = WINDOWS_EXTENSIONS.some((e) => lower.endsWith(e)) ? [name] : WINDOWS_EXTENSIONS.map((e) => name + e);
    return candidates.map((c) => p.join(bin, c)).find(isFile);
  }
  const candidate = p.join(bin, name);
  return isFile(candidate) ? candidate : undefined;
}

/** `<Bin>/<agent> [-d] -c <absolute config path> [-n] <jobid>`; backupagentdq gets no jobid. */
export function agentArgv(program: string, agent: string, configFile: string, jobid: JobIdLike, debug: boolean, dryrun: boolean): string[] {
  const argv = [program];
  if (debug) argv.push("-d");
  argv.push("-c", configFile);
  if (dryrun) argv.push("-n");
  if (agent.toLowerCase() !== NO_JOBID_AGENT) argv.push(String(jobid));
  return argv;
}

/** The job environment given to agents and commands (SPEC §5); CNCOP_ATTEMPT is set per attempt. */
export function jobEnv(job: Job, ctx: Pick<PlanContext, "paths" | "debug" | "session" | "baseEnv">, attempt = 1): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.baseEnv ?? process.env)) if (v !== undefined) env[k] = v;
  delete env.CNCOP_DEBUG;
  env.CNCOP_HOME = ctx.paths.root;
  env.CNCOP_CONFIG = ctx.paths.configFile;
  env.CNCOP_JOBID = String(job.jobid);
  // An environment cannot carry a NUL: a title holding one (hostile data) gets it as \x00.
  env.CNCOP_JOBTITLE = job.jobtitle.replaceAll("\0", "\\x00");
  env.CNCOP_JOBTYPE = job.jobtype.replaceAll("\0", "\\x00");
  env.CNCOP_SESSION = ctx.session;
  env.CNCOP_ATTEMPT = String(attempt);
  if (ctx.debug) env.CNCOP_DEBUG = "1";
  return env;
}

function planAgents(job: Job, ctx: PlanContext, platform: NodeJS.Platform): AgentStep[] | undefined {
  const confineTo: AgentConfinement = { bin: ctx.paths.bin, platform, fs: ctx.fs ?? realFs };
  return agentsForType(job.jobtype, ctx.config.agents)?.map((agent) => {
    const { program, file, refused } = lookUpAgent(agent, confineTo);
    const shown = program ?? (platform === "win32" ? nodePath.win32 : nodePath.posix).join(ctx.paths.bin, agent);
    const argv = agentArgv(shown, agent, ctx.paths.configFile, job.jobid, ctx.debug, ctx.mode.agentsGetDryRunFlag);
    if (program === undefined) return { agent, program, file, refused, confineTo, argv };
    const launch = agentLaunch(argv, platform, ctx.comspec);
    return { agent, program, file, refused: launch.ok ? undefined : launch.reason, confineTo, argv };
  });
}

const STATUS_OF_POST = { prerun: undefined, postsuccess: "OK", postfailure: "ERROR" } as const;

function planCommands(job: Job, ctx: PlanContext, env: Readonly<Record<string, string>>, platform: NodeJS.Platform, secrets: readonly string[]): JobPlan["commands"] {
  const commands: Partial<Record<CommandKind, PlannedCommand>> = {};
  const prepareCtx = { bin: ctx.paths.bin, platform, fs: ctx.fs, comspec: ctx.comspec };
  for (const kind of ["prerun", "postsuccess", "postfailure"] as const) {
    const line = job[kind];
    if (!line) continue;
    const status = STATUS_OF_POST[kind];
    const commandEnv = { ...env, CNCOP_LOG: ctx.logPath, ...(status ? { CNCOP_STATUS: status } : {}) };
    commands[kind] = { kind, line, prepared: prepareCommand(line, prepareCtx), confineTo: prepareCtx, env: commandEnv, secrets };
  }
  return commands;
}

/** Why the job cannot run at all: an invalid row or an unknown type. */
function problemOf(job: Job, agents: readonly AgentStep[] | undefined, config: Config): string | undefined {
  if (job.problems.length > 0) return `invalid job definition: ${job.problems.join("; ")}`;
  if (!agents) return `unknown job type ${job.jobtype} (known: ${knownJobTypes(config.agents).join(", ")}; add it in [agents] of ${config.file})`;
  return undefined;
}

function missingAgentsOf(agents: readonly AgentStep[] | undefined, bin: string): string | undefined {
  const list = agents ?? [];
  // Linked outside Bin/: refused, whatever else is wrong.
  const outside = list.filter((a) => a.program === undefined && a.refused !== undefined);
  if (outside.length > 0) return outside.map((a) => `agent ${a.agent} refused: ${a.refused}`).join("; ");
  const missing = list.filter((a) => a.program === undefined);
  if (missing.length > 0) return `agent ${missing.map((m) => m.agent).join(" and ")} not found in ${bin}`;
  const refused = list.find((a) => a.refused !== undefined);
  return refused ? `agent ${refused.agent} could not be started: ${refused.refused}` : undefined;
}

export function planJob(job: Job, ctx: PlanContext): JobPlan {
  const platform = ctx.platform ?? process.platform;
  const agents = planAgents(job, ctx, platform);
  const env = jobEnv(job, ctx);
  const secrets = jobSecrets(job);
  const commands = planCommands(job, ctx, env, platform, secrets);
  return {
    job,
    label: jobLabel(job),
    session: ctx.session,
    mode: ctx.mode,
    agents,
    env,
    commands,
    commandTimeoutSec: ctx.config.commandTimeoutSec,
    secrets,
    rules: {
      problem: problemOf(job, agents, ctx.config),
      hasPrerun: commands.prerun !== undefined,
      missingAgents: missingAgentsOf(agents, ctx.paths.bin),
      maxretries: job.maxretries,
      retrydelaySec: job.retrydelay,
      maxruntimeSec: job.maxruntime,
    },
  };
}

/** What a dry run shows for a command instead of running it: the argv, or why it would be refused. */
export function describeCommand(command: PlannedCommand): string {
  const { kind, line, prepared } = command;
  return prepared.ok ? `dry run: would run ${kind}: ${formatCommandLine(prepared.argv)}` : `dry run: ${kind} would be refused: ${JSON.stringify(line)}: ${prepared.reason}`;
}
