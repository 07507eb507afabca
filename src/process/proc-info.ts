/**
 * Process identity for lock owners: a pid alone can be reused, so a process is named by
 * its pid and start time, within one boot of one host. Linux reads /proc; Windows asks
 * GetProcessTimes (native-windows.ts: the creation time, fixed at creation, 100 ns); other
 * POSIX systems ask `ps`.
 *
 * On Linux the environment of a process (/proc/<pid>/environ) tells whether it belongs to
 * a job run: every agent and command gets CNCOP_SESSION=<session>, and its children
 * inherit it. That tells an orphaned member of an agent's process group from a stranger
 * that happens to sit in a reused group id, and finds a child whose pid the dispatcher
 * did not get to record before it died.
 */
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { kernel32, windowsProcessStart } from "./native-windows.ts";

export interface ProcessId {
  readonly pid: number;
  /** Start time: clock ticks since boot (Linux), or a string from ps; null when unknown. */
  readonly start: string | null;
  /** The process leads a group of its own whose members count as alive too. */
  readonly group?: boolean;
}

export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), ... */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly start: string;
}

/** Linux: fields 3 (state), 5 (pgrp) and 22 (starttime) of /proc/<pid>/stat; comm may hold spaces and parens. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close === -1) return undefined;
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const state = fields[0];
  const ppid = Number(fields[1]);
  const pgrp = Number(fields[2]);
  const start = fields[19];
  if (state === undefined || !/^[A-Za-z]$/.test(state)) return undefined;
  if (!Number.isInteger(ppid) || !Number.isInteger(pgrp) || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { state, ppid, pgrp, start };
}

export function linuxStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** A zombie has ended; only its exit status waits to be collected. */
export function running(st: ProcStat): boolean {
  return st.state !== "Z" && st.state !== "X" && st.state !== "x";
}

/** Does the environment block (NUL-separated) hold this exact entry? */
export function environHas(environ: Uint8Array, entry: string): boolean {
  const needle = Buffer.from(`${entry}\0`, "utf8");
  const buf = Buffer.from(environ.buffer, environ.byteOffset, environ.byteLength);
  for (let i = buf.indexOf(needle); i !== -1; i = buf.indexOf(needle, i + 1)) {
    if (i === 0 || buf[i - 1] === 0) return true;
  }
  return false;
}

/** true/false when /proc/<pid>/environ could be read, undefined when not (another user, gone). */
export function linuxEnvironHas(pid: number, entry: string, retries = 3): boolean | undefined {
  // While a process is in execve its environ reads empty for a moment: look again
  // before believing that a running process has no environment at all.
  for (let tries = 0; ; tries++) {
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM" || code === "ENOENT" || code === "ESRCH" || tries >= retries) return undefined;
      Bun.sleepSync(2);
      continue;
    }
    if (environ.length > 0 || tries >= retries) return environHas(environ, entry);
    Bun.sleepSync(2);
  }
}

export function sessionEntry(session: string): string {
  return `CNCOP_SESSION=${session}`;
}

export function processStartTime(pid: number, platform: NodeJS.Platform = process.platform): string | null {
  if (platform === "linux") {
    const st = linuxStat(pid);
    return st && running(st) ? st.start : null;
  }
  if (platform === "win32") return windowsProcessStart(pid) ?? null;
  const r = spawnSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8" });
  const s = r.status === 0 ? r.stdout.trim() : "";
  return s === "" ? null : s;
}

let cachedBootId: string | undefined;

/**
 * Identifies this boot, never from the wall clock (a clock step must not make a live run
 * look like one from before a reboot): Linux's boot_id; macOS's kern.bootsessionuuid.
 * Windows has no such id that every version exposes, and needs none: a process is named by
 * its pid and its creation time (100 ns, absolute), which no process of a later boot can
 * share, so its boot id is a constant there (and on any system without one).
 */
export function bootId(platform: NodeJS.Platform = process.platform): string {
  if (platform !== process.platform) return computeBootId(platform);
  cachedBootId ??= computeBootId(platform);
  return cachedBootId;
}

