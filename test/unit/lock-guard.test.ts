/**
 * The guard around lock records (src/locks/guard.ts, issue 15): it names its holder and is
 * stale exactly when that holder no longer lives, so a holder paused (SIGSTOP) for longer
 * than the old 5 s stale age never lets a second process in, while a guard left by a dead
 * holder, or by an earlier process with our pid, is taken at once.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { type GuardHolder, holderState, LEFTOVER_AGE_MS, readHolder, selfHolder } from "../../src/locks/guard.ts";
import { GUARD_STALE_MS, withGuard } from "../../src/locks/owner-record.ts";
import { bootId, identify } from "../../src/process/proc-info.ts";
import { waitFor } from "../helpers/tree.ts";

setDefaultTimeout(60_000);

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      c.kill("SIGCONT");
      c.kill("SIGKILL");
    } catch {}
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function work(): string {
  const d = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-guard-"));
  dirs.push(d);
  return d;
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.on("exit", () => r())));
const HOLD = nodePath.join(import.meta.dir, "..", "fixtures", "locks", "hold-guard.ts");

/** A separate process inside the guard of `target`, until `<dir>/leave` appears. */
async function holder(dir: string, target: string): Promise<ChildProcess & { pid: number }> {
  const inside = nodePath.join(dir, "inside");
  const c = spawn(process.execPath, [HOLD, target, inside, nodePath.join(dir, "leave")], { stdio: "ignore" });
  children.push(c);
  await waitFor(() => existsSync(inside), 20_000, "the holder to be inside the guard");
  return c as ChildProcess & { pid: number };
}

/** Make the guard folder look `ms` old. */
function age(target: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  utimesSync(`${target}.guard`, t, t);
}

describe("a paused holder keeps the guard", () => {
  test("SIGSTOPped inside the guard for longer than the stale age: nobody else gets in; once it ends, the guard is taken at once", async () => {
    const dir = work();
    const target = nodePath.join(dir, "job-1");
    const h = await holder(dir, target);
    expect(readHolder(`${target}.guard`)).toMatchObject({ pid: h.pid, start: identify(h.pid)!.start, bootId: bootId(), hostname: os.hostname() });
    h.kill("SIGSTOP");
    // As if it had been paused for three times the old stale age.
    age(target, 3 * GUARD_STALE_MS);
    let ran = false;
    expect(() => withGuard(target, "the test guard", () => (ran = true), 600)).toThrow(/cannot take the test guard/);
    expect(ran).toBe(false);
    expect(readHolder(`${target}.guard`)?.pid).toBe(h.pid);
    // The holder dies inside the guard: the next request takes it without waiting out an age.
    h.kill("SIGKILL");
    await exited(h);
    const t0 = Date.now();
    expect(withGuard(target, "the test guard", () => "in", 10_000)).toBe("in");
    expect(Date.now() - t0).toBeLessThan(GUARD_STALE_MS);
    // Released: nothing is left in the folder but what was there.
    expect(readdirSync(dir).sort()).toEqual(["inside"]);
  });

  test("a holder that resumes finishes its work and releases; then the guard is free", async () => {
    const dir = work();
    const target = nodePath.join(dir, "job-2");
    const h = await holder(dir, target);
    h.kill("SIGSTOP");
    age(target, 3 * GUARD_STALE_MS);
    expect(() => withGuard(target, "the test guard", () => 1, 300)).toThrow(/cannot take/);
    writeFileSync(nodePath.join(dir, "leave"), "");
    h.kill("SIGCONT");
    await exited(h);
    expect(h.exitCode).toBe(0);
    expect(existsSync(`${target}.guard`)).toBe(false);
    expect(withGuard(target, "the test guard", () => 2, 300)).toBe(2);
  });
});

describe("under contention", () => {
  test("6 processes taking the guard 40 times each: every increment inside it counts, none fails", async () => {
    const dir = work();
    const target = nodePath.join(dir, "job-3");
    const COUNT = nodePath.join(import.meta.dir, "..", "fixtures", "locks", "count-guard.ts");
    const procs = Array.from({ length: 6 }, () => {
      const c = spawn(process.execPath, [COUNT, target, "40"], { stdio: ["ignore", "ignore", "pipe"] });
      children.push(c);
      let err = "";
      c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      return exited(c).then(() => ({ code: c.exitCode, err }));
    });
    const results = await Promise.all(procs);
    expect(results).toEqual(new Array(6).fill({ code: 0, err: "" }));
    expect(readFileSync(`${target}.count`, "utf8")).toBe("240");
    // Nothing left behind: no guard, no temporary or renamed-away folder.
    expect(readdirSync(dir).sort()).toEqual(["job-3.count"]);
  });
});

