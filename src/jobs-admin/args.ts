/**
 * cncopjobs's command line: a subcommand (none: the jobs table), its arguments, and the
 * options that apply to it; an option given to a command it does not apply to is a usage
 * error rather than silently ignored.
 */
import type { ArgsDef } from "citty";
import { parseStrict } from "../cli/args.ts";
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

const FIELD_OPTIONS: Readonly<Record<string, FieldName>> = {
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
};

const ARGS = {
  help: { type: "boolean", alias: ["h", "?"] },
  version: { type: "boolean" },
  debug: { type: "boolean", alias: ["d"] },
  config: { type: "string", alias: ["c"] },
  json: { type: "boolean" },
  "show-secrets": { type: "boolean" },
  title: { type: "string" },
  type: { type: "string", alias: ["t"] },
  source: { type: "string" },
  destination: { type: "string" },
  maxretries: { type: "string" },
  retrydelay: { type: "string" },
  maxruntime: { type: "string" },
  prerun: { type: "string" },
  postsuccess: { type: "string" },
  postfailure: { type: "string" },
  settings: { type: "string" },
  id: { type: "string" },
  disabled: { type: "boolean" },
  replace: { type: "boolean" },
  limit: { type: "string" },
} satisfies ArgsDef;

export const COMMANDS = ["list", "types", "show", "add", "set", "remove", "enable", "disable", "export", "import", "history"] as const;
export type Command = (typeof COMMANDS)[number];

const GLOBAL = ["help", "version", "debug", "config"];
const FIELDS = Object.keys(FIELD_OPTIONS);
const APPLIES: Readonly<Record<Command, readonly string[]>> = {
  list: ["json", "show-secrets"],
  types: ["json", "type"],
  show: ["json", "show-secrets"],
  add: [...FIELDS, "id", "disabled", "json", "show-secrets"],
  set: [...FIELDS, "json", "show-secrets"],
  remove: ["json"],
  enable: ["json"],
  disable: ["json"],
  export: ["show-secrets"],
  import: ["replace", "json"],
  history: ["limit", "json"],
};
/** [min, max] positional arguments after the command. */
const ARITY: Readonly<Record<Command, readonly [number, number, string]>> = {
  list: [0, 0, ""],
  types: [0, 0, ""],
  show: [1, 1, "JOB"],
  add: [0, 0, ""],
  set: [1, 1, "JOB"],
  remove: [1, Infinity, "JOB..."],
  enable: [1, Infinity, "JOB..."],
  disable: [1, Infinity, "JOB..."],
  export: [0, 1, "[FILE]"],
  import: [1, 1, "FILE"],
  history: [0, 1, "[JOB]"],
};

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

export function parseJobsArgs(raw: readonly string[]): JobsOptions {
  const a = parseStrict(raw, ARGS, USAGE) as Record<string, unknown> & { _: string[] };
  const given = Object.keys(ARGS).filter((k) => a[k] !== undefined && a[k] !== false);
  const base = { help: a.help === true, version: a.version === true, config: a.config as string | undefined };
  if (base.config === "") throw usageError(`option -c needs a file name\n${USAGE}`);
  const [first, ...rest] = a._;
  let command: Command;
  let targets: string[];
  if (first === undefined) {
    command = a.type !== undefined ? "types" : "list";
    targets = [];
  } else if ((COMMANDS as readonly string[]).includes(first.toLowerCase())) {
    command = first.toLowerCase() as Command;
    targets = rest;
  } else {
    throw usageError(`unknown command "${first}". Commands: ${COMMANDS.filter((c) => c !== "types").join(", ")} (see cncopjobs --help)`);
  }
  if (base.help || base.version) return { command, ...base, json: false, showSecrets: false, targets, fields: {}, typeFilter: "", id: undefined, disabled: false, replace: false, limit: undefined };
  const allowed = new Set([...GLOBAL, ...APPLIES[command]]);
  const wrong = given.filter((k) => !allowed.has(k));
  if (wrong.length > 0) {
    const where = command === "list" ? "the jobs table" : command === "types" ? "-t" : command;
    throw usageError(`${wrong.map((w) => `--${w}`).join(", ")} ${wrong.length > 1 ? "do" : "does"} not apply to ${where}\n${USAGE}`);
  }
  const [min, max, shape] = ARITY[command];
  if (targets.length < min || targets.length > max) {
    throw usageError(`${command} takes ${shape || "no arguments"}${targets.length > max ? `, not ${targets.map((t) => JSON.stringify(t)).join(" ")}` : ""}\n${USAGE}`);
  }
  const fields: Partial<Record<FieldName, string>> = {};
  if (command === "add" || command === "set") {
    for (const [opt, field] of Object.entries(FIELD_OPTIONS)) if (typeof a[opt] === "string") fields[field] = a[opt] as string;
  }
  return {
    command,
    ...base,
    json: a.json === true,
    showSecrets: a["show-secrets"] === true,
    targets,
    fields,
    typeFilter: command === "types" ? ((a.type as string | undefined) ?? "x") : "",
    id: a.id as string | undefined,
    disabled: a.disabled === true,
    replace: a.replace === true,
    limit: a.limit as string | undefined,
  };
}
