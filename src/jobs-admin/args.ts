/**
 * cncopjobs's command line as a citty command with subcommands: a subcommand (none: the
 * jobs table), its arguments, and the options that apply to it; an option given to a
 * command it does not apply to is a usage error rather than silently ignored.
 */
import { defineCommand, runCommand, type CommandContext } from "citty";
import { COMMON_ARGS, strictOptions, valuesOf, type OptionArgs, type OptionValues } from "../cli/args.ts";
import { usageError } from "../cli/errors.ts";
import type { FieldName } from "./fields.ts";
import { isScheduleAction, SCHEDULE_ACTIONS, SCHEDULE_ARGS, SCHEDULE_HELP, SCHEDULE_USAGE } from "./schedule/args.ts";
import type { ScheduleAction, ScheduleOptions } from "./schedule/commands.ts";

export const USAGE = `usage: cncopjobs [-?] [-c CONFIG] [--json] [--show-secrets]
       cncopjobs -t x | -t TYPE
       cncopjobs show JOB | add OPTIONS | set JOB OPTIONS | remove JOB...
       cncopjobs enable JOB... | disable JOB... | export [FILE] | import [--replace] FILE
       cncopjobs history [JOB] [--limit N]
${SCHEDULE_USAGE}`;

export const HELP = `${USAGE}

Job administration for the cncop3 dispatcher: lists, shows, adds, changes, removes,
exports and imports the jobs of Config/backupjobs.db, lists job types, and shows the run
history cncopagent records. JOB is a jobid or a jobtitle (case-insensitive), as for
cncopagent.

commands:
  (none), list          the jobs as a table: id, title, type, enabled, retries, last run
  -t x, --type x        every job type with its agent(s), their log prefixes, and whether
                        each agent is in Bin/ (-t TYPE: that type only)
  show JOB              every column of one job and its last run
  add                   add a job (--title and --type required); creates the database
                        with the SPEC schema when there is none
  set JOB               change the columns given as options
  remove JOB...         delete job(s); their run history is kept
  enable JOB...         enabled = 1: run by --alljobs and --type
  disable JOB...        enabled = 0: skipped by --alljobs and --type (still runs when named)
  export [FILE]         all jobs as JSON to FILE (mode 0600), or to stdout
  import FILE           add the jobs of FILE (- for stdin); checks every job first and
                        changes nothing when any is invalid
  history [JOB]         the runs cncopagent recorded, newest first

job options (add, set):
  --title TITLE         job title (unique, case-insensitive; not all digits)
  -t, --type TYPE       job type: a built-in type or one added in [agents]
  --source TEXT         what the agent backs up ("" clears)
  --destination TEXT    where the agent stores the backup ("" clears)
  --maxretries N        re-runs after the first attempt, 0 to 100
  --retrydelay SECONDS  before the first re-run (doubling), 0 to 31622400
  --maxruntime SECONDS  for all attempts together, 0 = no limit
  --prerun CMD          run before the job ("" clears); the program must be in Bin/
  --postsuccess CMD     run after a job that ended OK ("" clears)
  --postfailure CMD     run after a job that ended otherwise ("" clears)
  --settings JSON       agent options, a JSON object (replaces the whole object; a
                        secret given as "***" keeps the stored value)
  --id N                (add) the jobid to use instead of the next free one
  --disabled            (add) add the job disabled

other options:
  -?, -h, --help        display help and exit
  --version             print the version and exit
  -c CONFIG, --config CONFIG
                        alternate configuration file
  --json                machine-readable output on stdout
  --show-secrets        show settings values whose key names a secret (pass, pwd, secret,
                        token, key, credential, private) instead of ***
  --replace             (import) overwrite jobs whose title exists, keeping their jobid
  --limit N             (history) at most N runs, default 20; 0 for all
  -d, --debug           print a stack trace with an error

${SCHEDULE_HELP}

exit status: 0 done, 1 the database or a scheduler entry could not be written (nothing changed),
2 usage, validation or configuration error (nothing changed).
`;

