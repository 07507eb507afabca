/**
 * cncopreporter: store-and-forward of the reports in `Spool/Messages/` to the cncop
 * network (SPEC §6). Exit status 0 whenever the pass ran, the network being down
 * included; 1 for its own failures; 2 for usage and configuration errors.
 */
import { moreHelp } from "../cli/suggest.ts";
import { COMMON_ARGS, type OptionValues } from "../cli/args.ts";
import { loadConfig } from "../install/config.ts";
import { EXIT, usageError } from "../cli/errors.ts";
import { ensureTree, resolvePaths } from "../install/paths.ts";
import { stopSignals } from "../process/signals.ts";
import { VERSION } from "../cli/version.ts";
import { runReporter } from "../reporter/reporter.ts";
import { EXIT_UNDELIVERED, INVOKED_BY_ENV, SLOW_ANSWER_MARK, SLOW_ANSWER_MS } from "../reporter/answer.ts";
import { openReporterLog, type ReporterLog } from "../reporter/reporter-log.ts";
import { answerHelpOrVersion, defineProgram } from "../cli/run-program.ts";
import { messages } from "../format/messages.ts";

export const USAGE = "usage: cncopreporter [-?] [-d] [-c CONFIG]";

export const HELP = `${USAGE}

Submits the reports waiting in Spool/Messages/ (JE-, then JS-, JF-, VIRUS- files, oldest
first) to the cncop network: [network] url in the configuration, with
Authorization: Bearer <api_key>. An accepted report is deleted; a refused one (4xx) is
tried again on later runs and expires 5 days after it was written; when the network does
not answer, the pass stops and the reports wait for the next run. Without a url nothing
is sent and nothing is lost. Its log: Spool/Logs/RP-YYYYMMDD.log.

optional arguments:
  -?, -h, --help        display help and exit
  --version             print the version and exit
  -d, --debug           log every request (and echo the log on stderr)
  -c CONFIG, --config CONFIG
                        alternate configuration file

exit status: 0 the pass ran (also when the network is down or another reporter is
running), 1 a failure of the reporter itself, 2 usage or configuration error,
130/143 interrupted; 75 a report was not delivered, only when run by cncopagent
(CNCOP_REPORTER_INVOKED_BY=cncopagent), which then skips its later calls of the run.
Run by cncopagent, it also says "waiting: ..." on stdout once an answer takes over
500 ms, and cncopagent then ends without waiting for this pass.
`;

export interface ReporterArgs {
  readonly help: boolean;
  readonly version: boolean;
  readonly debug: boolean;
  readonly config: string | undefined;
}

function reporterArgsOf({ _: positionals, ...values }: OptionValues<typeof COMMON_ARGS>): ReporterArgs {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, moreHelp(USAGE));
  return values;
}

export const { main, parse: parseReporterArgs } = defineProgram({
  name: "cncopreporter",
  description: "Submits the reports waiting in Spool/Messages/ to the cncop network",
  args: COMMON_ARGS,
  usage: USAGE,
  options: reporterArgsOf,
  run: (opts) => runReporterPass(opts),
});

async function runReporterPass(opts: ReporterArgs): Promise<number> {
  const early = answerHelpOrVersion("cncopreporter", opts, HELP);
  if (early !== undefined) return early;
  const paths = resolvePaths(opts.config);
  const config = loadConfig(paths.configFile);
  const say = messages.withTag("cncopreporter");
  for (const w of config.warnings) say.warn(w);
  ensureTree(paths);
  const log = openReporterLog(paths, opts.debug);

  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    log.warn(`${sig} received: sending nothing new; waiting for the answers in flight`);
    controller.abort(sig);
  };
  const signals = stopSignals();
  for (const s of signals) process.on(s, onSignal);
  try {
    log.info(`cncopreporter ${VERSION} started: pid ${process.pid}, root ${paths.root}, config ${paths.configFile}, url ${config.network.url ?? "(none)"}`);
    for (const w of config.warnings) log.warn(w);
    const summary = await runReporter({ paths, config, log, stop: controller.signal, ...slowAnswerSignal(log) });
    log.info(`cncopreporter finished: ${summary.text}`);
    if (summary.eventful) say.log(summary.text);
    if (summary.interrupted) return controller.signal.reason === "SIGINT" ? EXIT.SIGINT : EXIT.SIGTERM;
    // cncopagent's call: tell it, so that the later jobs of its run do not wait on the network too.
    if (summary.undelivered && process.env[INVOKED_BY_ENV] === "cncopagent") return EXIT_UNDELIVERED;
    return summary.failures > 0 ? EXIT.FAILED : EXIT.OK;
  } catch (err) {
    log.error(`cncopreporter stopped: ${(err as Error).message}`, false);
    throw err;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    log.close();
  }
}

/**
 * cncopagent's call: the first request left unanswered for SLOW_ANSWER_MS is said once on
 * stdout (and in the log), so that cncopagent need not wait for this pass at the end of its
 * run. Nothing else changes: the pass goes on to its end.
 */
function slowAnswerSignal(log: ReporterLog): { onSlowAnswer?: (text: string) => void; slowAfterMs?: number } {
  if (process.env[INVOKED_BY_ENV] !== "cncopagent") return {};
  let said = false;
  const onSlowAnswer = (text: string) => {
    if (said) return;
    said = true;
    log.info(`${text}; cncopagent is told it need not wait for this pass`);
    try {
      process.stdout.write(`${SLOW_ANSWER_MARK}${text}\n`);
    } catch {
      // cncopagent has ended: nobody is waiting any more.
    }
  };
  return { onSlowAnswer, slowAfterMs: SLOW_ANSWER_MS };
}
