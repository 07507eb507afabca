/**
 * What `w` does with its options: list the prefixes, summarise a day, follow the newest
 * log, or page a day's logs. w reads the tree and never writes to it; the configuration
 * is optional (only `[agents]` is used, to name added agents' prefixes): a missing one is
 * ignored, an invalid one is a warning, so a broken config never stops anyone reading logs.
 */
import { existsSync } from "node:fs";
import { loadConfig } from "../install/config.ts";
import { CncopError, EXIT, errnoCode } from "../cli/errors.ts";
import { CA_PREFIX, resolvePaths, type Paths } from "../install/paths.ts";
import { stopSignals } from "../process/signals.ts";
import { describePrefix, isKnownPrefix, listLogFiles, logsOf, pickDay, summarisePrefixes, type LogFile } from "./catalog.ts";
import { escapeControls } from "../format/escape.ts";
import { localTimestamp } from "../format/time.ts";
import { messages, type Messages } from "../format/messages.ts";
import { makePaint, shouldColour, type Paint } from "../format/terminal.ts";
import { follow } from "./follow.ts";
import { choosePager, noPagerError, runPager, type Which } from "./pager.ts";
import { lockRunningCheck, summariseDay } from "./summarise.ts";

export interface WatchOptions {
  readonly config: string | undefined;
  readonly daysAgo: number;
  readonly follow: boolean;
  readonly pager: boolean;
  readonly prefix: string | undefined;
}

export interface WatchIo {
  readonly env: Record<string, string | undefined>;
  readonly stdout: NodeJS.WriteStream;
  /** Notes and warnings, `w: ...` on stderr. */
  readonly say: Messages;
  readonly which: Which;
}

const defaultIo = (): WatchIo => ({
  env: process.env,
  stdout: process.stdout,
  say: messages.withTag("w"),
  which: (c) => Bun.which(c),
});

/** `[agents]` programs of the config, for naming prefixes; never fails. */
export function configuredAgents(paths: Paths, warn: (text: string) => void): string[] {
  try {
    return Object.values(loadConfig(paths.configFile).agents).flat();
  } catch (err) {
    if (!(err instanceof CncopError) || existsSync(paths.configFile)) warn(`${(err as Error).message} (reading the logs anyway)`);
    return [];
  }
}

export async function runWatcher(opts: WatchOptions, io: WatchIo = defaultIo()): Promise<number> {
  const paths = resolvePaths(opts.config, io.env);
  if (!existsSync(paths.root)) {
    throw new CncopError(`The cncop application directory ${paths.root} does not exist. Set CNCOP_HOME or pass -c <root>/Config/cncop3.ini.`, EXIT.USAGE);
  }
  const agents = configuredAgents(paths, (t) => io.say.warn(t));
  const paint = makePaint(shouldColour(io.stdout.isTTY, undefined, io.env));
  const files = listLogFiles(paths);

  if (opts.prefix === undefined && !opts.follow && !opts.pager) {
    io.stdout.write(renderListing(paths, files, agents, paint));
    io.stdout.write(await renderNextRuns(paths, paint));
    return EXIT.OK;
  }
  const prefix = (opts.prefix ?? CA_PREFIX).toUpperCase();
  const own = logsOf(files, prefix);
  const where = prefix === CA_PREFIX ? paths.logs : paths.spoolLogs;

  if (opts.follow) {
    if (own.length === 0 && !isKnownPrefix(prefix, agents)) throw noLogs(prefix, where, files);
    return followPrefix(prefix, paths, where, paint, io);
  }

  const pick = pickDay(own, opts.daysAgo);
  if ("none" in pick) throw noLogs(prefix, where, files);
  if ("outOfRange" in pick) {
    const r = pick.outOfRange;
    throw new CncopError(
      `${prefix} has logs on ${r.days} day${r.days === 1 ? "" : "s"} (newest ${r.newest}, oldest ${r.oldest}): --daysago counts those days, so use 0 to ${r.days - 1}.`,
      EXIT.FAILED,
    );
  }
  if (opts.pager) {
    // Newest first: the pager opens on the latest invocation of the day (`:n` for earlier ones).
    const paths_ = [...pick.files].reverse().map((f) => f.path);
    const argv = choosePager(io.env, io.which, (t) => io.say.info(t));
    if (!argv) throw noPagerError(paths_);
    const r = await runPager(argv, paths_);
    if (r.exitCode === 0) return EXIT.OK;
    io.say.info(`the pager ${argv[0]} ${r.signal ? `was killed by ${r.signal}` : `exited with status ${r.exitCode}`}`);
    return EXIT.FAILED;
  }
  io.stdout.write(
    `${summariseDay({ prefix, what: describePrefix(prefix, agents), day: pick.day, files: pick.files, isRunning: lockRunningCheck(paths), paint })}\n`,
  );
  return EXIT.OK;
}

