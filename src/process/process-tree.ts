/**
 * Running children so that their whole tree can be stopped (tree-stop.ts). On POSIX each
 * child leads a process group of its own (setsid through `detached`); a child run with
 * `ownGroup: false` stays in our group instead (so whoever stops our tree stops it too). On
 * Windows each child is put into a job object of its own right after it started
 * (windows-job.ts). Whatever a child leaves behind when it exits is stopped too.
 */
import { spawn as nodeSpawn } from "node:child_process";
import { captureOutput, type OutputSink } from "./output-capture.ts";
import { closeHandle, consoleCodePage, openProcessHandle, processExitCode, windowsProcessStart } from "./native-windows.ts";
import { consoleTextSink } from "./console-text.ts";
import { monotonicMs } from "../format/time.ts";
import { type Signal, signalTree, stopProcessTree, stopRunLeftovers, treeAlive, WINDOWS_STOP_EXIT } from "./tree-stop.ts";
import { closeWindowsJob, jobForChild, relinquishWindowsJob, terminateWindowsJob, type WindowsJob } from "./windows-job.ts";

export { type Signal, signalTree, treeAlive };

export const KILL_GRACE_MS_DEFAULT = 30_000;
/** How long stdio may stay open after a child exited before its pipes are closed by force. */
export const STDIO_DRAIN_MS_DEFAULT = 2_000;

/** Whole milliseconds from the variable `name` (a test-only knob, docs/testing.md), else `dflt`. */
export function msFromEnv(name: string, dflt: number, env: Readonly<Record<string, string | undefined>> = process.env): number {
  const v = env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
}

/** The stdio drain: CNCOP_STDIO_DRAIN_MS, else 2 s. */
export function stdioDrainMs(env: Readonly<Record<string, string | undefined>> = process.env): number {
  return msFromEnv("CNCOP_STDIO_DRAIN_MS", STDIO_DRAIN_MS_DEFAULT, env);
}

export interface RunSpec {
  /** What the child sees as its arguments; argv[0] is the file started unless `file` is given. */
  readonly argv: readonly string[];
  /**
   * The file to start when it differs from argv[0]: the real path that was checked
   * against Bin/ (process/confine.ts), while the child still sees argv[0] as its name.
   */
  readonly file?: string | undefined;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Monotonic ms (monotonicMs()) after which the tree is stopped as timed out. */
  readonly deadline?: number | undefined;
  /** Grace between TERM and KILL. */
  readonly graceMs: number;
  /** Aborting stops the tree as interrupted. */
  readonly abort?: AbortSignal | undefined;
  readonly stdout: OutputSink;
  readonly stderr: OutputSink;
  /** POSIX: lead a process group of its own (the default), or stay in ours. */
  readonly ownGroup?: boolean | undefined;
  /** Called right before the child is started, then onSpawn(pid) or onSpawnFailed(). */
  readonly beforeSpawn?: (() => void) | undefined;
  readonly onSpawn?: ((pid: number) => void) | undefined;
  readonly onSpawnFailed?: (() => void) | undefined;
  readonly platform?: NodeJS.Platform | undefined;
  /** Windows: pass the command line as it is (cmd.exe wrapping quotes it itself). */
  readonly verbatim?: boolean | undefined;
  /**
   * Linux: the job run's session. Stopping the child (deadline, abort) then also stops every
   * process carrying the session and every orphan re-parented to us (SPEC §5 "whole
   * process tree"). Only for a child that is alone in its run at that moment.
   */
  readonly session?: string | undefined;
  /** Where failed stop attempts (and a child that could not be put into a job) are said. */
  readonly log?: ((text: string) => void) | undefined;
  /**
   * Aborting lets the child go: it may outlive this process (no deadline any more, its
   * output no longer read, nothing of ours keeps this process alive for it; Windows: its
   * job no longer ends it), and the result, `released`, comes at once. On Windows such a
   * child is started detached (no console of its own, its own process group).
   */
  readonly release?: AbortSignal | undefined;
}

export interface RunResult {
  readonly argv: readonly string[];
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  /** Why it could not be started (ENOENT, EACCES, ...). */
  readonly spawnError: string | undefined;
  readonly started: Date;
  readonly finished: Date;
  readonly durationMs: number;
  /** Let go through RunSpec.release while it still ran: exitCode and signal are null. */
  readonly released?: boolean;
}

/**
 * Stop a tree: TERM, then KILL once `graceMs` has passed and anything still lives; then
 * wait (at most KILL_WAIT_MS) until it is gone, so that a job's lock outlives its processes.
 */
export function stopTree(pid: number, graceMs: number, platform: NodeJS.Platform = process.platform, group = true): Promise<void> {
  return stopProcessTree({ pid, group }, { graceMs, platform, ownChildren: liveChildren });
}

/** The children started here that have not ended yet: never taken for adopted orphans. */
const liveChildren = new Set<number>();

/** Linux, after a job run: stop what of its session is still alive (see stopRunLeftovers). */
export function stopLeftovers(session: string, graceMs: number, log?: (text: string) => void, platform: NodeJS.Platform = process.platform): Promise<number[]> {
  return stopRunLeftovers(session, { graceMs, platform, log, ownChildren: liveChildren });
}

/** Windows: the child's exit status with all its 32 bits (the runtime reports the low byte only); the handle is closed. */
function fullExitCode(handle: bigint, code: number): number {
  const full = processExitCode(handle);
  closeHandle(handle);
  return full !== undefined && (full & 0xff) === (code & 0xff) ? full : code;
}

/** Windows: the child has exited; whatever its job still holds is ended, then the job closed. */
function endChildJob(job: WindowsJob, log: ((text: string) => void) | undefined): void {
  const r = terminateWindowsJob(job, WINDOWS_STOP_EXIT);
  if ("error" in r) log?.(`could not end what was left in a child's job object: ${r.error}`);
  closeWindowsJob(job);
}