function computeBootId(platform: NodeJS.Platform): string {
  if (platform === "linux") {
    try {
      return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {}
    return "linux";
  }
  if (platform === "darwin" && platform === process.platform) {
    const r = spawnSync("sysctl", ["-n", "kern.bootsessionuuid"], { encoding: "utf8" });
    const id = r.status === 0 ? r.stdout.trim() : "";
    if (id !== "") return id;
  }
  return platform;
}

/**
 * Linux: now, in the clock ticks since boot that /proc/<pid>/stat uses for start times
 * (USER_HZ, 100 on every Linux the suite runs on), minus `marginTicks`; null elsewhere.
 */
export function bootTicksNow(marginTicks = 100, platform: NodeJS.Platform = process.platform): string | null {
  if (platform !== "linux") return null;
  try {
    const up = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    if (!Number.isFinite(up)) return null;
    return String(Math.max(0, Math.floor(up * 100) - marginTicks));
  } catch {
    return null;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function procPids(): number[] {
  try {
    return readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Is a member of group `pgid` alive that started no earlier than the leader did and
 * belongs to the run (its environment carries the session, or cannot be read)?
 */
function linuxGroupAlive(pgid: number, leaderStart: string | null, session: string | undefined): boolean {
  const min = leaderStart === null ? 0n : BigInt(leaderStart);
  const entry = session === undefined ? undefined : sessionEntry(session);
  for (const pid of procPids()) {
    const st = linuxStat(pid);
    if (!st || st.pgrp !== pgid || !running(st) || BigInt(st.start) < min) continue;
    if (entry === undefined || linuxEnvironHas(pid, entry) !== false) return true;
  }
  return false;
}

/** Linux: does group `pgid` have a member that has not ended (zombies waiting for init do not count)? */
export function groupRunning(pgid: number): boolean {
  for (const pid of procPids()) {
    const st = linuxStat(pid);
    if (st && st.pgrp === pgid && running(st)) return true;
  }
  return false;
}

/** Linux: does a process of the session live that started at or after `sinceTicks`? */
export function sessionProcessAlive(session: string, sinceTicks: string | null, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== "linux") return false;
  const min = sinceTicks === null ? 0n : BigInt(sinceTicks);
  const entry = sessionEntry(session);
  for (const pid of procPids()) {
    if (pid === process.pid) continue;
    const st = linuxStat(pid);
    if (!st || !running(st) || BigInt(st.start) < min) continue;
    if (linuxEnvironHas(pid, entry) === true) return true;
  }
  return false;
}

/**
 * Does this process (or, for a group leader, any process of its group that belongs to
 * `session`) still live? A pid now used by a process with another start time is not
 * the recorded process, and its group cannot be the recorded group either: the kernel
 * does not hand out a pid that still names a process group.
 */
export function isAlive(p: ProcessId, platform: NodeJS.Platform = process.platform, session?: string): boolean {
  if (platform === "linux") {
    const st = linuxStat(p.pid);
    if (st && p.start !== null && st.start !== p.start) return false;
    if (st && running(st)) {
      if (p.start !== null || session === undefined) return true;
      // Start time unknown (the child ended before it could be read): only a process
      // of the run counts; a stranger has the pid, so the recorded group is gone too.
      return linuxEnvironHas(p.pid, sessionEntry(session)) !== false;
    }
    return p.group === true && linuxGroupAlive(p.pid, p.start, session);
  }
  if (platform === "win32") {
    // The pid names the recorded process only with its creation time; without one
    // recorded (the child ended before it could be read), a live pid is a stranger's.
    // Only where creation times cannot be read at all does a pid stand for itself.
    return kernel32(platform) ? windowsAlive(p, windowsProcessStart) : pidExists(p.pid);
  }
  if (pidExists(p.pid)) {
    const now = processStartTime(p.pid, platform);
    if (p.start === null || now === p.start) return true;
    if (now !== null) return false;
  }
  if (p.group) {
    try {
      process.kill(-p.pid, 0);
      return true;
    } catch {}
  }
  return false;
}

/** Windows: alive when a process with the pid runs and was created when the recorded one was. */
export function windowsAlive(p: ProcessId, startOf: (pid: number) => string | undefined): boolean {
  if (p.start === null) return false;
  return startOf(p.pid) === p.start;
}

/**
 * The identity of a live process; undefined when it has already ended (or, on Windows,
 * cannot be opened). A child can end, and be reaped, before its parent gets to read its
 * start time.
 */
export function identify(pid: number, group = false, platform: NodeJS.Platform = process.platform): ProcessId | undefined {
  const start = processStartTime(pid, platform);
  if (start === null) return undefined;
  return { pid, start, group };
}
