/**
 * The whole process tree and the locks on Windows, under Wine (issue 15): maxruntime ends
 * an agent and the child it started (job objects) long before the kill grace would have
 * passed; ending cncopagent (killed, as Task Scheduler's "End" does) ends its agent and
 * that agent's child at once; a stale lock record whose pid now names another live process
 * is taken over; Windows exit statuses are named; a batch agent's output in the console's
 * code page reaches the CA log readable.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { makeScratch } from "../helpers/scratch.ts";
import { makeWinTree, spawnWine, type WinTree } from "./helpers.ts";

const scratch = makeScratch("file");
const CONFIG = ["[defaults]", "days_of_logs = 90", "[agents]", "FAKE = fakeagent", "CRASH = crasher", "OEM = oemagent", ""].join("\r\n");

/** A tree whose FAKE agent is a batch file that starts child.exe in the background, says so, then runs sleeper.exe. */
function tree(): WinTree {
  const t = scratch.track(makeWinTree({ config: CONFIG }));
  t.fake("child.exe", ["sleep=120000"]);
  t.fake("sleeper.exe", ["sleep=120000"]);
  t.batch("fakeagent.cmd", ["@echo off", 'start /b "" "%~dp0child.exe"', "echo started", '"%~dp0sleeper.exe"']);
  scratch.defer(() => killAll(t));
  return t;
}

/** The Linux processes Wine runs for programs of this tree (their command line names its root), but `except`. */
function processesOf(t: WinTree, except = "\\cncopagent.exe"): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0+$/, "").replace(/\0/g, " ");
    } catch {
      continue;
    }
    if (cmd.includes(t.winRoot) && !cmd.toLowerCase().includes(except.toLowerCase())) out.push({ pid: Number(p), cmd });
  }
  return out;
}

function killAll(t: WinTree): void {
  for (const p of processesOf(t, "\0")) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

const started = (t: WinTree) => t.calls().map((c) => c.program.split("\\").pop()!.toLowerCase()).sort();

describe("job objects", () => {
  test.concurrent("maxruntime ends the agent and its child well within the grace; statuses are named; OEM output is readable", async () => {
    const t = tree();
    // Exit status 0xC0000005, as a crashed program ends.
    t.fake("crasher.exe", ["out=about to fail", "exit=-1073741819"]);
    // cmd.exe reads the batch file in the console's code page (437 here): 0x94 0xE1 is "öß".
    writeFileSync(nodePath.join(t.bin, "oemagent.cmd"), Buffer.concat([Buffer.from("@echo off\r\necho Gr"), Buffer.from([0x94, 0xe1]), Buffer.from("e\r\nexit /b 0\r\n")]));
    t.addJob({ jobid: 5, jobtitle: "tree", jobtype: "FAKE", maxruntime: 6 });
    t.addJob({ jobid: 6, jobtitle: "crash", jobtype: "CRASH", maxretries: 0 });
    t.addJob({ jobid: 9, jobtitle: "oem", jobtype: "OEM" });
    // The default grace (30 s) applies: a stop that waited for it would show.
    const r = await t.run("cncopagent", ["5", "6", "9"]);
    const log = t.caLogText();
    expect(r.exitCode).toBe(1);
    const stopped = /job 5 'tree': attempt 1: fakeagent exited with status \S+ after ([\d.]+) s: ERROR \(timed out\)/.exec(log);
    expect(stopped).not.toBeNull();
    expect(Number(stopped![1])).toBeLessThan(30);
    // The background child had started before the time ran out (sleeper.exe may have too).
    expect(started(t)).toContain("child.exe");
    expect(processesOf(t)).toEqual([]);
    expect(log).toContain("crasher exited with status 0xC0000005 (access violation, STATUS_ACCESS_VIOLATION)");
    expect(log).toContain("[oemagent#1 stdout] Größe");
    expect(log).toContain("job 6 'crash' final state: ERROR (agent exited with status 0xC0000005 (access violation, STATUS_ACCESS_VIOLATION))");
  });

  test.concurrent("ending cncopagent (killed, like Task Scheduler's End) ends its agent and the agent's child; the next run takes the lock over", async () => {
    const t = tree();
    t.addJob({ jobid: 7, jobtitle: "orphaned", jobtype: "FAKE" });
    const proc = t.spawn("cncopagent", ["7"]);
    await until(() => started(t).length === 2, 60_000, "the agent's child and sleeper to start");
    expect(processesOf(t).length).toBeGreaterThanOrEqual(2);
    proc.kill("SIGKILL");
    await proc.exited;
    await until(() => processesOf(t).length === 0, 10_000, "the agent's processes to end");
    // The lock of the killed run holds no live process: the next run is not skipped.
    t.batch("fakeagent.cmd", ["@echo off", "echo second run", "exit /b 0"]);
    const r = await t.run("cncopagent", ["7"]);
    expect(r.exitCode).toBe(0);
    expect(t.caLogText()).toMatch(/lock of job 7: the run of session \S+ \(dispatcher pid \d+\) has no live process left; taking the lock over/);
  });
});

describe("locks and reused pids", () => {
  test.concurrent("a stale record whose dispatcher pid now belongs to another live process is taken over at once", async () => {
    const t = tree();
    t.batch("fakeagent.cmd", ["@echo off", "echo ran", "exit /b 0"]);
    t.addJob({ jobid: 8, jobtitle: "reused", jobtype: "FAKE" });
    // A live Windows process: its pid is what the stale record names, with another creation time.
    const stranger = spawnWine(nodePath.join(t.bin, "sleeper.exe"), [], { env: { CNCOP_HOME: t.winRoot } });
    scratch.defer(() => stranger.kill("SIGKILL"));
    await until(() => t.calls().length === 1, 60_000, "the stranger to start");
    const pid = Number(/-(\d+)-\d+\.json$/.exec(readdirSync(nodePath.join(t.root, "calls"))[0]!)![1]);
    const locks = nodePath.join(t.root, "Spool", "Work", "locks");
    mkdirSync(locks, { recursive: true });
    const record = { version: 1, jobid: 8, jobtitle: "reused", session: "old-session", hostname: os.hostname(), bootId: "win32", started: "2026-01-01T00:00:00.000Z", dispatcher: { pid, start: "133000000000000000" }, processes: [{ pid, start: "133000000000000001", group: true }], token: "old" };
    writeFileSync(nodePath.join(locks, "job-8.json"), JSON.stringify(record));
    const r = await t.run("cncopagent", ["8"]);
    expect(r.exitCode).toBe(0);
    expect(t.caLogText()).toContain(`lock of job 8: the run of session old-session (dispatcher pid ${pid}) has no live process left; taking the lock over`);
    expect(t.caLogText()).toContain("[fakeagent#1 stdout] ran");
  });
});