/** The options of add and set that give a column, with their column and description. */
const FIELD_OPTIONS = {
  title: ["jobtitle", "job title (unique, case-insensitive; not all digits)"],
  type: ["jobtype", "job type: a built-in type or one added in [agents]"],
  source: ["source", "what the agent backs up"],
  destination: ["destination", "where the agent stores the backup"],
  maxretries: ["maxretries", "re-runs after the first attempt, 0 to 100"],
  retrydelay: ["retrydelay", "seconds before the first re-run (doubling)"],
  maxruntime: ["maxruntime", "seconds for all attempts together, 0 = no limit"],
  prerun: ["prerun", "run before the job; the program must be in Bin/"],
  postsuccess: ["postsuccess", "run after a job that ended OK"],
  postfailure: ["postfailure", "run after a job that ended otherwise"],
  settings: ["settings", "agent options, a JSON object"],
} as const satisfies Record<string, readonly [FieldName, string]>;

type FieldOption = keyof typeof FIELD_OPTIONS;
type StringArg = { type: "string"; alias?: string[]; description: string };
const FIELDS = Object.fromEntries(
  Object.entries(FIELD_OPTIONS).map(([o, [, description]]) => [o, o === "type" ? { type: "string", alias: ["t"], description } : { type: "string", description }]),
) as Record<FieldOption, StringArg>;
const OUTPUT = { json: { type: "boolean", description: "machine-readable output on stdout" } } satisfies OptionArgs;
const SECRETS = { "show-secrets": { type: "boolean", description: "show settings values whose key names a secret" } } satisfies OptionArgs;
const NEW_JOB = {
  id: { type: "string", description: "(add) the jobid to use instead of the next free one" },
  disabled: { type: "boolean", description: "(add) add the job disabled" },
} satisfies OptionArgs;
const REPLACE = { replace: { type: "boolean", description: "(import) overwrite jobs whose title exists" } } satisfies OptionArgs;
const LIMIT = { limit: { type: "string", description: "(history) at most N runs, default 20; 0 for all" } } satisfies OptionArgs;
const TYPE_FILTER = { type: { type: "string", alias: ["t"], description: "x: every job type; TYPE: that type only" } } satisfies OptionArgs;

/** Every option, in the order a usage error lists them. */
const ARGS = { ...COMMON_ARGS, ...OUTPUT, ...SECRETS, ...FIELDS, ...NEW_JOB, ...REPLACE, ...LIMIT, ...SCHEDULE_ARGS } satisfies OptionArgs;
type JobsValues = OptionValues<typeof ARGS>;

interface Subcommand {
  readonly description: string;
  /** Options besides -?, --version, -d and -c; any other is a usage error. */
  readonly options: OptionArgs;
  /** The arguments after the command: "" none, "X" one, "[X]" one at most, "X..." one or more. */
  readonly operands: string;
  /** How a usage error names the command. */
  readonly label?: string;
  /** Not listed when a command is unknown: reached by -t. */
  readonly hidden?: true;
}

/** The subcommands; none given is list, or types when -t is. */
const SUBCOMMANDS = {
  list: { description: "the jobs as a table", options: { ...OUTPUT, ...SECRETS }, operands: "", label: "the jobs table" },
  types: { description: "every job type with its agent(s)", options: { ...OUTPUT, ...TYPE_FILTER }, operands: "", label: "-t", hidden: true },
  show: { description: "every column of one job and its last run", options: { ...OUTPUT, ...SECRETS }, operands: "JOB" },
  add: { description: "add a job", options: { ...FIELDS, ...NEW_JOB, ...OUTPUT, ...SECRETS }, operands: "" },
  set: { description: "change the columns given as options", options: { ...FIELDS, ...OUTPUT, ...SECRETS }, operands: "JOB" },
  remove: { description: "delete job(s); their run history is kept", options: OUTPUT, operands: "JOB..." },
  enable: { description: "enabled = 1: run by --alljobs and --type", options: OUTPUT, operands: "JOB..." },
  disable: { description: "enabled = 0: skipped by --alljobs and --type", options: OUTPUT, operands: "JOB..." },
  export: { description: "all jobs as JSON to FILE, or to stdout", options: SECRETS, operands: "[FILE]" },
  import: { description: "add the jobs of FILE (- for stdin)", options: { ...REPLACE, ...OUTPUT }, operands: "FILE" },
  history: { description: "the runs cncopagent recorded, newest first", options: { ...LIMIT, ...OUTPUT }, operands: "[JOB]" },
  schedule: { description: "Task Scheduler, systemd or cron entries that run cncopagent", options: {}, operands: "[ACTION] [NAME] [JOB...]" },
} as const satisfies Record<string, Subcommand>;

