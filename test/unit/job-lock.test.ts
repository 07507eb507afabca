/**
 * The per-job lock (SPEC §5 "Single instance"): owner records, staleness decided by live
 * processes (pid + start time), reused pids, corrupt records, the spawn marker, --unlock.
 */
import { stringifyJson } from "../../src/install/job-id.ts";
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { CncopError, EXIT } from "../../src/cli/errors.ts";
import { jobLockFiles } from "../../src/install/paths.ts";
import { acquireJobLock, forceUnlock, type Liveness, type LockOwner, ownerAlive, parseOwner } from "../../src/locks/job-lock.ts";
import { bootId, bootTicksNow, identify, type ProcessId } from "../../src/process/proc-info.ts";
import { waitFor } from "../helpers/tree.ts";

// Real processes on a shared 2-core machine: give each test room (waits poll with deadlines).
setDefaultTimeout(60_000);

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {}
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A lock folder that does not exist yet: taking a lock creates it. */
function work(): string {
  const d = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-lock-"));
  dirs.push(d);
  return nodePath.join(d, "locks");
}

function child(cmd = "exec sleep 30", session = "none"): ChildProcess & { pid: number } {
  const c = spawn("/bin/sh", ["-c", cmd], { detached: true, stdio: "ignore", env: { ...process.env, CNCOP_SESSION: session } });
  children.push(c);
  return c as ChildProcess & { pid: number };
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.on("exit", () => r())));

/** A process identity that certainly belongs to nobody any more. */
async function deadProcess(): Promise<ProcessId> {
  const c = child();
  const id = identify(c.pid, true)!;
  process.kill(-c.pid, "SIGKILL");
  await exited(c);
  return id;
}

function owner(over: Partial<LockOwner>): LockOwner {
  return {
    version: 1,
    jobid: 12n,
    jobtitle: "Payroll",
    session: "sess-old",
    hostname: os.hostname(),
    bootId: bootId(),
    started: "2026-01-01T02:00:00.000Z",
    dispatcher: { pid: 999_999_999, start: "1" },
    processes: [],
    token: "t-old",
    ...over,
  };
}

function writeRecord(lockDir: string, jobid: number, body: string): string {
  mkdirSync(lockDir, { recursive: true });
  const p = jobLockFiles(lockDir, jobid).record;
  writeFileSync(p, body);
  return p;
}

const acquire = (lockDir: string, log?: (t: string) => void, session = `s-${crypto.randomUUID()}`) => acquireJobLock({ lockDir, jobid: 12, jobtitle: "Payroll", session, log });

describe("acquire and release", () => {
  test("the first request holds; a second is busy and names the owner; release frees it", () => {
    const w = work();
    const a = acquire(w, undefined, "sess-A");
    if (!("held" in a)) throw new Error("not held");
    const rec = JSON.parse(readFileSync(jobLockFiles(w, 12).record, "utf8")) as LockOwner;
    expect(rec).toMatchObject({ version: 1, jobid: 12, jobtitle: "Payroll", session: "sess-A", hostname: os.hostname(), bootId: bootId(), processes: [] });
    expect(rec.dispatcher.pid).toBe(process.pid);
    expect(rec.dispatcher.start).toBe(identify(process.pid)!.start);
    expect(Date.parse(rec.started)).toBeGreaterThan(Date.now() - 60_000);
    const b = acquire(w);
    expect("busy" in b && b.busy?.session).toBe("sess-A");
    a.held.release();
    expect(existsSync(jobLockFiles(w, 12).record)).toBe(false);
    const c = acquire(w);
    expect("held" in c).toBe(true);
    if ("held" in c) c.held.release();
  });

  test("locks of different jobs are independent", () => {
    const w = work();
    const a = acquireJobLock({ lockDir: w, jobid: 1, jobtitle: "a", session: "s1" });
    const b = acquireJobLock({ lockDir: w, jobid: 2, jobtitle: "b", session: "s2" });
    expect("held" in a && "held" in b).toBe(true);
  });

  test("release removes only its own record", () => {
    const w = work();
    const a = acquire(w);
    if (!("held" in a)) throw new Error("not held");
    const p = jobLockFiles(w, 12).record;
    writeFileSync(p, stringifyJson(owner({ token: "someone-else" })));
    a.held.release();
    expect(parseOwner(readFileSync(p, "utf8"))?.token).toBe("someone-else");
  });

  test("children are recorded; the spawn marker is set before a spawn and dropped after", async () => {
    const w = work();
    const a = acquire(w, undefined, "sess-S");
    if (!("held" in a)) throw new Error("not held");
    const read = () => JSON.parse(readFileSync(jobLockFiles(w, 12).record, "utf8")) as LockOwner;
    a.held.beforeSpawn();
    expect(read().spawningSince).toMatch(/^\d+$/);
    const c = child();
    a.held.addProcess(c.pid);
    expect(read().spawningSince).toBeUndefined();
    expect(read().processes).toEqual([{ pid: c.pid, start: identify(c.pid)!.start, group: true }]);
    a.held.beforeSpawn();
    a.held.spawnFailed();
    expect(read().spawningSince).toBeUndefined();
    // A child that ended before it could be identified is kept without a start time.
    const dead = await deadProcess();
    a.held.beforeSpawn();
    a.held.addProcess(dead.pid);
    expect(read().processes[1]).toEqual({ pid: dead.pid, start: null, group: true });
    a.held.release();
  });
});

