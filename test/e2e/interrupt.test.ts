/**
 * Interruption (SPEC §5 "Interruption", issue 4): SIGTERM, SIGINT and SIGHUP mid-agent,
 * mid-prerun and mid-retry-wait stop the whole tree (TERM, then KILL), run postfailure,
 * write the JF, release the lock and exit 130/143; a second signal during the cleanup
 * leaves no lock behind.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { collect, fakeTree, FAST_GRACE, lockRecordPath, LOOP_SH, mark, pidIn, processGone, readMarker, sessionsInLog, waitForFileSh } from "../helpers/fake.ts";
import { makeScratch } from "../helpers/scratch.ts";

// Real processes on a shared 2-core machine: give each test room (waits poll with deadlines).
setDefaultTimeout(60_000);

const scratch = makeScratch();
function tree(defaults = ""): Tree {
  const t = scratch.track(fakeTree(defaults));
  scratch.defer(() => writeFileSync(nodePath.join(t.root, "release"), ""));
  return t;
}
const file = (t: Tree, name: string) => nodePath.join(t.root, name);
const readPid = (t: Tree, name: string) => Number(readFileSync(file(t, `${name}.pid`), "utf8").trim());

/**
 * Shell code for a process that records its pid under `name`, starts a child in its group
 * that ignores SIGTERM (so the tree needs the KILL after the grace), and waits.
 */
function busy(name: string, ignoreTerm = false): string {
  return `${ignoreTerm ? "trap '' TERM\n" : ""}echo $$ > "$CNCOP_HOME/${name}.pid"
sh -c 'trap "" TERM; ${LOOP_SH}' &
echo $! > "$CNCOP_HOME/${name}-child.pid"
${LOOP_SH}`;
}

const SIGNALS = [
  ["SIGTERM", 143],
  ["SIGINT", 130],
  ["SIGHUP", 143],
] as const;

type Phase = {
  name: string;
  setup: (t: Tree) => void;
  ready: (t: Tree) => boolean;
  pids: string[];
  reason: (sig: string) => string;
  attempts: { exitcode: number | null; signal: string | null }[] | "killed";
};

const PHASES: Phase[] = [
  {
    name: "mid-agent",
    setup: (t) => {
      t.script("fakeagent", busy("agent", true));
      t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE", postfailure: "post.sh", postsuccess: "post.sh" });
    },
    ready: (t) => pidIn(t.root, "agent-child.pid") !== undefined,
    pids: ["agent", "agent-child"],
    reason: (sig) => `interrupted by ${sig}`,
    attempts: "killed",
  },
  {
    name: "mid-prerun",
    setup: (t) => {
      t.script("pre.sh", busy("pre"));
      t.script("fakeagent", mark("agent"));
      t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE", prerun: "pre.sh", postfailure: "post.sh", postsuccess: "post.sh" });
    },
    ready: (t) => pidIn(t.root, "pre-child.pid") !== undefined,
    pids: ["pre", "pre-child"],
    reason: (sig) => `interrupted by ${sig} during prerun`,
    attempts: [],
  },
  {
    name: "mid-retry-wait",
    setup: (t) => {
      t.script("fakeagent", `${mark("agent")}\nexit 75`);
      t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE", maxretries: 3, retrydelay: 3600, postfailure: "post.sh", postsuccess: "post.sh" });
    },
    ready: (t) => t.caLogText().includes("job 12 'Payroll': re-run 1 of 3 in 3600 s"),
    pids: [],
    reason: (sig) => `interrupted by ${sig} while waiting to re-run`,
    attempts: [{ exitcode: 75, signal: null }],
  },
];

describe.each(PHASES)("$name", (phase) => {
  test.each(SIGNALS)("%s: tree stopped, postfailure, JF, lock released, exit %d", async (sig, code) => {
    const t = tree();
    t.script("post.sh", mark("post", "$CNCOP_STATUS"));
    phase.setup(t);
    const proc = t.spawn("cncopagent", ["12"], { env: FAST_GRACE });
    const out = collect(proc);
    await waitFor(() => phase.ready(t), 20_000, `${phase.name} to be under way`);
    const pids = phase.pids.map((n) => readPid(t, n));
    for (const pid of pids) expect(processGone(pid)).toBe(false);
    expect(existsSync(lockRecordPath(t, 12))).toBe(true);
    const signalled = Date.now();
    proc.kill(sig);
    const r = await out;
    expect(r.exitCode).toBe(code);
    // Sleeping between re-runs, and the 400 ms grace, end at once: nothing waits for the delay.
    expect(Date.now() - signalled).toBeLessThan(15_000);
    for (const pid of pids) expect(processGone(pid)).toBe(true);
    expect(readMarker(t, "post")).toEqual(["ERROR"]);
    expect(existsSync(lockRecordPath(t, 12))).toBe(false);
    if (phase.name === "mid-prerun") expect(readMarker(t, "agent")).toEqual([]);
    if (phase.name === "mid-retry-wait") expect(readMarker(t, "agent").length).toBe(1);
    const [session] = sessionsInLog(t, 12);
    const jf = t.reports("JF-").map((x) => x.body);
    expect(jf).toMatchObject([{ type: "jobfinished", jobid: 12, session: session!, status: "ERROR", reason: phase.reason(sig) }]);
    const attempts = (jf[0]!.attempts as { exitcode: number | null; signal: string | null }[]).map((x) => ({ exitcode: x.exitcode, signal: x.signal }));
    if (phase.attempts === "killed") {
      expect(attempts.length).toBe(1);
      expect(attempts[0]!.exitcode).toBeNull();
      // The agent ignores TERM: the KILL after the grace ends it.
      expect(attempts[0]!.signal).toBe("SIGKILL");
    } else {
      expect(attempts).toEqual(phase.attempts);
    }
    // An interruption is not a failure of the prerun: no JE claims it failed.
    expect(t.reports("JE-").map((x) => x.body.source)).not.toContain("prerun");
    const log = t.caLogText();
    expect(log).toContain(`${sig} received: stopping the running job`);
    expect(log).toContain(`job 12 'Payroll' final state: ERROR (${phase.reason(sig)})`);
    expect(log).toContain(`cncopagent finished: exit status ${code}`);
    expect(r.stderr).toContain(`${sig} received`);
  });
});