export type Command = keyof typeof SUBCOMMANDS;

export interface JobsOptions {
  readonly command: Command;
  readonly help: boolean;
  readonly version: boolean;
  readonly config: string | undefined;
  readonly json: boolean;
  readonly showSecrets: boolean;
  /** Positional arguments after the command. */
  readonly targets: readonly string[];
  /** Column values as given (add, set). */
  readonly fields: Readonly<Partial<Record<FieldName, string>>>;
  /** -t VALUE of the types listing. */
  readonly typeFilter: string;
  readonly id: string | undefined;
  readonly disabled: boolean;
  readonly replace: boolean;
  readonly limit: string | undefined;
  /** The schedule command's action and values. */
  readonly schedule: ScheduleOptions | undefined;
}

function commandOf(word: string | undefined, typeGiven: boolean): Command {
  if (word === undefined) return typeGiven ? "types" : "list";
  const name = word.toLowerCase();
  if (Object.hasOwn(SUBCOMMANDS, name)) return name as Command;
  const listed = Object.entries(SUBCOMMANDS).filter(([, c]: [string, Subcommand]) => !c.hidden).map(([n]) => n);
  throw usageError(`unknown command "${word}". Commands: ${listed.join(", ")} (see cncopjobs --help)`);
}

function scheduleActionOf(word: string | undefined): ScheduleAction {
  if (word === undefined) return "list";
  if (isScheduleAction(word.toLowerCase())) return word.toLowerCase() as ScheduleAction;
  throw usageError(`unknown schedule action "${word}". Actions: ${Object.keys(SCHEDULE_ACTIONS).join(", ")} (see cncopjobs --help)`);
}

/** An option the command does not take, or too few or too many arguments, is a usage error. */
function checkFits(command: Command, given: readonly string[], targets: readonly string[], action?: ScheduleAction): void {
  const spec: Subcommand = action ? { ...SCHEDULE_ACTIONS[action], label: `schedule ${action}` } : SUBCOMMANDS[command];
  const wrong = given.filter((k) => !Object.hasOwn(COMMON_ARGS, k) && !Object.hasOwn(spec.options, k));
  if (wrong.length > 0) {
    throw usageError(`${wrong.map((w) => `--${w}`).join(", ")} ${wrong.length > 1 ? "do" : "does"} not apply to ${spec.label ?? command}\n${USAGE}`);
  }
  const shape = spec.operands;
  const min = shape === "" || shape.startsWith("[") ? 0 : 1;
  const max = shape === "" ? 0 : shape.endsWith("...") || shape.endsWith("...]") ? Infinity : 1;
  if (targets.length < min || targets.length > max) {
    throw usageError(`${spec.label ?? command} takes ${shape || "no arguments"}${targets.length > max ? `, not ${targets.map((t) => JSON.stringify(t)).join(" ")}` : ""}\n${USAGE}`);
  }
}

/**
 * The root's setup, after strictOptions: picks the subcommand from node's tokens (the first
 * positional, in any case; none: list, or types when -t is given), checks that the options
 * and arguments fit it, and rewrites context.rawArgs, where citty then looks for the
 * subcommand's name. citty's own scan would stop at `--`, skip `-`, take `-dc FILE`'s FILE
 * for a command and compare names with case; and a subcommand gets only the words after its
 * name (no data: unjs/citty#273), so every option given, wherever it was, follows as
 * `--name` or `--name=value` (a form citty's parser reads exactly), then `--` and the
 * command's arguments. Without a name citty runs the `default`, list.
 */
