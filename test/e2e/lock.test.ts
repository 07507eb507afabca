/**
 * One run per job at a time (SPEC §5 "Single instance", issue 4): simultaneous requests,
 * recovery after a dispatcher killed with SIGKILL (skipped while its agent lives, runs at
 * once after), reused pids, corrupt records, and `cncopagent --unlock JOB`.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import nodePath from "node:path";
import { bootId, identify } from "../../src/process/proc-info.ts";
import { type RunOutput, type Tree, waitFor } from "../helpers/tree.ts";
import { collect, fakeTree, FAST_GRACE, lockRecordPath, mark, pidIn, processGone, readMarker, recordedPids, sessionsInLog, waitForFileSh } from "../helpers/fake.ts";
import { makeScratch } from "../helpers/scratch.ts";

// Real processes on a shared 2-core machine: give each test room (waits poll with deadlines).
setDefaultTimeout(60_000);

const scratch = makeScratch();
function tree(): Tree {
  const t = scratch.track(fakeTree());
  // Let any agent a test left behind finish.
  scratch.defer(() => {
    for (const f of ["release", "release1", "release2"]) writeFileSync(nodePath.join(t.root, f), "");
  });
  return t;
}
const file = (t: Tree, name: string) => nodePath.join(t.root, name);
const readPid = (t: Tree, name: string) => Number(readFileSync(file(t, name), "utf8").trim());

/** An agent that records each run, then waits for Bin-independent release files. */
function holdingAgent(t: Tree): void {
  t.script(
    "fakeagent",
    `[ "$CNCOP_JOBID" != 12 ] && { [ "$CNCOP_JOBID" = 13 ] && exit 1; exit 0; }
${mark("runs", "$CNCOP_SESSION")}
echo $$ > "$CNCOP_HOME/agent.pid"
${waitForFileSh("$CNCOP_HOME/release")}
exit 0`,
  );
  t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
}

describe("simultaneous requests run the agent exactly once", () => {
  test.each([2, 12])("%d requests", async (n) => {
    const t = tree();
    holdingAgent(t);
    const procs = Array.from({ length: n }, () => t.spawn("cncopagent", ["12"]));
    const results: (RunOutput | undefined)[] = new Array(n).fill(undefined);
    const done = procs.map((p, i) => collect(p).then((r) => (results[i] = r)));
    // All but one are skipped while the one that won waits for the release file.
    // (A skipped request can be done before the winner's agent has even started.)
    await waitFor(() => results.filter((r) => r !== undefined).length >= n - 1 && readMarker(t, "runs").length > 0, 45_000, `${n - 1} requests to be skipped`);
    expect(results.filter((r) => r !== undefined).map((r) => r!.exitCode)).toEqual(new Array(n - 1).fill(3));
    expect(readMarker(t, "runs").length).toBe(1);
    writeFileSync(file(t, "release"), "");
    await Promise.all(done);
    const codes = results.map((r) => r!.exitCode).sort();
    expect(codes).toEqual([0, ...new Array(n - 1).fill(3)]);
    const runs = readMarker(t, "runs");
    expect(runs.length).toBe(1);
    const session = runs[0]!;
    for (const r of results.filter((x) => x!.exitCode === 3)) {
      expect(r!.stderr).toMatch(new RegExp(`job 12 'Payroll' is already running since \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} as session ${session} \\(pid \\d+\\), skipped`));
    }
    expect(t.caLogText()).toMatch(new RegExp(`job 12 'Payroll' skipped: already running since .* as session ${session}`));
    expect(existsSync(lockRecordPath(t, 12))).toBe(false);
  });
});

describe("a skipped job does not stop the others", () => {
  test.each([
    [14, 3],
    [13, 1],
  ])("the other job %d runs; exit status %d", async (other, exit) => {
    const t = tree();
    holdingAgent(t);
    t.addJob({ jobid: 13, jobtitle: "Fails", jobtype: "FAKE" });
    t.addJob({ jobid: 14, jobtitle: "Works", jobtype: "FAKE" });
    const first = t.spawn("cncopagent", ["12"]);
    await waitFor(() => readMarker(t, "runs").length === 1, 20_000, "the first run's agent");
    const r = await t.run("cncopagent", ["12", String(other)]);
    expect(r.exitCode).toBe(exit);
    expect(r.stderr).toContain("job 12 'Payroll' is already running");
    expect(t.caLogText()).toMatch(new RegExp(`job ${other} '\\w+' final state: ${exit === 3 ? "OK" : "ERROR"}`));
    writeFileSync(file(t, "release"), "");
    expect((await collect(first)).exitCode).toBe(0);
  });
});