/**
 * Run one child with stdin empty, both streams streamed to sinks, a deadline and an
 * abort signal. Never throws: failure at the process boundary is data.
 */
export function runProcess(spec: RunSpec): Promise<RunResult> {
  const platform = spec.platform ?? process.platform;
  const group = spec.ownGroup !== false;
  const started = new Date();
  const startedMono = monotonicMs();
  return new Promise<RunResult>((resolve) => {
    let timedOut = false;
    let interrupted = false;
    let stopping: Promise<void> | undefined;
    let exit: { code: number | null; signal: string | null } | undefined;
    let spawnError: string | undefined;
    let settled = false;
    let deadlineTimer: ReturnType<typeof setTimeout> | undefined;

    const [name, ...args] = spec.argv;
    const file = spec.file ?? name;
    // Windows: console programs write in the console's code page, with CRLF.
    const codePage = platform === "win32" ? consoleCodePage() : undefined;
    const stdout = platform === "win32" ? consoleTextSink(spec.stdout, codePage) : spec.stdout;
    const stderr = platform === "win32" ? consoleTextSink(spec.stderr, codePage) : spec.stderr;
    const output = captureOutput(stdout, stderr, platform);
    let child: ReturnType<typeof nodeSpawn>;
    spec.beforeSpawn?.();
    try {
      child = nodeSpawn(file ?? "", args, {
        cwd: spec.cwd,
        env: spec.env as NodeJS.ProcessEnv,
        stdio: output.stdio,
        // Windows: a child that may be let go (release) must not be in the runtime's own
        // kill-on-close job (libuv puts every child not started detached there).
        detached: platform === "win32" ? spec.release !== undefined : group,
        windowsHide: true,
        windowsVerbatimArguments: spec.verbatim === true,
        ...(spec.file !== undefined && name !== undefined ? { argv0: name } : {}),
      });
    } catch (err) {
      output.attach(undefined);
      spec.onSpawnFailed?.();
      const finished = new Date();
      resolve({ argv: spec.argv, pid: undefined, exitCode: null, signal: null, timedOut: false, interrupted: false, spawnError: (err as Error).message, started, finished, durationMs: monotonicMs() - startedMono });
      return;
    }
    const pid = child.pid;
    output.attach(child);
    let job: WindowsJob | undefined;
    let windowsStart: string | undefined;
    let handle: bigint | undefined;
    if (pid !== undefined) {
      liveChildren.add(pid);
      if (platform === "win32") {
        handle = openProcessHandle(pid);
        windowsStart = windowsProcessStart(pid);
        const j = jobForChild(pid);
        if ("ok" in j) job = j.ok;
        else spec.log?.(`pid ${pid} could not be put into a job object of its own (${j.error}); its tree will be stopped with taskkill`);
      }
    }

    const finish = (released = false) => {
      if (settled) return;
      settled = true;
      if (deadlineTimer) clearTimeout(deadlineTimer);
      spec.abort?.removeEventListener("abort", onAbort);
      spec.release?.removeEventListener("abort", onRelease);
      stdout.end();
      stderr.end();
      const finished = new Date();
      resolve({
        argv: spec.argv,
        pid,
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        timedOut,
        interrupted,
        spawnError,
        started,
        finished,
        durationMs: monotonicMs() - startedMono,
        ...(released ? { released } : {}),
      });
    };
    const onRelease = () => {
      if (exit || settled || stopping) return;
      output.close();
      child.unref();
      if (job) relinquishWindowsJob(job, spec.log);
      finish(true);
    };

    const stop = () => {
      if (pid === undefined || stopping) return;
      const target = { pid, group, session: spec.session, job, start: windowsStart };
      stopping = stopProcessTree(target, { graceMs: spec.graceMs, platform, log: spec.log, ownChildren: liveChildren });
    };
    const onAbort = () => {
      if (exit || settled) return;
      interrupted = true;
      stop();
    };

    child.on("error", (err) => {
      if (pid === undefined || !exit) {
        spawnError = err.message;
        if (pid === undefined) {
          output.close();
          setTimeout(finish, 0);
        }
      }
    });

    child.on("exit", (code, signal) => {
      exit = { code: handle === undefined || code === null ? code : fullExitCode(handle, code), signal };
      if (pid === undefined) return;
      liveChildren.delete(pid);
      void (async () => {
        // Anything the child left in its group (its job) is stopped too: no straggler outlives a job.
        if (platform !== "win32" && group && treeAlive(pid, platform)) {
          const leftovers = { pid, group };
          if (!stopping) stopping = stopProcessTree(leftovers, { graceMs: spec.graceMs, platform, log: spec.log, ownChildren: liveChildren });
        }
        if (stopping) await stopping;
        if (job) endChildJob(job, spec.log);
        if (!(await output.closed(stdioDrainMs()))) output.close();
        // Let the last buffered output land before the result is sealed.
        setTimeout(finish, output.settleMs);
      })();
    });

    if (pid !== undefined) spec.onSpawn?.(pid);
    else spec.onSpawnFailed?.();
    if (spec.abort) {
      if (spec.abort.aborted) onAbort();
      else spec.abort.addEventListener("abort", onAbort, { once: true });
    }
    if (spec.release) {
      if (spec.release.aborted) onRelease();
      else spec.release.addEventListener("abort", onRelease, { once: true });
    }
    if (spec.deadline !== undefined) {
      const ms = Math.max(0, spec.deadline - monotonicMs());
      deadlineTimer = setTimeout(() => {
        if (exit || settled) return;
        timedOut = true;
        stop();
      }, Math.min(ms, 2_147_000_000));
    }
  });
}
