/**
 * cncopjobs's command line: a subcommand (none: the jobs table), its arguments, and the
 * options that apply to it; an option given to a command it does not apply to is a usage
 * error rather than silently ignored.
 */
import { COMMON_OPTIONS, parseOptions, type OptionDefs } from "../cli/args.ts";
import { usageError } from "../cli/errors.ts";
import type { FieldName } from "./fields.ts";

export const USAGE = `usage: cncopjobs [-?] [-c CONFIG] [--json] [--show-secrets]
       cncopjobs -t x | -t TYPE
       cncopjobs show JOB | add OPTIONS | set JOB OPTIONS | remove JOB...
       cncopjobs enable JOB... | disable JOB... | export [FILE] | import [--replace] FILE
       cncopjobs history [JOB] [--limit N]`;

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

exit status: 0 done, 1 the database could not be written (nothing changed),
2 usage, validation or configuration error (nothing changed).
`;

const STRING = { type: "string" } as const;
const BOOLEAN = { type: "boolean" } as const;
const TYPE = { type: "string", short: ["t"] } as const;

/** The options of add and set that give a column, with their column. */
const FIELD_OPTIONS = {
  title: "jobtitle",
  type: "jobtype",
  source: "source",
  destination: "destination",
  maxretries: "maxretries",
  retrydelay: "retrydelay",
  maxruntime: "maxruntime",
  prerun: "prerun",
  postsuccess: "postsuccess",
  postfailure: "postfailure",
  settings: "settings",
} as const satisfies Record<string, FieldName>;

type FieldOption = keyof typeof FIELD_OPTIONS;
const FIELDS = Object.fromEntries(Object.keys(FIELD_OPTIONS).map((o) => [o, o === "type" ? TYPE : STRING])) as Record<FieldOption, typeof STRING | typeof TYPE>;
const OUTPUT = { json: BOOLEAN } as const satisfies OptionDefs;
const SECRETS = { "show-secrets": BOOLEAN } as const satisfies OptionDefs;
const NEW_JOB = { id: STRING, disabled: BOOLEAN } as const satisfies OptionDefs;
const REPLACE = { replace: BOOLEAN } as const satisfies OptionDefs;
const LIMIT = { limit: STRING } as const satisfies OptionDefs;

/** Every option, in the order a usage error lists them. */
const OPTIONS = { ...COMMON_OPTIONS, ...OUTPUT, ...SECRETS, ...FIELDS, ...NEW_JOB, ...REPLACE, ...LIMIT } as const satisfies OptionDefs;

interface Subcommand {
  /** Options besides -?, --version, -d and -c; any other is a usage error. */
  readonly options: OptionDefs;
  /** The arguments after the command: "" none, "X" one, "[X]" one at most, "X..." one or more. */
  readonly operands: string;
  /** How a usage error names the command. */
  readonly label?: string;
  /** Not listed when a command is unknown: reached by -t. */
  readonly hidden?: true;
}

/** The subcommands; none given is list, or types when -t is. */
const SUBCOMMANDS = {
  list: { options: { ...OUTPUT, ...SECRETS }, operands: "", label: "the jobs table" },
  types: { options: { ...OUTPUT, type: TYPE }, operands: "", label: "-t", hidden: true },
  show: { options: { ...OUTPUT, ...SECRETS }, operands: "JOB" },
  add: { options: { ...FIELDS, ...NEW_JOB, ...OUTPUT, ...SECRETS }, operands: "" },
  set: { options: { ...FIELDS, ...OUTPUT, ...SECRETS }, operands: "JOB" },
  remove: { options: OUTPUT, operands: "JOB..." },
  enable: { options: OUTPUT, operands: "JOB..." },
  disable: { options: OUTPUT, operands: "JOB..." },
  export: { options: SECRETS, operands: "[FILE]" },
  import: { options: { ...REPLACE, ...OUTPUT }, operands: "FILE" },
  history: { options: { ...LIMIT, ...OUTPUT }, operands: "[JOB]" },
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
}

function commandOf(word: string | undefined, typeGiven: boolean): Command {
  if (word === undefined) return typeGiven ? "types" : "list";
  const name = word.toLowerCase();
  if (Object.hasOwn(SUBCOMMANDS, name)) return name as Command;
  const listed = Object.entries(SUBCOMMANDS).filter(([, c]: [string, Subcommand]) => !c.hidden).map(([n]) => n);
  throw usageError(`unknown command "${word}". Commands: ${listed.join(", ")} (see cncopjobs --help)`);
}

/** An option the command does not take, or too few or too many arguments, is a usage error. */
function checkFits(command: Command, given: readonly string[], targets: readonly string[]): void {
  const spec: Subcommand = SUBCOMMANDS[command];
  const wrong = given.filter((k) => !Object.hasOwn(COMMON_OPTIONS, k) && !Object.hasOwn(spec.options, k));
  if (wrong.length > 0) {
    throw usageError(`${wrong.map((w) => `--${w}`).join(", ")} ${wrong.length > 1 ? "do" : "does"} not apply to ${spec.label ?? command}\n${USAGE}`);
  }
  const shape = spec.operands;
  const min = shape === "" || shape.startsWith("[") ? 0 : 1;
  const max = shape === "" ? 0 : shape.endsWith("...") ? Infinity : 1;
  if (targets.length < min || targets.length > max) {
    throw usageError(`${command} takes ${shape || "no arguments"}${targets.length > max ? `, not ${targets.map((t) => JSON.stringify(t)).join(" ")}` : ""}\n${USAGE}`);
  }
}

export function parseJobsArgs(raw: readonly string[]): JobsOptions {
  const { values: v, positionals } = parseOptions(raw, OPTIONS, USAGE);
  const [first, ...rest] = positionals;
  const command = commandOf(first, v.type !== undefined);
  const targets = first === undefined ? [] : rest;
  const base = { command, help: v.help, version: v.version, config: v.config };
  if (base.help || base.version) return { ...base, json: false, showSecrets: false, targets, fields: {}, typeFilter: "", id: undefined, disabled: false, replace: false, limit: undefined };
  const given = Object.entries(v).filter(([, value]) => value !== undefined && value !== false).map(([name]) => name);
  checkFits(command, given, targets);
  const fields: Partial<Record<FieldName, string>> = {};
  if (command === "add" || command === "set") {
    for (const opt of Object.keys(FIELD_OPTIONS) as FieldOption[]) if (v[opt] !== undefined) fields[FIELD_OPTIONS[opt]] = v[opt];
  }
  return {
    ...base,
    json: v.json,
    showSecrets: v["show-secrets"],
    targets,
    fields,
    typeFilter: command === "types" ? (v.type ?? "x") : "",
    id: v.id,
    disabled: v.disabled,
    replace: v.replace,
    limit: v.limit,
  };
}
