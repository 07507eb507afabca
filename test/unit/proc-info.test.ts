/** Process identity for lock owners: pid + start time, zombies, groups, sessions (Linux). */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { bootId, bootTicksNow, environHas, groupRunning, identify, isAlive, parseProcStat, processStartTime, sessionProcessAlive, windowsAlive } from "../../src/process/proc-info.ts";
import { treeAlive } from "../../src/process/process-tree.ts";
import { waitFor } from "../helpers/tree.ts";

// Real processes on a shared 2-core machine: give each test room (waits poll with deadlines).
setDefaultTimeout(60_000);

describe("parseProcStat", () => {
  const tail = "1 4242 4242 0 -1 4194304 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
  test.each([
    [`4242 (sleep) S ${tail}`, { state: "S", ppid: 1, pgrp: 4242, start: "987654" }],
    [`4242 (a b) c) d) R ${tail}`, { state: "R", ppid: 1, pgrp: 4242, start: "987654" }],
    [`4242 ((sd-pam)) Z ${tail}`, { state: "Z", ppid: 1, pgrp: 4242, start: "987654" }],
  ])("%j", (text, want) => {
    expect(parseProcStat(text)).toEqual(want);
  });
  test.each(["", "garbage", "4242 (x) S 1", `4242 (x) S 1 notanumber ${tail}`, `4242 (x) ? ${tail}`])("%j is not a stat line", (text) => {
    expect(parseProcStat(text)).toBeUndefined();
  });
  test("reads this process's own stat", () => {
    const st = parseProcStat(readFileSync("/proc/self/stat", "utf8"));
    expect(st?.state).toMatch(/^[RS]$/);
    expect(st?.start).toMatch(/^\d+$/);
  });
});

describe("environHas: an exact NUL-separated entry", () => {
  const env = (...vars: string[]) => Buffer.from(`${vars.join("\0")}\0`);
  test.each([
    [env("A=1", "CNCOP_SESSION=abc", "B=2"), true],
    [env("CNCOP_SESSION=abc"), true],
    [env("A=1", "CNCOP_SESSION=abcd"), false],
    [env("XCNCOP_SESSION=abc"), false],
    [env("A=CNCOP_SESSION=abc"), false],
    [env("A=1"), false],
    [Buffer.from(""), false],
  ])("%#", (block, want) => {
    expect(environHas(block, "CNCOP_SESSION=abc")).toBe(want);
  });
});

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      if (c.pid) process.kill(-c.pid, "SIGKILL");
    } catch {}
    try {
      c.kill("SIGKILL");
    } catch {}
  }
});

/** A child in a process group of its own, with a marker in its environment. */
function start(cmd: string, session = "none", detached = true): ChildProcess & { pid: number } {
  const c = spawn("/bin/sh", ["-c", cmd], { detached, stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, CNCOP_SESSION: session } });
  children.push(c);
  if (c.pid === undefined) throw new Error("spawn failed");
  return c as ChildProcess & { pid: number };
}

async function firstLine(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    c.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl !== -1) resolve(buf.slice(0, nl).trim());
    });
    c.on("exit", () => reject(new Error(`exited before printing a line (${buf})`)));
  });
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.on("exit", () => r())));

describe("isAlive and identify", () => {
  test("this process is alive under its own identity, not under another start time", () => {
    const me = identify(process.pid)!;
    expect(me.start).toMatch(/^\d+$/);
    expect(isAlive(me)).toBe(true);
    expect(isAlive({ pid: process.pid, start: String(BigInt(me.start!) + 1n) })).toBe(false);
    expect(isAlive({ pid: process.pid, start: "0", group: true })).toBe(false);
  });

  test("a process that ended is not alive, and cannot be identified", async () => {
    const c = start("exec sleep 30");
    const id = identify(c.pid)!;
    expect(isAlive(id)).toBe(true);
    c.kill("SIGKILL");
    await exited(c);
    expect(isAlive(id)).toBe(false);
    expect(identify(c.pid)).toBeUndefined();
  });

  test("a reused pid does not look alive, even when it leads a live group", async () => {
    // The recorded start time is older than the live process that now has the pid.
    const c = start("sleep 30 & exec sleep 30");
    const now = identify(c.pid, true)!;
    const stale = { pid: c.pid, start: String(BigInt(now.start!) - 5n), group: true };
    expect(isAlive(now)).toBe(true);
    expect(isAlive(stale)).toBe(false);
    expect(isAlive(stale, "linux", "none")).toBe(false);
  });

  test("a zombie (ended, not yet reaped) is not alive", async () => {
    // sh starts `sleep 0`, then becomes `sleep 30`, which never reaps it.
    const c = start("sleep 0 & echo $!; exec sleep 30");
    const zpid = Number(await firstLine(c));
    await waitFor(() => parseProcStat(readFileSync(`/proc/${zpid}/stat`, "utf8"))?.state === "Z", 10_000, "a zombie");
    expect(processStartTime(zpid)).toBeNull();
    expect(identify(zpid)).toBeUndefined();
    const zstart = parseProcStat(readFileSync(`/proc/${zpid}/stat`, "utf8"))!.start;
    expect(isAlive({ pid: zpid, start: zstart })).toBe(false);
  });

  test("a group leader that ended still counts while a member of its run lives", async () => {
    const session = `s-${crypto.randomUUID()}`;
    // The leader starts a member in its group, prints the member's pid, waits for a line.
    const c = spawn("/bin/sh", ["-c", "sleep 30 & echo $!; read x"], { detached: true, stdio: ["pipe", "pipe", "ignore"], env: { ...process.env, CNCOP_SESSION: session } });
    children.push(c);
    const member = Number(await firstLine(c));
    const leader = identify(c.pid!, true)!;
    expect(leader.start).toMatch(/^\d+$/);
    c.stdin!.end("go\n");
    await exited(c);
    expect(isAlive({ ...leader, group: false })).toBe(false);
    expect(isAlive(leader)).toBe(true);
    expect(isAlive(leader, "linux", session)).toBe(true);
    // A member whose environment names another session is a stranger in a reused group id.
    expect(isAlive(leader, "linux", "another-session")).toBe(false);
    // A leader recorded without a start time (it ended before it could be read).
    expect(isAlive({ pid: leader.pid, start: null, group: true }, "linux", session)).toBe(true);
    expect(isAlive({ pid: leader.pid, start: null, group: true }, "linux", "another-session")).toBe(false);
    process.kill(member, "SIGKILL");
    await waitFor(() => !isAlive(leader), 10_000, "the group to end");
    expect(isAlive(leader)).toBe(false);
    expect(isAlive({ pid: leader.pid, start: null, group: true }, "linux", session)).toBe(false);
  });

  test("a record without a start time counts a live pid only when it belongs to the run", async () => {
    const session = `s-${crypto.randomUUID()}`;
    const c = start("exec sleep 30", session);
    // Until the child has exec'd, /proc shows the parent's environment.
    await waitFor(() => isAlive({ pid: c.pid, start: null, group: true }, "linux", session), 10_000, "the child's environment");
    expect(isAlive({ pid: c.pid, start: null, group: true }, "linux", "another-session")).toBe(false);
  });
});

