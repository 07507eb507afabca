/**
 * Stopping a child's whole tree (SPEC §5 "whole process tree"), and saying so when it fails.
 *
 * - Linux: the tree is found in /proc (tree-members.ts): the child's process group, every
 *   descendant by parent links, and, for a job run, every process of its session and every
 *   orphan re-parented to us; so a descendant in a session or group of its own is stopped
 *   too. SIGTERM, then SIGKILL after the grace to whatever still lives (found again each
 *   time: a process may start others meanwhile), then wait until none lives.
 * - Other POSIX (macOS, BSD): the process group and every descendant by parent links, from
 *   `ps` (without ps: the process group alone).
 * - Windows: the child's job object (windows-job.ts) is terminated at once: console programs
 *   obey no polite request, so there is no grace to wait out. Without a job object,
 *   `%SystemRoot%\System32\taskkill.exe /T /F` is the fallback.
 *
 * Every failed attempt (a signal refused, a job that cannot be terminated, a tree still
 * alive after the KILL) goes to `log`: a stop never fails silently.
 */
import { spawnSync } from "node:child_process";
import nodePath from "node:path";
import { groupRunning, identify } from "./proc-info.ts";
import { type ProcEntry, parsePsTable, readProcTable, treeMembers } from "./tree-members.ts";
import { isSubreaper, reapOrphan } from "./native-linux.ts";
import { terminateWindowsJob, type WindowsJob } from "./windows-job.ts";
import { windowsProcessStart } from "./native-windows.ts";
import { monotonicMs } from "../format/time.ts";

export type Signal = "SIGTERM" | "SIGKILL";

const POLL_MS = 50;
/** How long a KILLed tree may take to vanish before we stop waiting for it. */
export const KILL_WAIT_MS = 5_000;
/** The exit status TerminateJobObject gives the processes of a stopped tree. */
export const WINDOWS_STOP_EXIT = 1;

export interface StopTarget {
  readonly pid: number;
  /** POSIX: the child leads a process group of its own. */
  readonly group: boolean;
  /** Linux: the run's session; its processes and our adopted orphans are part of the tree. */
  readonly session?: string | undefined;
  /** Windows: the job object holding the child's tree. */
  readonly job?: WindowsJob | undefined;
  /** Windows: the child's creation time, so that a reused pid is never taken for it. */
  readonly start?: string | null | undefined;
}

export interface StopOptions {
  readonly graceMs: number;
  readonly platform?: NodeJS.Platform | undefined;
  /** Where failed stop attempts are said. */
  readonly log?: ((text: string) => void) | undefined;
  /** The children this process started and that still run (never adopted orphans). */
  readonly ownChildren?: ReadonlySet<number> | undefined;
}

/** Windows: taskkill by its full path (never looked up on PATH). */
export function taskkillPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return nodePath.win32.join(env.SystemRoot ?? env.SYSTEMROOT ?? "C:\\Windows", "System32", "taskkill.exe");
}

