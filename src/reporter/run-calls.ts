/**
 * cncopagent's calls of cncopreporter during one run (SPEC §5: after each job). A call
 * starts the reporter and does not wait for it: the next job starts at once, and a report
 * server that hangs never holds the jobs up.
 *  - At most one reporter of the run runs at a time. A call while it runs asks it for one
 *    more pass (the pass lock's "wanted" marker), and the run starts it again once it ends
 *    (the reports of the jobs that ended meanwhile).
 *  - After a "not delivered" (the reporter's exit EXIT_UNDELIVERED, or its time limit), the
 *    later calls of the run are not made: the reports wait in the spool for the next run or
 *    a scheduled reporter.
 *  - At the end of the run (finish()) cncopagent waits for its reporter, so that what a
 *    healthy server takes is delivered when cncopagent ends. A reporter that said a request
 *    went unanswered for SLOW_ANSWER_MS is let go instead: it finishes its pass on its own
 *    (each request within `timeout`; it keeps the pass lock, so nothing is sent twice), and
 *    cncopagent ends without it.
 * Nothing here throws or changes a job's outcome: everything ends up in the CA log.
 */
import { formatCommandLine } from "../process/command-line.ts";
import { LineSplitter } from "../format/line-splitter.ts";
import { type OutputSink } from "../process/output-capture.ts";
import { runProcess, type RunResult } from "../process/process-tree.ts";
import { releaseOwnJob } from "../process/windows-job.ts";
import { monotonicMs } from "../format/time.ts";
import { EXIT_UNDELIVERED, SLOW_ANSWER_MARK, SLOW_ANSWER_MS } from "./answer.ts";
import { requestPass } from "./pass-lock.ts";
import { reporterLockFiles } from "../install/paths.ts";
import { defaultInputs, describeOutcome, INVOKE_GRACE_MS, type InvokeDeps, type InvokeReporterOptions, REPORTER, reporterCommand, reporterTimeLimitMs } from "./invoke.ts";

interface Running {
  pid: number | undefined;
  readonly release: AbortController;
  /** Resolves when the reporter said on stdout that an answer is slow in coming. */
  readonly slow: Promise<void>;
  /** Resolves once its end is handled (and a pass asked for meanwhile started). */
  done: Promise<void>;
}

/** A sink that passes everything on and calls `onLine` for each line (format/line-splitter.ts, at most `max` bytes a line). */
export function lineWatcher(inner: OutputSink, onLine: (line: string) => void, max = 4096): OutputSink {
  const lines = new LineSplitter(onLine, { maxLineBytes: max });
  return {
    write(chunk) {
      inner.write(chunk);
      lines.push(chunk);
    },
    end() {
      lines.flush();
      inner.end();
    },
  };
}

/** `cncopreporter (pid N)`, or without the pid before it is known. */
function named(r: Running): string {
  return `${REPORTER}${r.pid === undefined ? "" : ` (pid ${r.pid})`}`;
}

export class ReporterCalls {
  private running: Running | undefined;
  private again = false;
  private undelivered: string | undefined;
  private leaving = false;

  constructor(
    private readonly opts: InvokeReporterOptions,
    private readonly deps: InvokeDeps = {},
  ) {}

  /** After a job: start the reporter, or ask the running one's run for one more pass. */
  call(): void {
    const { paths, config, log } = this.opts;
    if (!config.network.url) {
      log.line(`${REPORTER} not run: no [network] url in ${config.file}; the reports stay in ${paths.messages}`);
      return;
    }
    if (this.undelivered !== undefined) {
      log.line(`${REPORTER} not run: ${this.undelivered}; the reports stay in ${paths.messages} for the next run or a scheduled ${REPORTER}`);
      return;
    }
    if (this.leaving) return;
    if (this.running) {
      this.again = true;
      // Asked of the running reporter too: it passes again for these reports even when it is
      // let go at the end of the run (a slow but working server).
      try {
        requestPass(reporterLockFiles(paths.locks));
      } catch {
        // It is run again from here once it ends; a reporter let go leaves them for the next run.
      }
      log.line(`${named(this.running)} is still running: it is run again once it ends, for the reports written meanwhile`);
      return;
    }
    this.start();
  }