describe("the lock covers the prerun and the post commands", () => {
  test("requests during the prerun and during postfailure are skipped", async () => {
    const t = tree();
    t.script("pre.sh", `touch "$CNCOP_HOME/in-pre"; ${waitForFileSh("$CNCOP_HOME/release1")}; exit 0`);
    t.script("post.sh", `touch "$CNCOP_HOME/in-post"; ${waitForFileSh("$CNCOP_HOME/release2")}; exit 0`);
    t.script("fakeagent", "exit 1");
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE", prerun: "pre.sh", postfailure: "post.sh" });
    const first = t.spawn("cncopagent", ["12"]);
    await waitFor(() => existsSync(file(t, "in-pre")), 20_000, "the prerun");
    expect((await t.run("cncopagent", ["12"])).exitCode).toBe(3);
    writeFileSync(file(t, "release1"), "");
    await waitFor(() => existsSync(file(t, "in-post")), 20_000, "postfailure");
    expect((await t.run("cncopagent", ["12"])).exitCode).toBe(3);
    writeFileSync(file(t, "release2"), "");
    expect((await collect(first)).exitCode).toBe(1);
    expect(existsSync(lockRecordPath(t, 12))).toBe(false);
  });
});

describe("a dispatcher killed with SIGKILL", () => {
  test("skipped while its agent (or a child in the agent's group) lives; runs at once after; no unlock needed", async () => {
    const t = tree();
    t.script(
      "fakeagent",
      `${mark("runs", "$CNCOP_SESSION")}
sh -c '${waitForFileSh("$CNCOP_HOME/release2")}' &
echo $! > "$CNCOP_HOME/child.pid"
echo $$ > "$CNCOP_HOME/agent.pid"
${waitForFileSh("$CNCOP_HOME/release1")}
exit 0`,
    );
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    const d = t.spawn("cncopagent", ["12"]);
    await waitFor(() => pidIn(t.root, "agent.pid") !== undefined, 20_000, "the agent");
    const agentPid = readPid(t, "agent.pid");
    const childPid = readPid(t, "child.pid");
    d.kill("SIGKILL");
    await d.exited;
    expect(processGone(agentPid)).toBe(false);
    // The dead dispatcher's record is still there, and its agent holds it.
    expect(existsSync(lockRecordPath(t, 12))).toBe(true);
    const r1 = await t.run("cncopagent", ["12"]);
    expect(r1.exitCode).toBe(3);
    expect(r1.stderr).toContain("job 12 'Payroll' is already running");
    // The agent ends, a child it started in its group lives on: still running.
    writeFileSync(file(t, "release1"), "");
    await waitFor(() => processGone(agentPid), 20_000, "the agent to end");
    expect(processGone(childPid)).toBe(false);
    const r2 = await t.run("cncopagent", ["12"]);
    expect(r2.exitCode).toBe(3);
    // The last process ends: the next request runs at once.
    writeFileSync(file(t, "release2"), "");
    await waitFor(() => processGone(childPid), 20_000, "the child to end");
    const began = Date.now();
    const r3 = await t.run("cncopagent", ["12"]);
    expect(r3.exitCode).toBe(0);
    expect(Date.now() - began).toBeLessThan(15_000);
    expect(readMarker(t, "runs").length).toBe(2);
    const killedSession = readMarker(t, "runs")[0];
    expect(sessionsInLog(t, 12)).toContain(killedSession!);
    expect(t.caLogText()).toContain(`the run of session ${killedSession} (dispatcher pid ${d.pid}) has no live process left; taking the lock over`);
  });
});