/** Send a signal to a child's process group (or to the child alone, `group` false); false when nothing was there to signal. */
export function signalTree(pid: number, signal: Signal, platform: NodeJS.Platform = process.platform, group = true): boolean {
  if (platform === "win32") {
    const r = spawnSync(taskkillPath(), ["/PID", String(pid), "/T", "/F"], { stdio: "ignore", windowsHide: true });
    return r.status === 0;
  }
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
 * group of zombies has ended: orphans wait for init to reap them.
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

/** Linux: the tree of `t` as it is now. */
function linuxMembers(t: StopTarget, ownChildren: ReadonlySet<number>): ProcEntry[] {
  return treeMembers({ root: { pid: t.pid, group: t.group }, session: t.session, self: process.pid, ownChildren, sinceTicks: identify(process.pid)?.start });
}

/** Stop a child's tree: see the file comment. Resolves once it is gone (or we gave up, logged). */
export async function stopProcessTree(t: StopTarget, opts: StopOptions): Promise<void> {
  const platform = opts.platform ?? process.platform;
  const log = opts.log ?? (() => {});
  if (platform === "win32") return stopWindowsTree(t, log);
  const own = opts.ownChildren ?? new Set<number>();
  if (platform !== "linux") {
    // macOS, BSD: the group and every descendant by parent links, from ps; else the group.
    if (psTable() === undefined) return stopGroup(t, opts.graceMs, platform, log);
    const find = () => treeMembers({ root: { pid: t.pid, group: t.group }, self: process.pid, ownChildren: own }, psTable() ?? [], () => undefined);
    return stopMembers(find, `the tree of pid ${t.pid}`, opts.graceMs, own, log);
  }
  await stopMembers(() => linuxMembers(t, own), `the tree of pid ${t.pid}`, opts.graceMs, own, log);
}

/**
 * Linux, at the end of a job run: stop whatever of the run is still alive (it carries the
 * session, or is an orphan re-parented to us), and collect the orphans that ended. Returns
 * the pids found alive.
 */
export async function stopRunLeftovers(session: string, opts: StopOptions): Promise<number[]> {
  if ((opts.platform ?? process.platform) !== "linux") return [];
  const own = opts.ownChildren ?? new Set<number>();
  const since = identify(process.pid)?.start;
  const find = (table?: ProcEntry[]) => treeMembers({ session, self: process.pid, ownChildren: own, sinceTicks: since }, table);
  // One read of /proc when nothing is left, which is the common case.
  const table = readProcTable();
  const found = find(table).map((p) => p.pid);
  reapEndedOrphans(own, table);
  if (found.length > 0) {
    opts.log?.(`stopping ${found.length} process(es) the run left behind: pids ${found.join(", ")}`);
    await stopMembers(() => find(), `session ${session}`, opts.graceMs, own, opts.log ?? (() => {}));
    reapEndedOrphans(own);
  }
  return found;
}

/** Collect the exit status of every orphan re-parented to us (as subreaper) that has ended. */
export function reapEndedOrphans(own: ReadonlySet<number>, table?: readonly ProcEntry[]): void {
  if (!isSubreaper()) return;
  for (const p of table ?? readProcTable()) {
    if (p.ppid === process.pid && p.state === "Z" && !own.has(p.pid)) reapOrphan(p.pid);
  }
}

/** SIGTERM to every member, again to any that appear; SIGKILL after the grace; wait until none lives. */
async function stopMembers(find: () => ProcEntry[], what: string, graceMs: number, own: ReadonlySet<number>, log: (text: string) => void): Promise<void> {
  const told = new Map<number, Signal>();
  const failed = new Set<number>();
  const adopted = new Set<number>();
  const signal = (sig: Signal) => {
    const members = find();
    for (const p of members) {
      if (p.ppid === process.pid && !own.has(p.pid)) adopted.add(p.pid);
      if (told.get(p.pid) === sig) continue;
      told.set(p.pid, sig);
      try {
        process.kill(p.pid, sig);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ESRCH" && !failed.has(p.pid)) {
          failed.add(p.pid);
          log(`could not send ${sig} to pid ${p.pid} of ${what} (${code ?? (err as Error).message})`);
        }
      }
    }
    return members.length;
  };
  const reap = () => adopted.forEach(reapOrphan);
  if (signal("SIGTERM") === 0) return;
  const until = monotonicMs() + graceMs;
  while (monotonicMs() < until) {
    await sleep(POLL_MS);
    reap();
    // Anything started meanwhile gets its SIGTERM too.
    if (signal("SIGTERM") === 0) return;
  }
  const killedBy = monotonicMs() + KILL_WAIT_MS;
  let left = signal("SIGKILL");
  while (left > 0 && monotonicMs() < killedBy) {
    await sleep(POLL_MS);
    reap();
    left = signal("SIGKILL");
  }
  reap();
  if (left > 0) log(`${what} is still alive ${KILL_WAIT_MS / 1000} s after SIGKILL: pids ${find().map((p) => p.pid).join(", ")}`);
}

/** The process table from ps (POSIX without /proc); undefined when ps cannot be run. */
function psTable(): ProcEntry[] | undefined {
  const r = spawnSync("ps", ["-axo", "pid=,ppid=,pgid=,stat="], { encoding: "utf8" });
  return r.status === 0 ? parsePsTable(r.stdout) : undefined;
}

/** POSIX without /proc or ps: the process group, TERM then KILL. */
async function stopGroup(t: StopTarget, graceMs: number, platform: NodeJS.Platform, log: (text: string) => void): Promise<void> {
  const alive = () => treeAlive(t.pid, platform, t.group);
  signalTree(t.pid, "SIGTERM", platform, t.group);
  const until = monotonicMs() + graceMs;
  while (monotonicMs() < until && alive()) await sleep(POLL_MS);
  if (!alive()) return;
  if (!signalTree(t.pid, "SIGKILL", platform, t.group)) log(`could not send SIGKILL to the tree of pid ${t.pid}`);
  const killedBy = monotonicMs() + KILL_WAIT_MS;
  while (monotonicMs() < killedBy && alive()) await sleep(POLL_MS);
  if (alive()) log(`the tree of pid ${t.pid} is still alive ${KILL_WAIT_MS / 1000} s after SIGKILL`);
}

/** Is the recorded child itself still running (Windows, by pid and creation time)? */
function windowsChildAlive(t: StopTarget): boolean {
  const now = windowsProcessStart(t.pid);
  return now !== undefined && (t.start == null || now === t.start);
}

/** Windows: terminate the job at once; taskkill /T /F (full path) when there is no job. */
async function stopWindowsTree(t: StopTarget, log: (text: string) => void): Promise<void> {
  let ended = false;
  if (t.job) {
    const r = terminateWindowsJob(t.job, WINDOWS_STOP_EXIT);
    if ("ok" in r) ended = true;
    else log(`could not terminate the job object of pid ${t.pid}: ${r.error}; trying taskkill`);
  }
  if (!ended) {
    // Only while the pid still names our child: a reused pid must never lose its tree.
    if (!windowsChildAlive(t)) return;
    const r = spawnSync(taskkillPath(), ["/PID", String(t.pid), "/T", "/F"], { encoding: "utf8", windowsHide: true });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : `exit status ${r.status}: ${String(r.stderr ?? "").trim().slice(0, 200)}`;
      log(`taskkill could not stop the tree of pid ${t.pid} (${why})`);
    }
  }
  const killedBy = monotonicMs() + KILL_WAIT_MS;
  while (monotonicMs() < killedBy && windowsChildAlive(t)) await sleep(POLL_MS);
  if (windowsChildAlive(t)) log(`pid ${t.pid} is still alive ${KILL_WAIT_MS / 1000} s after it was terminated`);
}
