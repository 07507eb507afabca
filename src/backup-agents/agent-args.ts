/**
 * An agent's command line (SPEC §5): `<agent> [-d] -c <config> [-n] <jobid>`. Parsed
 * strictly: an unknown option, a missing value or anything but one whole-number jobid is
 * a usage error (the agent then exits 1, ERROR).
 */
import { moreHelp } from "../cli/suggest.ts";
import { COMMON_ARGS, parseOptions, type OptionArgs } from "../cli/args.ts";
import { usageError } from "../cli/errors.ts";
import { type JobId, parseJobId } from "../install/job-id.ts";

export interface AgentArgs {
  readonly help: boolean;
  readonly version: boolean;
  readonly debug: boolean;
  readonly dryrun: boolean;
  /** `-c CONFIG` as given; undefined means `<root>/Config/cncop3.ini`. */
  readonly config: string | undefined;
  readonly jobid: JobId;
}

const ARGS = {
  ...COMMON_ARGS,
  dryrun: { type: "boolean", alias: ["n"], description: "list what would be done; change nothing, write no report" },
} satisfies OptionArgs;

export function agentUsage(name: string): string {
  return `usage: ${name} [-?] [-d] -c CONFIG [-n] jobid`;
}

export function agentHelp(name: string, title: string): string {
  return `${agentUsage(name)}

${title}: the agent cncopagent runs for a job of this type. Normally started by
cncopagent; it can also be run by hand against an install tree.

positional arguments:
  jobid                 the job to run (its row in Config/backupjobs.db)

optional arguments:
  -?, -h, --help        display help and exit
  --version             print the version and exit
  -d, --debug           more detail (DEBUG lines) in the agent's daily log
  -c CONFIG, --config CONFIG
                        the configuration file (absolute path when cncopagent runs it)
  -n, --dryrun          list what would be done; change nothing, write no report

exit status: 0 OK, 75 RE-RUN (a transient failure: run again later), 1 ERROR.
`;
}

export function parseBackupAgentArgs(name: string, raw: readonly string[]): AgentArgs {
  const usage = agentUsage(name);
  const { _: positionals, ...values } = parseOptions(raw, ARGS, usage);
  if (values.help || values.version) return { ...values, jobid: 0n };
  if (positionals.length === 0) throw usageError(`a jobid is required`, moreHelp(usage));
  if (positionals.length > 1) throw usageError(`exactly one jobid is expected, got ${positionals.length}: ${positionals.join(" ")}`, moreHelp(usage));
  const id = positionals[0]!;
  const jobid = parseJobId(id);
  if (jobid === undefined) throw usageError(`jobid "${id}" is not a whole number from 0 to ${2n ** 63n - 1n}`, moreHelp(usage));
  return { ...values, jobid };
}
