/**
 * Plans: a pure function turns a job and the config into what will be run (argv of each
 * agent, environment). `--dryrun` prints the plan; tests assert on it.
 */
import { statSync } from "node:fs";
import nodePath from "node:path";
import type { Config } from "../install/config.ts";
import type { Job } from "../install/jobs-db.ts";
import { agentsForType, NO_JOBID_AGENT } from "../install/job-types.ts";
import type { Paths } from "../install/paths.ts";

export const WINDOWS_EXTENSIONS = [".exe", ".cmd", ".bat"] as const;

export interface AgentStep {
  readonly agent: string;
  /** Resolved program in Bin/, or undefined when missing. */
  readonly program: string | undefined;
  readonly argv: readonly string[];
}

export interface JobPlan {
  readonly job: Job;
  readonly session: string;
  /** Undefined when the job type is unknown. */
  readonly agents: readonly AgentStep[] | undefined;
  readonly env: Readonly<Record<string, string>>;
}

export interface PlanContext {
  readonly paths: Paths;
  readonly config: Config;
  readonly debug: boolean;
  readonly dryrun: boolean;
  readonly session: string;
  readonly platform?: NodeJS.Platform;
  readonly isFile?: (path: string) => boolean;
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
}

export function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Look an agent up in Bin/ only: the plain name, or on Windows the name with .exe, .cmd,
 * .bat (a name that already ends in one of these is taken as it is).
 */
export function findInBin(bin: string, name: string, platform: NodeJS.Platform = process.platform, isFile: (p: string) => boolean = isRegularFile): string | undefined {
  const p = platform === "win32" ? nodePath.win32 : nodePath.posix;
  if (name.includes("/") || name.includes("\\") || name === "." || name === "..") return undefined;
  if (platform === "win32") {
    const lower = name.toLowerCase();
    const candidates = WINDOWS_EXTENSIONS.some((e) => lower.endsWith(e)) ? [name] : WINDOWS_EXTENSIONS.map((e) => name + e);
    return candidates.map((c) => p.join(bin, c)).find(isFile);
  }
  const candidate = p.join(bin, name);
  return isFile(candidate) ? candidate : undefined;
}

/** `<Bin>/<agent> [-d] -c <absolute config path> [-n] <jobid>`; backupagentdq gets no jobid. */
export function agentArgv(program: string, agent: string, configFile: string, jobid: number, debug: boolean, dryrun: boolean): string[] {
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
  env.CNCOP_JOBTITLE = job.jobtitle;
  env.CNCOP_JOBTYPE = job.jobtype;
  env.CNCOP_SESSION = ctx.session;
  env.CNCOP_ATTEMPT = String(attempt);
  if (ctx.debug) env.CNCOP_DEBUG = "1";
  return env;
}

export function planJob(job: Job, ctx: PlanContext): JobPlan {
  const platform = ctx.platform ?? process.platform;
  const names = agentsForType(job.jobtype, ctx.config.agents);
  const agents = names?.map((agent) => {
    const program = findInBin(ctx.paths.bin, agent, platform, ctx.isFile);
    const shown = program ?? (platform === "win32" ? nodePath.win32 : nodePath.posix).join(ctx.paths.bin, agent);
    return { agent, program, argv: agentArgv(shown, agent, ctx.paths.configFile, job.jobid, ctx.debug, ctx.dryrun) };
  });
  return { job, session: ctx.session, agents, env: jobEnv(job, ctx) };
}
