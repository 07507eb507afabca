/**
 * Re-runs and maxruntime end to end (SPEC §5 "Finish states"): RE-RUN runs the agent
 * again after retrydelay, doubling, while re-runs remain; maxruntime stops the agent's
 * whole process tree (SIGTERM, then SIGKILL after the grace) and ends the job as ERROR
 * with no further re-run. Timing is checked by lower bounds only.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { isAlive } from "./cncopagent-fakes.ts";

// Processes on a busy 2-core machine: room beyond bun's 5 s default, never a sleep. The
// tests run concurrently and each starts cncopagent (from source: a transpiling start-up)
// once or more: under npm test's load one took 29 s, so they get npm test's 60 s.
setDefaultTimeout(60_000);

// The tests run concurrently: their trees are removed after the file.
const scratch = makeScratch("file");
function tree(): Tree {
  return scratch.tree();
}
const read = (t: Tree, name: string) => readFileSync(nodePath.join(t.root, name), "utf8");
/** Each attempt appends "<attempt> <epoch seconds with fraction>". */
const NOTE_START = `echo "$CNCOP_ATTEMPT $(date +%s.%N)" >> "$CNCOP_HOME/starts"`;
function starts(t: Tree): { attempt: number; at: number }[] {
  return read(t, "starts").trim().split("\n").map((l) => {
    const [a, s] = l.split(" ");
    return { attempt: Number(a), at: Number(s) };
  });
}

describe("re-runs", () => {
  test.concurrent("retrydelay 1: re-run after 1 s, then after 2 s; OK on the third attempt", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "flaky", jobtype: "CIFS", maxretries: 3, retrydelay: 1 });
    t.script("backupagentcifs", `${NOTE_START}\n[ "$CNCOP_ATTEMPT" -lt 3 ] && exit 75\nexit 0`);
    const r = await t.run("cncopagent", ["flaky"]);
    expect(r.exitCode).toBe(0);
    const s = starts(t);
    expect(s.map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(s[1]!.at - s[0]!.at).toBeGreaterThanOrEqual(0.95);
    expect(s[2]!.at - s[1]!.at).toBeGreaterThanOrEqual(1.95);
    const log = t.caLogText();
    expect(log).toMatch(/re-run 1 of 3 in 1 s/);
    expect(log).toMatch(/re-run 2 of 3 in 2 s/);
    expect(log).toMatch(/final state: OK/);
  });

  test.concurrent("RE-RUN with no re-run left ends as ERROR after maxretries + 1 attempts", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "always", jobtype: "CIFS", maxretries: 2, retrydelay: 0 });
    t.script("backupagentcifs", `${NOTE_START}\nexit 75`);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(starts(t).map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(t.caLogText()).toMatch(/final state: ERROR \(.*re-run/);
  });

  test.concurrent("maxretries 0: one attempt only", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "once", jobtype: "CIFS", maxretries: 0, retrydelay: 0 });
    t.script("backupagentcifs", `${NOTE_START}\nexit 75`);
    expect((await t.run("cncopagent", ["1"])).exitCode).toBe(1);
    expect(starts(t).length).toBe(1);
  });

  test.concurrent("a default job (no maxretries column value) re-runs up to 3 times", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "dflt", jobtype: "CIFS", retrydelay: 0 });
    t.script("backupagentcifs", `${NOTE_START}\nexit 75`);
    expect((await t.run("cncopagent", ["1"])).exitCode).toBe(1);
    expect(starts(t).length).toBe(4);
  });

  test.concurrent("ERROR after a RE-RUN ends the job: no further attempt", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "x", jobtype: "CIFS", maxretries: 5, retrydelay: 0 });
    t.script("backupagentcifs", `${NOTE_START}\n[ "$CNCOP_ATTEMPT" = 1 ] && exit 75\nexit 4`);
    expect((await t.run("cncopagent", ["1"])).exitCode).toBe(1);
    expect(starts(t).length).toBe(2);
    expect(t.caLogText()).toMatch(/final state: ERROR \(.*status 4/);
  });

  test.concurrent("each attempt's exit is logged", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "x", jobtype: "CIFS", maxretries: 1, retrydelay: 0 });
    t.script("backupagentcifs", `[ "$CNCOP_ATTEMPT" = 1 ] && exit 75\nexit 0`);
    expect((await t.run("cncopagent", ["1"])).exitCode).toBe(0);
    const log = t.caLogText();
    expect(log).toMatch(/attempt 1: backupagentcifs exited with status 75/);
    expect(log).toMatch(/attempt 2: backupagentcifs exited with status 0/);
  });
});

