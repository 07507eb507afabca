/**
 * w, the log watcher: turns arguments into options and hands over to src/watcher/watch.ts.
 */
import { moreHelp } from "../cli/suggest.ts";
import { CONFIG_ARGS, HELP_ARGS, type OptionArgs, type OptionValues } from "../cli/args.ts";
import { usageError } from "../cli/errors.ts";
import { answerHelpOrVersion, defineProgram } from "../cli/run-program.ts";
import { runWatcher, type WatchOptions } from "../watcher/watch.ts";

export const USAGE = "usage: w [-?] [-c CONFIG] [--daysago N] [-f] [-p] [PREFIX]";

export const HELP = `${USAGE}

Summarises and follows the logs of the cncop suite: cncopagent's own logs (CA, in Logs/)
and the daily logs in Spool/Logs/ (agents such as CIFS and RSYNC, CAD diagnostics, RP
cncopreporter).

positional arguments:
  PREFIX                the log prefix (case insensitive). Without it, w lists the
                        prefixes that have logs, with the newest day of each.
                        -f and -p without PREFIX use CA.

optional arguments:
  -?, -h, --help        display help and exit
  --version             print the version and exit
  -c CONFIG, --config CONFIG
                        alternate configuration file (it also locates the root)
  --daysago N           the day N days before the newest, counting only days that have
                        a log of PREFIX (0, the default: the newest day with a log)
  -f, --follow          follow the newest log of PREFIX as it is written, moving on to a
                        newer one when it appears, until interrupted (Ctrl-C: exit 0)
  -p, --pager           open the day's log(s) in a pager: $PAGER, else less, vim, more
  --wide                whole session ids, and lines as long as they are (by default a
                        summary fits the terminal, 80 columns when it is not one, and
                        shows each session by its last 8 characters)

exit status: 0 done, 1 no such log (no log of PREFIX, or --daysago beyond its days),
2 usage error or no pager found.
`;

const ARGS = {
  ...HELP_ARGS,
  ...CONFIG_ARGS,
  daysago: { type: "string", valueHint: "N", default: "0", description: "the day N days before the newest that has a log of PREFIX" },
  follow: { type: "boolean", alias: ["f"], description: "follow the newest log of PREFIX as it is written" },
  pager: { type: "boolean", alias: ["p"], description: "open the day's log(s) in a pager" },
  wide: { type: "boolean", description: "whole session ids and lines, not fitted to the terminal" },
} satisfies OptionArgs;

export type WOptions = WatchOptions & { readonly help: boolean; readonly version: boolean };

function wOptionsOf({ _: positionals, help, version, config, daysago, follow, pager, wide }: OptionValues<typeof ARGS>): WOptions {
  if (!/^\d{1,6}$/.test(daysago)) throw usageError(`--daysago needs a whole number of days (0 or more), not ${JSON.stringify(daysago)}`, moreHelp(USAGE));
  const daysAgo = Number(daysago);
  if (positionals.length > 1) throw usageError(`one PREFIX at most, got ${positionals.join(" ")}`, moreHelp(USAGE));
  const prefix = positionals[0];
  if (prefix !== undefined && !/^[A-Za-z][A-Za-z0-9]{1,9}$/.test(prefix)) {
    throw usageError(`${JSON.stringify(prefix)} is not a log prefix (letters and digits, such as CA or CIFS)`, moreHelp(USAGE));
  }
  if (follow && pager) throw usageError(`-f and -p cannot be combined: follow in the terminal, or page a day's log`, moreHelp(USAGE));
  if (follow && daysAgo > 0) throw usageError(`-f follows the newest log; --daysago ${daysAgo} names an earlier day, which is no longer written`, moreHelp(USAGE));
  return { help, version, config, daysAgo, follow, pager, prefix, wide };
}

const program = defineProgram({
  name: "w",
  description: "Summarises and follows the logs of the cncop suite",
  args: ARGS,
  usage: USAGE,
  options: wOptionsOf,
  run: (opts) => answerHelpOrVersion("w", opts, HELP) ?? runWatcher(opts),
});

export const { main, parse: parseWArgs } = program;