describe("cleanup after a signal", () => {
  test("a second and third signal during postfailure change nothing: postfailure completes, no lock is left", async () => {
    const t = tree();
    t.script("fakeagent", busy("agent"));
    t.script("post.sh", `touch "$CNCOP_HOME/in-post"; ${waitForFileSh("$CNCOP_HOME/release")}; ${mark("post", "done $CNCOP_STATUS")}`);
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE", postfailure: "post.sh" });
    const proc = t.spawn("cncopagent", ["12"], { env: FAST_GRACE });
    const out = collect(proc);
    await waitFor(() => pidIn(t.root, "agent-child.pid") !== undefined, 20_000, "the agent");
    proc.kill("SIGINT");
    await waitFor(() => existsSync(file(t, "in-post")), 20_000, "postfailure");
    proc.kill("SIGINT");
    proc.kill("SIGTERM");
    await waitFor(() => (t.caLogText().match(/received again/g) ?? []).length >= 2, 20_000, "the repeated signals to be logged");
    // Still cleaning up, still holding the lock.
    expect(existsSync(lockRecordPath(t, 12))).toBe(true);
    expect((await t.run("cncopagent", ["12"])).exitCode).toBe(3);
    writeFileSync(file(t, "release"), "");
    const r = await out;
    expect(r.exitCode).toBe(130);
    expect(readMarker(t, "post")).toEqual(["done ERROR"]);
    expect(existsSync(lockRecordPath(t, 12))).toBe(false);
    expect(t.reports("JF-").map((x) => x.body.reason)).toEqual(["interrupted by SIGINT"]);
  });

  test("a hung postfailure after a signal is bounded by command_timeout", async () => {
    const t = tree("command_timeout = 1");
    t.script("fakeagent", busy("agent"));
    t.script("post.sh", `echo $$ > "$CNCOP_HOME/post.pid"; trap '' TERM; ${LOOP_SH}`);
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE", postfailure: "post.sh" });
    const proc = t.spawn("cncopagent", ["12"], { env: FAST_GRACE });
    const out = collect(proc);
    await waitFor(() => pidIn(t.root, "agent-child.pid") !== undefined, 20_000, "the agent");
    proc.kill("SIGTERM");
    const r = await out;
    expect(r.exitCode).toBe(143);
    expect(processGone(readPid(t, "post"))).toBe(true);
    expect(t.reports("JE-").map((x) => x.body)).toMatchObject([{ source: "postfailure", message: expect.stringContaining("timed out after 1 s") }]);
    expect(t.reports("JF-").map((x) => x.body.reason)).toEqual(["interrupted by SIGTERM"]);
    expect(existsSync(lockRecordPath(t, 12))).toBe(false);
  });

  test("jobs after the interrupted one are not started", async () => {
    const t = tree();
    t.script("fakeagent", `[ "$CNCOP_JOBID" = 13 ] && { ${mark("second")}; exit 0; }\n${busy("agent")}`);
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    t.addJob({ jobid: 13, jobtitle: "Later", jobtype: "FAKE" });
    const proc = t.spawn("cncopagent", ["12", "13"], { env: FAST_GRACE });
    const out = collect(proc);
    await waitFor(() => pidIn(t.root, "agent-child.pid") !== undefined, 20_000, "the agent");
    proc.kill("SIGTERM");
    expect((await out).exitCode).toBe(143);
    expect(readMarker(t, "second")).toEqual([]);
    expect(t.caLogText()).toContain("job 13 'Later' not started: cncopagent was interrupted");
  });

  test("an agent that ends on TERM is not killed; its signal is recorded", async () => {
    const t = tree();
    t.script("fakeagent", `echo $$ > "$CNCOP_HOME/agent.pid"; exec sleep 60`);
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE" });
    const proc = t.spawn("cncopagent", ["12"]);
    const out = collect(proc);
    await waitFor(() => pidIn(t.root, "agent.pid") !== undefined, 20_000, "the agent");
    const signalled = Date.now();
    proc.kill("SIGTERM");
    expect((await out).exitCode).toBe(143);
    // The default grace is 30 s: ending well before it means no KILL was needed.
    expect(Date.now() - signalled).toBeLessThan(15_000);
    const jf = t.reports("JF-")[0]?.body as { attempts: { signal: string | null }[] };
    expect(jf.attempts[0]?.signal).toBe("SIGTERM");
  });
});