function noLogs(prefix: string, where: string, files: readonly LogFile[]): CncopError {
  const present = summarisePrefixes(files).map((p) => p.prefix);
  const name = prefix === CA_PREFIX ? "CA-YY-MM-DD_HHMM.log" : `${prefix}-YYYYMMDD.log`;
  return new CncopError(
    `no ${prefix} logs (${name}) in ${where}. ${present.length ? `Prefixes with logs: ${present.join(", ")}.` : "There are no logs yet."} Run w without arguments for the list.`,
    EXIT.FAILED,
  );
}

export function renderListing(paths: Paths, files: readonly LogFile[], agents: readonly string[], paint: Paint): string {
  const rows = summarisePrefixes(files, agents);
  if (rows.length === 0) return `no logs yet in ${paths.logs} or ${paths.spoolLogs}\n`;
  const width = Math.max(6, ...rows.map((r) => r.prefix.length));
  const lines = [
    `logs of ${paths.root}: \`w PREFIX\` summarises the newest day, \`w -f PREFIX\` follows, \`w -p PREFIX\` pages`,
    paint("bold", `${"PREFIX".padEnd(width)}  NEWEST      DAYS  FILES  WHAT`),
    // `what` names agents from the configuration: data, shown escaped.
    ...rows.map((r) => `${r.prefix.padEnd(width)}  ${r.newestDay}  ${String(r.days).padStart(4)}  ${String(r.files).padStart(5)}  ${escapeControls(r.what)}`),
  ];
  return `${lines.join("\n")}\n`;
}

/** The jobs a schedule of this install runs, with when each runs next; "" when none (or no jobs to read). */
async function renderNextRuns(paths: Paths, paint: Paint): Promise<string> {
  if (!existsSync(paths.jobsDb)) return "";
  const [{ loadJobs }, { readNextRuns }] = await Promise.all([import("../install/jobs-db.ts"), import("../jobs-admin/schedule/next-runs.ts")]);
  let jobs;
  try {
    jobs = loadJobs(paths.jobsDb);
  } catch {
    return "";
  }
  const next = readNextRuns(paths.configFile, jobs, new Date(), () => {});
  const rows = jobs.filter((j) => next.has(j.jobid)).map((j) => ({ j, n: next.get(j.jobid)! })).sort((a, b) => a.n.at.getTime() - b.n.at.getTime());
  if (rows.length === 0) return "";
  const lines = [
    "",
    `next runs (cncopjobs schedule):`,
    paint("bold", "NEXT RUN          JOB"),
    // Titles and schedule names are data: shown escaped.
    ...rows.map(({ j, n }) => `${localTimestamp(n.at).slice(0, 16)}  ${escapeControls(`${j.jobid} '${j.jobtitle}' (schedule ${n.schedule})`)}`),
  ];
  return `${lines.join("\n")}\n`;
}

async function followPrefix(prefix: string, paths: Paths, where: string, paint: Paint, io: WatchIo): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals = stopSignals();
  for (const s of signals) process.on(s, stop);
  const onError = (err: unknown) => {
    // The reader went away (`w -f CA | head`): stop quietly.
    if (errnoCode(err) !== "EPIPE") io.say.info(`cannot write: ${(err as Error).message}`);
    controller.abort();
  };
  io.stdout.on("error", onError);
  try {
    await follow({
      newest: () => logsOf(listLogFiles(paths), prefix).pop(),
      watchDirs: [where],
      write: (text) => writeText(io.stdout, text, controller.signal),
      notice: (t) => io.say.info(t),
      paint,
      signal: controller.signal,
      waitingFor: `the first ${prefix} log in ${where}`,
    });
  } finally {
    for (const s of signals) process.off(s, stop);
    io.stdout.off("error", onError);
  }
  // Following ends only when interrupted: that is its normal end, so the status is 0.
  return EXIT.OK;
}

/** Write with back-pressure: a slow reader slows us down instead of growing our memory. */
function writeText(out: NodeJS.WriteStream, text: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // Written even after an interruption (the last lines); only the wait for drain is skipped.
    if (out.write(text) || signal.aborted) return resolve();
    const done = () => {
      out.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    out.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