describe("a dispatcher killed just after it started a child", () => {
  // The prerun kills its own dispatcher first thing: often before the dispatcher has
  // recorded the prerun's pid. The record's spawn marker still holds the lock.
  test("the child holds the lock whether or not its pid made it into the record", async () => {
    const t = tree();
    t.script("pre.sh", `kill -KILL $PPID; echo $$ > "$CNCOP_HOME/pre.pid"; ${waitForFileSh("$CNCOP_HOME/release")}`);
    t.script("fakeagent", mark("agent"));
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE", prerun: "pre.sh" });
    for (let round = 0; round < 3; round++) {
      const d = t.spawn("cncopagent", ["12"]);
      await d.exited;
      expect(d.signalCode).toBe("SIGKILL");
      await waitFor(() => pidIn(t.root, "pre.pid") !== undefined, 20_000, "the prerun");
      const prePid = pidIn(t.root, "pre.pid")!;
      const r = await t.run("cncopagent", ["12"]);
      expect(r.exitCode).toBe(3);
      writeFileSync(file(t, "release"), "");
      await waitFor(() => processGone(prePid), 20_000, "the prerun to end");
      rmSync(file(t, "release"));
      rmSync(file(t, "pre.pid"));
    }
    expect(readMarker(t, "agent")).toEqual([]);
  });
});

/** Write a lock record as a dispatcher would have. */
function writeRecord(t: Tree, jobid: number, record: object | string): string {
  const p = lockRecordPath(t, jobid);
  mkdirSync(nodePath.dirname(p), { recursive: true });
  writeFileSync(p, typeof record === "string" ? record : JSON.stringify(record));
  return p;
}

function stranger(): ChildProcess & { pid: number } {
  const c = spawn("sleep", ["60"], { stdio: "ignore", detached: true });
  scratch.defer(() => c.kill("SIGKILL"));
  return c as ChildProcess & { pid: number };
}

const record = (dispatcher: object, processes: object[]) => ({
  version: 1,
  jobid: 12,
  jobtitle: "Payroll",
  session: "0190aaaa-0000-7000-8000-000000000000",
  hostname: os.hostname(),
  bootId: bootId(),
  started: new Date(Date.now() - 3_600_000).toISOString(),
  dispatcher,
  processes,
  token: "old-token",
});

describe("stale and corrupt records", () => {
  test("a record whose pids were reused by an unrelated process is stale; the same pids with their true start times hold", async () => {
    const t = tree();
    t.script("fakeagent", mark("runs"));
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    const s = stranger();
    const live = identify(s.pid, true)!;
    // The same pid, as it was when an older process had it.
    const old = { pid: s.pid, start: String(BigInt(live.start!) - 50n) };
    writeRecord(t, 12, record({ pid: s.pid, start: live.start }, [{ ...live }]));
    expect((await t.run("cncopagent", ["12"])).exitCode).toBe(3);
    writeRecord(t, 12, record(old, [{ ...old, group: true }]));
    const r = await t.run("cncopagent", ["12"]);
    expect(r.exitCode).toBe(0);
    expect(readMarker(t, "runs").length).toBe(1);
    expect(t.caLogText()).toContain("has no live process left; taking the lock over");
    expect(processGone(s.pid)).toBe(false);
  });

  test.each(["", "{\"version\":1,\"jobid\":12,", "not json at all", "\u0000\u0000\u0000"])("a corrupt record %j: held off while just written, taken over once old", async (body) => {
    const t = tree();
    t.script("fakeagent", mark("runs"));
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    const p = writeRecord(t, 12, body);
    const r1 = await t.run("cncopagent", ["12"]);
    expect(r1.exitCode).toBe(3);
    expect(r1.stderr).toContain("cannot be read yet");
    const old = new Date(Date.now() - 60_000);
    utimesSync(p, old, old);
    const r2 = await t.run("cncopagent", ["12"]);
    expect(r2.exitCode).toBe(0);
    expect(t.caLogText()).toContain(`unreadable lock record ${p}; taking the lock over`);
    expect(readMarker(t, "runs").length).toBe(1);
    expect(existsSync(p)).toBe(false);
  });

  test("a record from before a reboot is stale", async () => {
    const t = tree();
    t.script("fakeagent", mark("runs"));
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    const me = identify(process.pid)!;
    writeRecord(t, 12, { ...record(me, []), bootId: "an-earlier-boot" });
    expect((await t.run("cncopagent", ["12"])).exitCode).toBe(0);
  });
});