describe("maxruntime", () => {
  test.concurrent("an agent that stops on SIGTERM: ERROR (timed out), long before the 30 s grace", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "slow", jobtype: "CIFS", maxruntime: 1, maxretries: 3, retrydelay: 0 });
    // On TERM it asks for a re-run: a timed-out job is never re-run.
    t.script("backupagentcifs", `${NOTE_START}\ntrap 'echo term > "$CNCOP_HOME/got-term"; exit 75' TERM\nwhile :; do sleep 0.05; done`);
    const started = Date.now();
    const r = await t.run("cncopagent", ["1"]);
    const took = Date.now() - started;
    expect(r.exitCode).toBe(1);
    expect(existsSync(nodePath.join(t.root, "got-term"))).toBe(true);
    expect(starts(t).length).toBe(1);
    expect(took).toBeGreaterThanOrEqual(1_000);
    expect(took).toBeLessThan(25_000);
    expect(t.caLogText()).toMatch(/final state: ERROR \(timed out after 1 s\)/);
  });

  test.concurrent("an agent that ignores SIGTERM: SIGKILL after the grace; its whole tree is stopped", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "stubborn", jobtype: "CIFS", maxruntime: 1 });
    t.script(
      "backupagentcifs",
      `trap '' TERM
sleep 300 &
echo $! > "$CNCOP_HOME/grandchild"
echo $$ > "$CNCOP_HOME/agent"
while :; do sleep 0.05; done`,
    );
    const started = Date.now();
    const r = await t.run("cncopagent", ["1"], { env: { CNCOP_KILL_GRACE_MS: "1500" } });
    const took = Date.now() - started;
    expect(r.exitCode).toBe(1);
    expect(took).toBeGreaterThanOrEqual(2_500); // maxruntime + grace
    const log = t.caLogText();
    expect(log).toMatch(/SIGKILL/);
    expect(log).toMatch(/final state: ERROR \(timed out after 1 s\)/);
    const pids = [Number(read(t, "agent")), Number(read(t, "grandchild"))];
    await waitFor(() => pids.every((p) => !isAlive(p)), 5_000, "the agent's tree to be gone");
  });

  test.concurrent("covers all attempts: re-runs stop when the time is up", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "loop", jobtype: "CIFS", maxruntime: 2, maxretries: 100, retrydelay: 0 });
    t.script("backupagentcifs", `${NOTE_START}\nsleep 0.4\nexit 75`);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    const n = starts(t).length;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(6);
    expect(t.caLogText()).toMatch(/final state: ERROR \(timed out/);
  });

  test.concurrent("a re-run that would start after maxruntime is not started", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "late", jobtype: "CIFS", maxruntime: 1, maxretries: 3, retrydelay: 60 });
    t.script("backupagentcifs", `${NOTE_START}\nexit 75`);
    const started = Date.now();
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(starts(t).length).toBe(1);
    expect(t.caLogText()).toMatch(/final state: ERROR \(timed out/);
  });

  test.concurrent("maxruntime 0 means no limit", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "free", jobtype: "CIFS", maxruntime: 0 });
    t.script("backupagentcifs", "sleep 1.2; exit 0");
    expect((await t.run("cncopagent", ["1"])).exitCode).toBe(0);
  });
});

describe("an agent that leaves a process behind", () => {
  test.concurrent("cncopagent does not wait for it forever", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "leaver", jobtype: "CIFS" });
    t.script("backupagentcifs", `sleep 300 &\necho $! > "$CNCOP_HOME/left"\necho done`);
    const started = Date.now();
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(t.caLogText()).toMatch(/\[backupagentcifs#1 stdout\] done/);
    const left = Number(read(t, "left"));
    await waitFor(() => !isAlive(left), 40_000, "the left-behind process to end");
  }, 60_000);
});
