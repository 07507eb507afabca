/**
 * The whole process tree (SPEC §5 "Finish states", "Interruption", issue 15), Linux: a
 * descendant that starts a session of its own (setsid), one that double-forks away from
 * its parent, and a daemon that also clears its environment are all stopped when
 * maxruntime passes, on SIGTERM and on SIGINT; one left behind by an agent that ended on
 * its own is stopped at the end of the run. Nothing of the job survives cncopagent.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { collect, fakeTree, FAST_GRACE, LOOP_SH, lockRecordPath, processGone } from "../helpers/fake.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { existsSync } from "node:fs";
import { GUARD_STALE_MS } from "../../src/locks/owner-record.ts";

setDefaultTimeout(60_000);

const scratch = makeScratch("file");
const NAMES = ["setsid", "dfork", "daemon"] as const;

/**
 * Shell code: three escapees, each writing its pid: in a new session (setsid), orphaned by
 * a double fork (its parent subshell exits at once), and both plus an empty environment.
 * Then `then` runs.
 */
function escapees(then: string): string {
  return `cd "$CNCOP_HOME"
setsid sh -c 'echo $$ > setsid.pid; exec sleep 302' &
( sh -c 'echo $$ > dfork.pid; exec sleep 303' & )
( setsid sh -c 'echo $$ > daemon.pid; exec env -i sleep 304' & )
while [ ! -s setsid.pid ] || [ ! -s dfork.pid ] || [ ! -s daemon.pid ]; do sleep 0.02; done
: > ready
${then}`;
}

function tree(agentTail: string, job: Record<string, unknown> = {}): Tree {
  const t = scratch.track(fakeTree());
  t.script("fakeagent", escapees(agentTail));
  t.addJob({ jobid: 7, jobtitle: "escapes", jobtype: "FAKE", ...job });
  // A failed test must not leave sleeps behind.
  scratch.defer(() => {
    for (const p of pidsOf(t, false)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
  });
  return t;
}

function pidsOf(t: Tree, strict = true): number[] {
  const out: number[] = [];
  for (const n of NAMES) {
    const f = nodePath.join(t.root, `${n}.pid`);
    if (!strict && !existsSync(f)) continue;
    out.push(Number(readFileSync(f, "utf8").trim()));
  }
  return out;
}

const ready = (t: Tree) => existsSync(nodePath.join(t.root, "ready"));

describe.skipIf(process.platform !== "linux")("descendants in a session or group of their own", () => {
  test.concurrent("maxruntime stops them all, within the grace", async () => {
    const t = tree(LOOP_SH, { maxruntime: 1 });
    const r = await t.run("cncopagent", ["7"], { env: FAST_GRACE });
    expect(r.exitCode).toBe(1);
    const pids = pidsOf(t);
    expect(pids.length).toBe(3);
    for (const pid of pids) expect({ pid, gone: processGone(pid) }).toEqual({ pid, gone: true });
    expect(t.caLogText()).toMatch(/timed out/);
    expect(existsSync(lockRecordPath(t, 7))).toBe(false);
  });

  test.concurrent.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)("%s to cncopagent stops them all (exit %d)", async (sig, code) => {
    const t = tree(LOOP_SH);
    const proc = t.spawn("cncopagent", ["7"], { env: FAST_GRACE });
    const out = collect(proc);
    await waitFor(() => ready(t), 20_000, "the escapees to start");
    const pids = pidsOf(t);
    for (const pid of pids) expect(processGone(pid)).toBe(false);
    proc.kill(sig);
    const r = await out;
    expect(r.exitCode).toBe(code);
    for (const pid of pids) expect({ pid, gone: processGone(pid) }).toEqual({ pid, gone: true });
    expect(existsSync(lockRecordPath(t, 7))).toBe(false);
  });

  test.concurrent("an agent that ends OK leaves nothing behind when the run ends", async () => {
    const t = tree("exit 0");
    const r = await t.run("cncopagent", ["7"], { env: FAST_GRACE });
    expect(r.exitCode).toBe(0);
    for (const pid of pidsOf(t)) expect({ pid, gone: processGone(pid) }).toEqual({ pid, gone: true });
    expect(t.caLogText()).toMatch(/stopping [1-3] process\(es\) the run left behind: pids /);
  });
});

describe.skipIf(process.platform !== "linux")("a paused lock holder", () => {
  test.concurrent("a dispatcher SIGSTOPped for longer than the guard's stale age never admits a second run", async () => {
    const t = tree(LOOP_SH);
    const first = t.spawn("cncopagent", ["7"], { env: FAST_GRACE });
    const out = collect(first);
    await waitFor(() => ready(t), 20_000, "the first run's agent to start");
    first.kill("SIGSTOP");
    try {
      // The scenario itself, not a wait for a condition: paused for longer than a guard could once be.
      await Bun.sleep(GUARD_STALE_MS + 1_000);
      const second = await t.run("cncopagent", ["7"], { env: FAST_GRACE });
      expect(second.exitCode).toBe(3);
      expect(second.stderr).toMatch(/is already running since .* \(pid \d+\), skipped/);
    } finally {
      first.kill("SIGCONT");
    }
    first.kill("SIGTERM");
    expect((await out).exitCode).toBe(143);
  });
});