describe("sessionProcessAlive", () => {
  test("finds a process of the session started since a time, and only then", async () => {
    const session = `s-${crypto.randomUUID()}`;
    const before = bootTicksNow(0)!;
    expect(before).toMatch(/^\d+$/);
    const c = start("exec sleep 30", session, false);
    await waitFor(() => identify(c.pid) !== undefined && sessionProcessAlive(session, null), 10_000, "the process to show");
    const startTicks = BigInt(identify(c.pid)!.start!);
    expect(sessionProcessAlive(session, before)).toBe(true);
    expect(sessionProcessAlive(session, String(startTicks + 1n))).toBe(false);
    expect(sessionProcessAlive(`s-${crypto.randomUUID()}`, null)).toBe(false);
    c.kill("SIGKILL");
    await exited(c);
    await waitFor(() => !sessionProcessAlive(session, null), 10_000, "the process to end");
  });

  test("bootTicksNow is on the clock of process start times", () => {
    const mine = BigInt(identify(process.pid)!.start!);
    const now = BigInt(bootTicksNow(0)!);
    expect(now).toBeGreaterThanOrEqual(mine);
    expect(BigInt(bootTicksNow(100)!)).toBeLessThanOrEqual(now);
    expect(bootTicksNow(100, "win32")).toBeNull();
  });
});

describe("groupRunning / treeAlive", () => {
  test("a group counts while a member runs, and a zombie member does not keep it running", async () => {
    // The leader becomes `sleep 30` and never reaps its `sleep 0` child: a zombie in the group.
    const c = start("sleep 0 & echo $!; exec sleep 30");
    const zpid = Number(await firstLine(c));
    await waitFor(() => parseProcStat(readFileSync(`/proc/${zpid}/stat`, "utf8"))?.state === "Z", 10_000, "a zombie");
    expect(groupRunning(c.pid)).toBe(true);
    expect(treeAlive(c.pid)).toBe(true);
    process.kill(c.pid, "SIGKILL");
    await exited(c);
    // Only the orphaned zombie may be left in the group until init reaps it.
    expect(groupRunning(c.pid)).toBe(false);
    expect(treeAlive(c.pid)).toBe(false);
  });
});

describe("Windows identity and the boot id (platform parameters)", () => {
  test("windowsAlive: only a process with the pid and the recorded creation time", () => {
    const starts: Record<number, string> = { 32: "133900000000000000" };
    const startOf = (pid: number) => starts[pid];
    expect(windowsAlive({ pid: 32, start: "133900000000000000" }, startOf)).toBe(true);
    // The pid was reused: another creation time.
    expect(windowsAlive({ pid: 32, start: "133800000000000000" }, startOf)).toBe(false);
    expect(windowsAlive({ pid: 33, start: "133900000000000000" }, startOf)).toBe(false);
    // Recorded without a creation time: a live pid cannot be told from a stranger's.
    expect(windowsAlive({ pid: 32, start: null }, startOf)).toBe(false);
  });

  test("the boot id never follows the wall clock, on any OS", () => {
    const realNow = Date.now;
    try {
      const ids = ["linux", "win32", "darwin", "freebsd"].map((p) => bootId(p as NodeJS.Platform));
      Date.now = () => realNow() + 3_600_000;
      expect(["linux", "win32", "darwin", "freebsd"].map((p) => bootId(p as NodeJS.Platform))).toEqual(ids);
    } finally {
      Date.now = realNow;
    }
    expect(bootId("win32")).toBe("win32");
    expect(bootId("linux")).toBe(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
  });

  test("off Windows, Windows identity is unavailable: no start time, no identity", () => {
    expect(processStartTime(process.pid, "win32")).toBeNull();
    expect(identify(process.pid, false, "win32")).toBeUndefined();
  });
});