  /** At the end of the run: wait for the reporter, unless its server is slow to answer. */
  async finish(): Promise<void> {
    const { paths, config } = this.opts;
    while (this.running) {
      const r = this.running;
      const slow = await Promise.race([r.done.then(() => false), r.slow.then(() => true)]);
      if (!slow || this.running !== r) continue;
      const gone = this.release(
        r,
        `${named(r)} has waited more than ${SLOW_ANSWER_MS} ms for an answer from the report server: it finishes its pass on its own (each request within the [network] timeout of ${config.network.timeoutSec} s), and cncopagent ends without waiting for it; what it cannot deliver stays in ${paths.messages} for the next run or a scheduled ${REPORTER} (its log: the RP- log in ${paths.spoolLogs})`,
        "waiting for it to end",
      );
      if (gone) return;
      await r.done;
    }
  }

  /** Let a running reporter go at once (`why`: a closed console), unless it cannot outlive us. */
  async letGo(why: string): Promise<void> {
    const r = this.running;
    if (!r) return;
    this.leaving = true;
    this.release(r, `${why}: ${named(r)} finishes its pass on its own, and cncopagent ends without waiting for it`, `it ends with cncopagent; the reports it has not sent stay in ${this.opts.paths.messages}`);
  }

  private start(): void {
    const { paths, config, log } = this.opts;
    let cmd: ReturnType<typeof reporterCommand>;
    try {
      cmd = this.deps.command ?? reporterCommand(paths, this.opts.debug, defaultInputs());
    } catch (err) {
      log.line(`${REPORTER} could not be run: ${(err as Error).message}; the reports stay in the spool`);
      return;
    }
    const limitMs = this.deps.timeLimitMs ?? reporterTimeLimitMs(config);
    let saidSlow!: () => void;
    const r: Running = { pid: undefined, release: new AbortController(), slow: new Promise<void>((res) => (saidSlow = res)), done: Promise.resolve() };
    log.line(`${REPORTER}: run: ${formatCommandLine(cmd.argv)}`);
    const stdout = lineWatcher(log.sink(`[${REPORTER} stdout]`), (line) => {
      if (line.startsWith(SLOW_ANSWER_MARK)) saidSlow();
    });
    this.running = r;
    const run = this.deps.run ?? runProcess;
    r.done = Promise.resolve()
      .then(() =>
        run({
          argv: cmd.argv,
          cwd: paths.root,
          env: cmd.env,
          deadline: monotonicMs() + limitMs,
          graceMs: INVOKE_GRACE_MS,
          stdout,
          stderr: log.sink(`[${REPORTER} stderr]`),
          release: r.release.signal,
          onSpawn: (pid) => (r.pid = pid),
          log: (t) => log.line(t),
        }),
      )
      .then(
        (result) => this.ended(r, result, limitMs),
        (err: unknown) => {
          log.line(`${REPORTER} could not be run: ${(err as Error).message}; the reports stay in the spool`);
          this.ended(r, undefined, limitMs);
        },
      );
  }

  private ended(r: Running, result: RunResult | undefined, limitMs: number): void {
    if (this.running === r) this.running = undefined;
    if (result?.released) return;
    const { log } = this.opts;
    if (result) log.line(describeOutcome(result, limitMs));
    if (result && (result.timedOut || result.exitCode === EXIT_UNDELIVERED)) {
      const how = result.timedOut ? "ran out of its time limit" : `exited with status ${EXIT_UNDELIVERED}`;
      this.undelivered = `a report was not delivered earlier in this run (${REPORTER} ${how} at ${new Date().toISOString()})`;
    }
    if (this.again && this.undelivered === undefined && !this.leaving) {
      this.again = false;
      this.start();
    }
  }

  /**
   * Let `r` outlive cncopagent and say so (the log line `said`). On Windows cncopagent's
   * job object must stop ending what is left in it first, or the reporter would be ended
   * mid-request and a report the server took sent again; when it cannot, `otherwise` is
   * said and false returned.
   */
  private release(r: Running, said: string, otherwise: string): boolean {
    const { log } = this.opts;
    const why = releaseOwnJob();
    if (why !== undefined) {
      log.line(`cannot let ${REPORTER} outlive cncopagent (${why}): ${otherwise}`);
      return false;
    }
    this.leaving = true;
    log.line(said);
    r.release.abort();
    return true;
  }
}