describe("staleness is decided by live processes", () => {
  test("a record whose processes all ended is taken over at once, and says so", async () => {
    const w = work();
    const d = await deadProcess();
    writeRecord(w, 12, stringifyJson(owner({ dispatcher: { pid: d.pid, start: d.start }, processes: [{ ...(await deadProcess()), group: true }] })));
    const lines: string[] = [];
    const r = acquire(w, (t) => lines.push(t));
    expect("held" in r).toBe(true);
    expect(lines.join("\n")).toMatch(/session sess-old .*no live process left; taking the lock over/);
  });

  test("a dead dispatcher with a live agent holds the lock until the agent ends", async () => {
    const w = work();
    const d = await deadProcess();
    const agent = child("exec sleep 30", "sess-old");
    writeRecord(w, 12, stringifyJson(owner({ dispatcher: { pid: d.pid, start: d.start }, processes: [identify(agent.pid, true)!] })));
    const r = acquire(w);
    expect("busy" in r && r.busy?.session).toBe("sess-old");
    process.kill(-agent.pid, "SIGKILL");
    await exited(agent);
    expect("held" in acquire(w)).toBe(true);
  });

  test("a stale record whose pid was reused by an unrelated process is taken over", async () => {
    const w = work();
    const stranger = child("exec sleep 30");
    const now = identify(stranger.pid, true)!;
    // Same pid, older start time: the recorded process is gone, the pid belongs to someone else.
    const reused = { pid: stranger.pid, start: String(BigInt(now.start!) - 7n) };
    writeRecord(w, 12, stringifyJson(owner({ dispatcher: reused, processes: [{ ...reused, group: true }] })));
    expect("held" in acquire(w)).toBe(true);
  });

  test("a record from another host or another boot is taken over", () => {
    for (const over of [{ hostname: `not-${os.hostname()}` }, { bootId: "another-boot" }]) {
      const w = work();
      writeRecord(w, 12, stringifyJson(owner({ ...over, dispatcher: identify(process.pid)! })));
      expect("held" in acquire(w)).toBe(true);
    }
  });

  test("a dispatcher killed while starting a child: a process of its session started since then holds the lock", async () => {
    const w = work();
    const d = await deadProcess();
    const since = bootTicksNow(100)!;
    const orphan = child("exec sleep 30", "sess-spawning");
    await waitFor(() => readFileSync(`/proc/${orphan.pid}/environ`).includes("sess-spawning"), 10_000, "exec");
    writeRecord(w, 12, stringifyJson(owner({ session: "sess-spawning", dispatcher: { pid: d.pid, start: d.start }, spawningSince: since })));
    expect("busy" in acquire(w)).toBe(true);
    // Processes started before the marker (e.g. a daemon a prerun left) do not count.
    writeRecord(w, 12, stringifyJson(owner({ session: "sess-spawning", dispatcher: { pid: d.pid, start: d.start }, spawningSince: String(BigInt(identify(orphan.pid)!.start!) + 1n) })));
    expect("held" in acquire(w)).toBe(true);
  });
});

