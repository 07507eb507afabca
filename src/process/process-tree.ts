/**
 * Running children so that their whole tree can be stopped. On POSIX each child leads a
 * process group of its own (setsid through `detached`), and the group is signalled; a
 * child run with `ownGroup: false` stays in our group instead (so whoever stops our tree
 * stops it too) and is signalled alone. On Windows Bun offers no job objects, so
 * `taskkill /T` walks the tree (without /F first, then with /F after the grace period).
 */
import { spawn as nodeSpawn, spawnSync } from "node:child_process";
import { captureOutput, type OutputSink } from "./output-capture.ts";
import { groupRunning } from "./proc-info.ts";
import { monotonicMs } from "../format/time.ts";

export const KILL_GRACE_MS_DEFAULT = 30_000;
/** How long stdio may stay open after a child exited before its pipes are closed by force. */
export const STDIO_DRAIN_MS_DEFAULT = 2_000;
const POLL_MS = 50;
/** How long a KILLed tree may take to vanish before we stop waiting for it. */
const KILL_WAIT_MS = 5_000;

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
  readonly argv: readonly string[];
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
}

export type Signal = "SIGTERM" | "SIGKILL";

/** Send a signal to a child's whole tree (or to the child alone, `group` false); false when nothing was there to signal. */
export function signalTree(pid: number, signal: Signal, platform: NodeJS.Platform = process.platform, group = true): boolean {
  if (platform === "win32") {
    const args = ["/PID", String(pid), "/T"];
    if (signal === "SIGKILL") args.push("/F");
    const r = spawnSync("taskkill", args, { stdio: "ignore", windowsHide: true });
    return r.status === 0;
  }
  // A group that is gone, or never formed: the process itself.
  for (const target of group ? [-pid, pid] : [pid]) {
    try {
      process.kill(target, signal);
      return true;
    } catch {}
  }
  return false;
}

/**
 * Is any process of the group (POSIX) or the process (Windows) still alive? On Linux a
 * group of zombies has ended: orphans wait for init to reap them, which some container
 * inits do only now and then.
 */
export function treeAlive(pid: number, platform: NodeJS.Platform = process.platform, group = true): boolean {
  const asGroup = group && platform !== "win32";
  try {
    process.kill(asGroup ? -pid : pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !asGroup || platform !== "linux" || groupRunning(pid);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Stop a tree: TERM, then KILL once `graceMs` has passed and anything still lives; then
 * wait (at most KILL_WAIT_MS) until it is gone, so that a job's lock outlives its processes.
 */
export async function stopTree(pid: number, graceMs: number, platform: NodeJS.Platform = process.platform, group = true): Promise<void> {
  const alive = () => treeAlive(pid, platform, group);
  signalTree(pid, "SIGTERM", platform, group);
  const until = monotonicMs() + graceMs;
  while (monotonicMs() < until && alive()) await sleep(POLL_MS);
  if (!alive()) return;
  signalTree(pid, "SIGKILL", platform, group);
  const killedBy = monotonicMs() + KILL_WAIT_MS;
  while (monotonicMs() < killedBy && alive()) await sleep(POLL_MS);
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

    const [file, ...args] = spec.argv;
    const output = captureOutput(spec.stdout, spec.stderr, platform);
    let child: ReturnType<typeof nodeSpawn>;
    spec.beforeSpawn?.();
    try {
      child = nodeSpawn(file ?? "", args, {
        cwd: spec.cwd,
        env: spec.env as NodeJS.ProcessEnv,
        stdio: output.stdio,
        detached: platform !== "win32" && group,
        windowsHide: true,
        windowsVerbatimArguments: spec.verbatim === true,
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

    const finish = () => {
      if (settled) return;
      settled = true;
      if (deadlineTimer) clearTimeout(deadlineTimer);
      spec.abort?.removeEventListener("abort", onAbort);
      spec.stdout.end();
      spec.stderr.end();
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
      });
    };

    const stop = () => {
      if (pid === undefined || stopping) return;
      stopping = stopTree(pid, spec.graceMs, platform, group);
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
      exit = { code, signal };
      if (pid === undefined) return;
      void (async () => {
        // Anything the child left in its group is stopped too: no straggler outlives a job.
        if (platform !== "win32" && group && treeAlive(pid, platform)) {
          if (!stopping) stopping = stopTree(pid, spec.graceMs, platform);
        }
        if (stopping) await stopping;
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
