/**
 * `cncopjobs schedule`'s options and actions, spread into cncopjobs's command line by
 * ../args.ts: which options each action takes and how many arguments.
 */
import type { OptionArgs } from "../../cli/args.ts";
import type { ScheduleAction } from "./commands.ts";

export const SCHEDULE_USAGE = `       cncopjobs schedule [list] | show NAME | remove [-n] NAME
       cncopjobs schedule add NAME --at HH:MM [--days mon,tue,...] [--every N]
                 (-a | -t TYPE | JOB...) [--email EMAIL] [--user ACCOUNT] [-n]`;

export const SCHEDULE_HELP = `schedule (Task Scheduler on Windows, systemd timers where systemd runs, else cron):
  schedule [list]       the entries the suite installed: when, next run, what, as whom
  schedule add NAME     install an entry that runs this install's cncopagent with its -c
                        config, from the root; with -n print it and install nothing
  schedule show NAME    the entry exactly as installed
  schedule remove NAME  remove it (never anything the suite did not install)

schedule options (add):
  --at HH:MM            time of day, local time (required)
  --days mon,tue,...    days of the week (default: every day)
  --every N             then every N hours (1 to 23) until midnight
  -a, --alljobs         run every enabled job (as cncopagent -a)
  -t TYPE               run the enabled jobs of TYPE (as cncopagent -t)
  JOB...                run these jobs (ids or titles; written as ids)
  --email EMAIL         pass --email to cncopagent (needs [mail] mail_server)
  --user ACCOUNT        run as ACCOUNT (default SYSTEM on Windows, root on Linux); on
                        Windows schtasks asks for its password
  -n, --dryrun          print the entry and the commands; install nothing
  Environment: CNCOP_SCHEDULER (systemd|cron|windows), CNCOP_SYSTEMD_UNIT_DIR,
  CNCOP_SYSTEMCTL ("-": run none), CNCOP_CRON_DIR, CNCOP_TASKS_DIR, CNCOP_SCHTASKS.`;

export const SCHEDULE_ARGS = {
  at: { type: "string", valueHint: "HH:MM", description: "(schedule add) time of day, local time" },
  days: { type: "string", valueHint: "DAYS", description: "(schedule add) days of the week, e.g. mon,tue" },
  every: { type: "string", valueHint: "N", description: "(schedule add) then every N hours until midnight" },
  alljobs: { type: "boolean", alias: ["a"], description: "(schedule add) every enabled job" },
  email: { type: "string", valueHint: "EMAIL", multiple: true, description: "(schedule add) pass --email to cncopagent" },
  user: { type: "string", valueHint: "ACCOUNT", description: "(schedule add) the account the entry runs as" },
  dryrun: { type: "boolean", alias: ["n"], description: "(schedule add, remove) print, install nothing" },
} satisfies OptionArgs;

const OUTPUT = { json: { type: "boolean", description: "machine-readable output on stdout" } } satisfies OptionArgs;
const TYPE = { type: { type: "string", alias: ["t"], description: "(schedule add) the enabled jobs of TYPE" } } satisfies OptionArgs;
const { at, days, every, alljobs, email, user, dryrun } = SCHEDULE_ARGS;

export interface ScheduleActionSpec {
  readonly description: string;
  readonly options: OptionArgs;
  /** "" none, "NAME" exactly one, "NAME [JOB...]" one and more. */
  readonly operands: "" | "NAME" | "NAME [JOB...]";
}

export const SCHEDULE_ACTIONS: Readonly<Record<ScheduleAction, ScheduleActionSpec>> = {
  list: { description: "the entries the suite installed", options: OUTPUT, operands: "" },
  add: { description: "install an entry (-n: print it only)", options: { at, days, every, alljobs, ...TYPE, email, user, dryrun }, operands: "NAME [JOB...]" },
  show: { description: "an entry exactly as installed", options: OUTPUT, operands: "NAME" },
  remove: { description: "remove an entry the suite installed", options: { dryrun }, operands: "NAME" },
};

export function isScheduleAction(word: string): word is ScheduleAction {
  return Object.hasOwn(SCHEDULE_ACTIONS, word);
}
