/**
 * Process identity for lock owners: a pid alone can be reused, so a process is named by
 * its pid and start time, within one boot of one host. Linux reads /proc; elsewhere `ps`
 * gives the start time (macOS) and Windows falls back to existence (documented).
 */
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";

export interface ProcessId {
  readonly pid: number;
  /** Start time: clock ticks since boot (Linux), or a string from ps; null when unknown. */
  readonly start: string | null;
  /** The process leads a group of its own whose members count as alive too. */
  readonly group?: boolean;
}

/** Linux: field 22 (starttime) and field 5 (pgrp) of /proc/<pid>/stat; comm may hold spaces and parens. */
export function parseProcStat(text: string): { pgrp: number; start: string } | undefined {
  const close = text.lastIndexOf(")");
  if (close === -1) return undefined;
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const pgrp = Number(fields[2]);
  const start = fields[19];
  if (!Number.isInteger(pgrp) || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { pgrp, start };
}

function linuxStat(pid: number): { pgrp: number; start: string } | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

export function processStartTime(pid: number, platform: NodeJS.Platform = process.platform): string | null {
  if (platform === "linux") return linuxStat(pid)?.start ?? null;
  if (platform === "win32") return null;
  const r = spawnSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8" });
  const s = r.status === 0 ? r.stdout.trim() : "";
  return s === "" ? null : s;
}

/** Identifies this boot: Linux's boot_id, else the boot time rounded to a minute. */
export function bootId(platform: NodeJS.Platform = process.platform): string {
  if (platform === "linux") {
    try {
      return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {}
  }
  const bootMs = Date.now() - os.uptime() * 1000;
  return `boot-${Math.round(bootMs / 60_000)}`;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Is any member of group `pgid` alive that started no earlier than the leader did? */
function linuxGroupAlive(pgid: number, leaderStart: string | null): boolean {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return false;
  }
  const min = leaderStart === null ? 0n : BigInt(leaderStart);
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = linuxStat(Number(e));
    if (st && st.pgrp === pgid && BigInt(st.start) >= min) return true;
  }
  return false;
}

/** Does this process (or, for a group leader, any process of its group) still live? */
export function isAlive(p: ProcessId, platform: NodeJS.Platform = process.platform): boolean {
  if (platform === "linux") {
    const st = linuxStat(p.pid);
    if (st && (p.start === null || st.start === p.start)) return true;
    return p.group === true && linuxGroupAlive(p.pid, p.start);
  }
  if (platform === "win32") return pidExists(p.pid);
  if (pidExists(p.pid)) {
    const now = processStartTime(p.pid, platform);
    if (p.start === null || now === p.start) return true;
  }
  if (p.group) {
    try {
      process.kill(-p.pid, 0);
      return true;
    } catch {}
  }
  return false;
}

export function identify(pid: number, group = false): ProcessId {
  return { pid, start: processStartTime(pid), group };
}