function routeCommand(context: CommandContext<typeof ARGS>): void {
  const v = valuesOf(context);
  const byName: Readonly<Record<string, unknown>> = v;
  const [word, ...rest] = v._;
  const command = commandOf(word, v.type !== undefined);
  const action = command === "schedule" ? scheduleActionOf(rest[0]) : undefined;
  const targets = word === undefined ? [] : action ? rest.slice(1) : rest;
  const given = Object.keys(ARGS).filter((name) => byName[name] !== undefined && byName[name] !== false);
  if (!v.help && !v.version) checkFits(command, given, targets, action);
  // A repeated option (--email) goes on as one comma-separated value.
  const valueOf = (x: unknown) => (Array.isArray(x) ? x.join(",") : x);
  const options = given.map((name) => (typeof byName[name] === "boolean" ? `--${name}` : `--${name}=${valueOf(byName[name])}`));
  const named = word === undefined && command === "list" ? [] : action ? [command, action] : [command];
  context.rawArgs.splice(0, context.rawArgs.length, ...named, ...options, "--", ...targets);
}

/** A subcommand's options from citty's parse of what routeCommand gave it. */
function jobsOptionsOf(command: Command, a: Partial<JobsValues> & { _: string[] }, action?: ScheduleAction): JobsOptions {
  const base = { command, help: a.help === true, version: a.version === true, config: a.config, targets: a._ };
  if (base.help || base.version) return { ...base, json: false, showSecrets: false, fields: {}, typeFilter: "", id: undefined, disabled: false, replace: false, limit: undefined, schedule: undefined };
  const email = a.email === undefined ? undefined : [a.email].flat();
  const schedule = action && { action, operands: a._, at: a.at, days: a.days, every: a.every, alljobs: a.alljobs === true, type: a.type, email, user: a.user, dryrun: a.dryrun === true, json: a.json === true };
  const fields: Partial<Record<FieldName, string>> = {};
  if (command === "add" || command === "set") {
    for (const opt of Object.keys(FIELD_OPTIONS) as FieldOption[]) if (a[opt] !== undefined) fields[FIELD_OPTIONS[opt][0]] = a[opt];
  }
  return {
    ...base,
    json: a.json === true,
    showSecrets: a["show-secrets"] === true,
    fields,
    typeFilter: command === "types" ? (a.type ?? "x") : "",
    id: a.id,
    disabled: a.disabled === true,
    replace: a.replace === true,
    limit: a.limit,
    schedule,
  };
}

/** cncopjobs as a citty command: `act` receives the options of the subcommand citty runs. */
export function jobsCommand(act: (opts: JobsOptions) => unknown) {
  const subCommand = (name: Command, spec: Subcommand) =>
    defineCommand({
      meta: { name, description: spec.description, hidden: spec.hidden },
      args: { ...COMMON_ARGS, ...spec.options },
      run: (context) => act(jobsOptionsOf(name, context.args as Partial<JobsValues> & { _: string[] })),
    });
  // schedule's actions are citty subcommands of their own, reached as `schedule ACTION`.
  const scheduleCommand = defineCommand({
    meta: { name: "schedule", description: SUBCOMMANDS.schedule.description },
    args: { ...COMMON_ARGS, ...SCHEDULE_ARGS },
    default: "list",
    subCommands: Object.fromEntries(
      Object.entries(SCHEDULE_ACTIONS).map(([action, spec]) => [
        action,
        defineCommand({
          meta: { name: action, description: spec.description },
          args: { ...COMMON_ARGS, ...spec.options },
          run: (context) => act(jobsOptionsOf("schedule", context.args as Partial<JobsValues> & { _: string[] }, action as ScheduleAction)),
        }),
      ]),
    ),
  });
  return defineCommand({
    meta: { name: "cncopjobs", description: "Job administration for the cncop3 dispatcher" },
    args: ARGS,
    plugins: [strictOptions(USAGE)],
    setup: routeCommand,
    default: "list",
    subCommands: Object.fromEntries(Object.entries(SUBCOMMANDS).map(([name, spec]) => [name, name === "schedule" ? scheduleCommand : subCommand(name as Command, spec)])),
  });
}

/** The options of a command line, found as main finds them: citty runs the command. */
export async function parseJobsArgs(raw: readonly string[]): Promise<JobsOptions> {
  let found: JobsOptions | undefined;
  await runCommand(jobsCommand((opts) => (found = opts)), { rawArgs: [...raw] });
  if (!found) throw new Error("cncopjobs: no subcommand ran");
  return found;
}