describe("an unusable lock folder", () => {
  test("fails each job with a JE and a JF, runs no agent, and is no crash", async () => {
    const t = tree();
    t.script("fakeagent", mark("runs"));
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    t.addJob({ jobid: 13, jobtitle: "Other", jobtype: "FAKE" });
    mkdirSync(nodePath.join(t.root, "Spool", "Work"), { recursive: true });
    writeFileSync(nodePath.join(t.root, "Spool", "Work", "locks"), "not a folder");
    const r = await t.run("cncopagent", ["12", "13"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).not.toContain("internal error");
    expect(r.stderr).toContain("cannot use the lock of job 12");
    expect(readMarker(t, "runs")).toEqual([]);
    expect(t.reports("JE-").map((x) => [x.body.jobid, x.body.source])).toEqual(expect.arrayContaining([[12, "dispatcher"], [13, "dispatcher"]]));
    expect(t.reports("JF-").map((x) => x.body.jobid).sort()).toEqual([12, 13]);
    expect(t.caLogText()).toContain("cncopagent finished: exit status 1 (0 OK, 2 failed, 0 skipped)");
  });
});

describe("cncopagent --unlock JOB", () => {
  test("refuses while a process of the run lives, removes the record once none does", async () => {
    const t = tree();
    holdingAgent(t);
    const d = t.spawn("cncopagent", ["12"]);
    await waitFor(() => pidIn(t.root, "agent.pid") !== undefined, 20_000, "the agent");
    const agentPid = readPid(t, "agent.pid");
    // The agent may start before its pid is in the record: kill the dispatcher only after.
    await waitFor(() => recordedPids(t, 12).includes(agentPid), 20_000, "the agent's pid in the lock record");
    d.kill("SIGKILL");
    await d.exited;
    const r1 = await t.run("cncopagent", ["--unlock", "Payroll"]);
    expect(r1.exitCode).toBe(1);
    expect(r1.stderr).toMatch(new RegExp(`job 12 is running as session \\S+ \\(live process ids ${agentPid}\\); stop those processes first`));
    expect(existsSync(lockRecordPath(t, 12))).toBe(true);
    writeFileSync(file(t, "release"), "");
    await waitFor(() => processGone(agentPid), 20_000, "the agent to end");
    const r2 = await t.run("cncopagent", ["--unlock", "12"]);
    expect(r2.exitCode).toBe(0);
    expect(r2.stderr).toContain("job 12 'Payroll': lock removed");
    expect(existsSync(lockRecordPath(t, 12))).toBe(false);
    const r3 = await t.run("cncopagent", ["--unlock", "12"]);
    expect(r3.exitCode).toBe(0);
    expect(r3.stderr).toContain("job 12 'Payroll' is not locked");
  });

  test("a tree where no job has run yet: not locked, exit 0", async () => {
    const t = tree();
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    const r = await t.run("cncopagent", ["--unlock", "12"]);
    expect(r.stderr).toContain("job 12 'Payroll' is not locked");
    expect(r.exitCode).toBe(0);
  });

  test("an unknown job is a usage error; --unlock with a selection too", async () => {
    const t = tree();
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    const r = await t.run("cncopagent", ["--unlock", "nope"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown job "nope"');
    const r2 = await t.run("cncopagent", ["--unlock", "12", "-a"]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toContain("--unlock");
  });

  test("a running dispatcher's lock is refused too", async () => {
    const t = tree();
    holdingAgent(t);
    const d = t.spawn("cncopagent", ["12"]);
    await waitFor(() => pidIn(t.root, "agent.pid") !== undefined, 20_000, "the agent");
    const r = await t.run("cncopagent", ["--unlock", "12"], { env: FAST_GRACE });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`live process ids ${d.pid}`);
    writeFileSync(file(t, "release"), "");
    expect((await collect(d)).exitCode).toBe(0);
  });
});