function writeGuard(target: string, h: GuardHolder | undefined): void {
  mkdirSync(`${target}.guard`);
  if (h) writeFileSync(nodePath.join(`${target}.guard`, "holder.json"), JSON.stringify(h));
}

describe("guards left behind", () => {
  const me = selfHolder();
  test.each([
    ["a dead holder", { ...me, pid: 999_999_999, start: "1", token: "old" }],
    ["an earlier process with our pid", { ...me, start: "0", token: "old" }],
    ["our pid, even with our start time, but another hold", { ...me, token: "old" }],
    ["a holder from before the last reboot", { ...me, pid: 1, start: identify(1)?.start ?? "1", bootId: "another-boot", token: "old" }],
  ])("%s: taken at once", (_name, h) => {
    const target = nodePath.join(work(), "job");
    writeGuard(target, h);
    expect(withGuard(target, "the test guard", () => "in", 300)).toBe("in");
    expect(existsSync(`${target}.guard`)).toBe(false);
  });

  test("a live holder (another process, with its start time) holds however old the guard looks", () => {
    const target = nodePath.join(work(), "job");
    const init = identify(1);
    if (!init) return; // no pid 1 visible here
    writeGuard(target, { ...me, pid: 1, start: init.start, token: "theirs" });
    age(target, 60_000);
    expect(() => withGuard(target, "the test guard", () => 1, 300)).toThrow(/cannot take/);
  });

  test("a guard that names no holder (an older version's) is held while young, stale after GUARD_STALE_MS", () => {
    const target = nodePath.join(work(), "job");
    writeGuard(target, undefined);
    expect(() => withGuard(target, "the test guard", () => 1, 300)).toThrow(/cannot take/);
    age(target, GUARD_STALE_MS + 1_000);
    expect(withGuard(target, "the test guard", () => 2, 300)).toBe(2);
  });
});

describe("leftovers of holders killed between two steps", () => {
  const me = selfHolder();
  const dead = { ...me, pid: 999_999_999, start: "1", token: "dead" };
  /** A `<target>.guard.<tag>` folder holding `h` (if any), `ageMs` old. */
  function leftover(target: string, tag: string, h: GuardHolder | undefined, ageMs = 0): string {
    const p = `${target}.guard.${tag}`;
    mkdirSync(p);
    if (h) writeFileSync(nodePath.join(p, "holder.json"), JSON.stringify(h));
    const t = new Date(Date.now() - ageMs);
    utimesSync(p, t, t);
    return nodePath.basename(p);
  }

  test("a dead holder's .new and .gone, and old ones naming nobody, are removed by the next hold; a live holder's and fresh ones stay", () => {
    const dir = work();
    const target = nodePath.join(dir, "job");
    leftover(target, "dead.new", dead);
    leftover(target, "x1.gone", dead);
    leftover(target, "x2.new", undefined, LEFTOVER_AGE_MS + 60_000);
    const fresh = leftover(target, "x3.new", undefined, 1_000);
    const init = identify(1);
    const live = init ? leftover(target, "theirs.new", { ...me, pid: 1, start: init.start, token: "theirs" }, LEFTOVER_AGE_MS + 60_000) : undefined;
    const other = leftover(nodePath.join(dir, "other"), "dead.new", dead); // another guard's: not this one's to sweep
    writeFileSync(nodePath.join(dir, "job.count"), "");
    expect(withGuard(target, "the test guard", () => "in", 300)).toBe("in");
    expect(readdirSync(dir).sort()).toEqual([fresh, other, "job.count", ...(live ? [live] : [])].sort());
  });
});

describe("holderState", () => {
  const mine: GuardHolder = { pid: 100, start: "5000", bootId: "b", hostname: "h", token: "mine" };
  const alive = (p: { pid: number; start: string | null }) => p.pid === 200 && (p.start === null || p.start === "7000");
  test.each([
    ["our own hold", { ...mine }, "alive"],
    ["another live process", { ...mine, pid: 200, start: "7000", token: "x" }, "alive"],
    ["a reused pid (another start time)", { ...mine, pid: 200, start: "6999", token: "x" }, "dead"],
    ["our pid, another hold", { ...mine, token: "x" }, "dead"],
    ["another boot", { ...mine, pid: 200, start: "7000", bootId: "old", token: "x" }, "dead"],
    ["another host", { ...mine, pid: 200, start: "7000", hostname: "elsewhere", token: "x" }, "unknown"],
    ["no start time, pid running", { ...mine, pid: 200, start: null, token: "x" }, "unknown"],
    ["no start time, pid gone", { ...mine, pid: 300, start: null, token: "x" }, "dead"],
  ] as const)("%s -> %s", (_name, h, want) => {
    expect(holderState(h, mine, alive)).toBe(want);
  });
});