describe("corrupt records", () => {
  test.each(["", "{", "null", "[]", '{"version":1}', "\u0000\u0000garbage", '{"version":2,"token":"x","dispatcher":{"pid":1},"processes":[]}'])(
    "%j: held off while young, taken over once old",
    (body) => {
      const w = work();
      const p = writeRecord(w, 12, body);
      const r = acquire(w);
      expect(r).toEqual({ busy: undefined });
      const old = new Date(Date.now() - 60_000);
      utimesSync(p, old, old);
      const lines: string[] = [];
      const r2 = acquire(w, (t) => lines.push(t));
      expect("held" in r2).toBe(true);
      expect(lines.join("\n")).toContain("unreadable lock record");
      expect(parseOwner(readFileSync(p, "utf8"))?.jobid).toBe(12n);
    },
  );
});

describe("ownerAlive (table, fake liveness)", () => {
  const live = (alive: number[], spawned = false): Liveness => ({ alive: (p) => alive.includes(p.pid), spawnedSince: () => spawned });
  const o = owner({ dispatcher: { pid: 10, start: "1" }, processes: [{ pid: 11, start: "2", group: true }] });
  test.each([
    ["dispatcher alive", o, live([10]), true, 4242],
    ["agent alive", o, live([11]), true, 4242],
    ["nothing alive", o, live([]), false, 4242],
    ["other host", { ...o, hostname: "elsewhere" }, live([10, 11]), false, 4242],
    ["other boot", { ...o, bootId: "b2" }, live([10, 11]), false, 4242],
    ["spawning, a session process lives", { ...o, spawningSince: "5" }, live([], true), true, 4242],
    ["spawning, none lives", { ...o, spawningSince: "5" }, live([], false), false, 4242],
    ["not spawning: session processes are not looked for", o, live([], true), false, 4242],
    // The checker got the dead dispatcher's pid (pid reuse, frequent on Windows): never itself.
    ["the dispatcher's pid is the checker's own", o, live([10]), false, 10],
    ["the checker has the dispatcher's pid, the agent lives", o, live([10, 11]), true, 10],
    ["the checker has the agent's pid", o, live([11]), false, 11],
  ] as const)("%s", (_name, rec, liveness, want, self) => {
    expect(ownerAlive(rec as LockOwner, os.hostname(), bootId(), liveness, self)).toBe(want);
  });
});

describe("a stale record naming the checker's own pid", () => {
  test("is taken over at once, whatever start time it says (even ours)", () => {
    for (const start of [identify(process.pid)!.start, "1", null]) {
      const w = work();
      writeRecord(w, 12, stringifyJson(owner({ dispatcher: { pid: process.pid, start } })));
      const logged: string[] = [];
      const r = acquire(w, (t) => logged.push(t));
      expect("held" in r).toBe(true);
      expect(logged.join("\n")).toContain(`(dispatcher pid ${process.pid}) has no live process left; taking the lock over`);
      if ("held" in r) r.held.release();
    }
  });

  test("but a lock this process holds itself stays held", () => {
    const w = work();
    const a = acquire(w, undefined, "sess-mine");
    if (!("held" in a)) throw new Error("not held");
    const b = acquire(w);
    expect("busy" in b && b.busy?.session).toBe("sess-mine");
    a.held.release();
  });
});

describe("forceUnlock (cncopagent --unlock)", () => {
  test("refuses while a process of the run lives, naming it", () => {
    const w = work();
    const agent = child();
    writeRecord(w, 12, stringifyJson(owner({ processes: [identify(agent.pid, true)!] })));
    let err: unknown;
    try {
      forceUnlock(w, 12);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CncopError);
    expect((err as CncopError).exitCode).toBe(EXIT.FAILED);
    expect((err as Error).message).toContain(`live process ids ${agent.pid}`);
    expect(existsSync(jobLockFiles(w, 12).record)).toBe(true);
  });

  test("removes a dead run's record, a corrupt one, and reports a missing one", async () => {
    const w = work();
    const d = await deadProcess();
    writeRecord(w, 12, stringifyJson(owner({ dispatcher: d })));
    expect(forceUnlock(w, 12)).toMatchObject({ removed: true, owner: { session: "sess-old" } });
    writeRecord(w, 12, "{corrupt");
    expect(forceUnlock(w, 12)).toEqual({ removed: true, owner: undefined });
    expect(forceUnlock(w, 12)).toEqual({ removed: false, owner: undefined });
  });
});
