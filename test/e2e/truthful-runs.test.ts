/**
 * Every run ends with one truthful finish report (issue 17, SPEC §5 "Reports", "Single
 * instance", "Exit status", §9), with the faults injected for real: cncopagent SIGKILLed
 * in each phase of a job (prerun, attempt, re-run wait, post command, the reporter call),
 * then taken over by the next run, also by several at once; an agent that exits without
 * its JF-; a configuration error and a job database held by an exclusive lock; a closed
 * stdout/stderr; a job id above 2^53.
 */
import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { collect, FAKE_CONFIG, fakeTree, pidIn, processGone, sessionsInLog, waitForFileSh } from "../helpers/fake.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { startReportServer } from "../helpers/report-server.ts";
import { recorded } from "./cncopagent-fakes.ts";

// Real processes on a shared 2-core machine: room for them, waits poll with deadlines.
setDefaultTimeout(60_000);

const scratch = makeScratch("file");
const file = (t: Tree, name: string) => nodePath.join(t.root, name);
const RELEASE = '"$CNCOP_HOME/release"';

/** Shell code: note the pid, say ready, and wait for the test's release. */
const hold = (name: string) => `echo $$ > "$CNCOP_HOME/${name}.pid"; touch "$CNCOP_HOME/ready"; ${waitForFileSh("$CNCOP_HOME/release")}`;

/** Every JF- in the spool, by session. */
function finishReports(t: Tree): Map<string, Record<string, unknown>[]> {
  const by = new Map<string, Record<string, unknown>[]>();
  for (const r of t.reports("JF-")) by.set(String(r.body.session), [...(by.get(String(r.body.session)) ?? []), r.body]);
  return by;
}

function historyRows(t: Tree): { session: string; jobid: bigint; status: string; reason: string; attempts: string }[] {
  const db = new Database(nodePath.join(t.root, "Spool", "history.db"), { readonly: true });
  try {
    return db.query("SELECT session, jobid, status, reason, attempts FROM job_runs ORDER BY id").safeIntegers(true).all() as never;
  } finally {
    db.close();
  }
}

interface Phase {
  readonly name: string;
  readonly job: Record<string, string | number>;
  /** The agent's script; it runs in both runs (the release file exists in the second). */
  readonly agent: string;
  readonly extraScripts?: Record<string, string>;
  readonly ready: (t: Tree) => boolean;
  /** The pid file of a process of the killed run left waiting for the release. */
  readonly orphan?: string;
  /** What the killed run's single JF- says. */
  readonly finish: { status: string; reason: string; attempts: number };
}

const PHASES: Phase[] = [
  {
    name: "prerun",
    job: { prerun: "holder" },
    agent: "exit 0",
    extraScripts: { holder: `[ -e ${RELEASE} ] && exit 0\n${hold("holder")}` },
    ready: (t) => existsSync(file(t, "ready")),
    orphan: "holder.pid",
    finish: { status: "ERROR", reason: "the dispatcher was killed", attempts: 0 },
  },
  {
    name: "attempt",
    job: {},
    agent: `[ -e ${RELEASE} ] && exit 0\n${hold("agent")}\nexit 1`,
    ready: (t) => existsSync(file(t, "ready")),
    orphan: "agent.pid",
    finish: { status: "ERROR", reason: "the dispatcher was killed", attempts: 1 },
  },
  {
    name: "re-run wait",
    job: { retrydelay: 600 },
    agent: `[ -e ${RELEASE} ] && exit 0\nexit 75`,
    ready: (t) => /re-run 1 of 3 in 600 s/.test(t.caLogText()),
    finish: { status: "ERROR", reason: "the dispatcher was killed", attempts: 1 },
  },
  {
    // The agent wrote its own JF- before the post command: it stands, none is added.
    name: "post command",
    job: { postsuccess: "holder" },
    agent: `printf '{"type":"jobfinished","jobid":8,"session":"%s","status":"OK","reason":"agent: 3 files copied"}' "$CNCOP_SESSION" > "$CNCOP_HOME/Spool/Messages/JF-agent-$CNCOP_SESSION.json"\nexit 0`,
    extraScripts: { holder: `[ -e ${RELEASE} ] && exit 0\n${hold("holder")}` },
    ready: (t) => existsSync(file(t, "ready")),
    orphan: "holder.pid",
    finish: { status: "OK", reason: "agent: 3 files copied", attempts: -1 },
  },
];

async function killedIn(phase: Phase, takers = 1) {
  const t = scratch.track(fakeTree());
  t.addJob({ jobid: 8, jobtitle: "eight", jobtype: "FAKE", ...phase.job });
  t.script("fakeagent", phase.agent);
  for (const [name, body] of Object.entries(phase.extraScripts ?? {})) t.script(name, body);
  const first = t.spawn("cncopagent", ["8"]);
  await waitFor(() => phase.ready(t), 30_000, `cncopagent in its ${phase.name}`);
  first.kill("SIGKILL");
  await first.exited;
  const [dead] = sessionsInLog(t, 8);
  writeFileSync(file(t, "release"), "");
  if (phase.orphan) await waitFor(() => processGone(pidIn(t.root, phase.orphan!) ?? 0), 20_000, "the orphan ends");
  // No finish report yet for the killed run (except the agent's own).
  expect(finishReports(t).get(dead!)?.length ?? 0).toBe(phase.finish.attempts < 0 ? 1 : 0);
  const runs = await Promise.all(Array.from({ length: takers }, () => collect(t.spawn("cncopagent", ["8"]))));
  return { t, dead: dead!, runs };
}

describe("SIGKILL of cncopagent: the run that takes its lock over writes its JF- and history, once", () => {
  for (const phase of PHASES) {
    test.concurrent(`killed in its ${phase.name}`, async () => {
      const { t, dead, runs } = await killedIn(phase);
      expect(runs[0]!.exitCode).toBe(0);
      const reports = finishReports(t);
      const mine = reports.get(dead) ?? [];
      expect(mine.length).toBe(1);
      expect(mine[0]).toMatchObject({ status: phase.finish.status, reason: phase.finish.reason });
      if (phase.finish.attempts >= 0) {
        expect((mine[0]!.attempts as unknown[]).length).toBe(phase.finish.attempts);
        expect(mine[0]).toMatchObject({ type: "jobfinished", jobid: 8, jobtitle: "eight", jobtype: "FAKE", session: dead });
      }
      // Every session has exactly one JF-: the killed one and the one that took over.
      expect([...reports.values()].map((l) => l.length)).toEqual([1, 1]);
      const history = historyRows(t).filter((r) => r.session === dead);
      expect(history.map((r) => [r.status, r.reason])).toEqual([[phase.finish.status, phase.finish.reason]]);
    });
  }

  test.concurrent("three runs racing for the takeover write it once", async () => {
    const { t, dead, runs } = await killedIn(PHASES[1]!, 3);
    for (const r of runs) expect([0, 3]).toContain(r.exitCode);
    expect(finishReports(t).get(dead)?.length).toBe(1);
    expect(historyRows(t).filter((r) => r.session === dead).length).toBe(1);
    // A run that was skipped writes nothing; each run that ran has its own single JF-.
    for (const [, list] of finishReports(t)) expect(list.length).toBe(1);
  });

  test.concurrent("--unlock of a killed run's record writes its JF- and history too", async () => {
    const { t, dead } = await killedIn(PHASES[1]!, 0);
    const r = await t.run("cncopagent", ["--unlock", "8"]);
    expect(r.exitCode).toBe(0);
    expect(finishReports(t).get(dead)?.map((b) => b.reason)).toEqual(["the dispatcher was killed"]);
    expect(historyRows(t).filter((h) => h.session === dead).length).toBe(1);
    // The next run has nothing left to write for it.
    expect((await t.run("cncopagent", ["8"])).exitCode).toBe(0);
    expect(finishReports(t).get(dead)?.length).toBe(1);
  });

  test.concurrent("killed while cncopreporter sends (after the job): the run already has its single JF- and history", async () => {
    let hang: () => void = () => {};
    const hung = new Promise<void>((resolve) => (hang = resolve));
    const server = startReportServer({ answer: () => hung.then(() => 200) });
    scratch.defer(() => {
      hang();
      server.stop();
    });
    const t = scratch.tree({ config: `${FAKE_CONFIG()}\n[network]\nurl = ${server.url}\ntimeout = 5\n` });
    t.addJob({ jobid: 8, jobtitle: "eight", jobtype: "FAKE" });
    t.script("fakeagent", "exit 0");
    const first = t.spawn("cncopagent", ["8"]);
    await waitFor(() => server.inFlight > 0, 30_000, "the reporter's request");
    first.kill("SIGKILL");
    await first.exited;
    const [dead] = sessionsInLog(t, 8);
    expect((await collect(t.spawn("cncopagent", ["-n", "8"]))).exitCode).toBe(0);
    expect(finishReports(t).get(dead!)?.length).toBe(1);
    expect(historyRows(t).filter((r) => r.session === dead).map((r) => r.status)).toEqual(["OK"]);
  });
});

describe("an agent that exits without its JF-: cncopagent writes it, in the agent's words", () => {
  test.concurrent("exit 1 with a reason on stderr: one JF-, the reason on the terminal, CA log and history", async () => {
    const t = scratch.track(fakeTree());
    t.addJob({ jobid: 3, jobtitle: "missing src", jobtype: "FAKE" });
    t.script("fakeagent", 'echo "copying" ; echo "ERROR the source /srv/x does not exist (is the share mounted?)" >&2; exit 1');
    const r = await t.run("cncopagent", ["3"]);
    expect(r.exitCode).toBe(1);
    const reason = "the source /srv/x does not exist (is the share mounted?)";
    const all = t.reports("JF-");
    expect(all.length).toBe(1);
    expect(all[0]!.body).toMatchObject({ status: "ERROR", reason, attempts: [{ exitcode: 1, signal: null }] });
    expect(r.stderr + r.stdout).toContain(`ERROR (${reason})`);
    expect(t.caLogText()).toContain(`final state: ERROR (${reason})`);
    expect(t.caLogText()).toContain("the agent wrote no JF- report for session");
    expect(historyRows(t).map((h) => h.reason)).toEqual([reason]);
  });

  test.concurrent("an agent that wrote its JF-: no second one, its reason is the job's", async () => {
    const t = scratch.track(fakeTree());
    t.addJob({ jobid: 4, jobtitle: "own", jobtype: "FAKE" });
    t.script("fakeagent", `printf '{"type":"jobfinished","jobid":4,"session":"%s","status":"ERROR","reason":"disk full on /backup"}' "$CNCOP_SESSION" > "$CNCOP_HOME/Spool/Messages/JF-x-$CNCOP_SESSION.json"; echo "last words" >&2; exit 1`);
    const r = await t.run("cncopagent", ["4"]);
    expect(r.exitCode).toBe(1);
    expect(t.reports("JF-").length).toBe(1);
    expect(t.caLogText()).toContain("final state: ERROR (disk full on /backup)");
    expect(t.caLogText()).not.toContain("wrote no JF-");
  });
});

describe("a run that cannot start leaves a trace where an administrator looks", () => {
  test.concurrent("a configuration error: exit 2, a CA log, a history entry and a JE- report", async () => {
    const t = scratch.track(fakeTree());
    t.addJob({ jobid: 1, jobtitle: "one", jobtype: "FAKE" });
    t.writeConfig("[defaults\n");
    const r = await t.run("cncopagent", ["-a"]);
    expect(r.exitCode).toBe(2);
    expect(t.caLogText()).toMatch(/configuration error: .*cncop3\.ini, line 1/);
    const je = t.reports("JE-");
    expect(je.length).toBe(1);
    expect(je[0]!.body).toMatchObject({ type: "jobexception", source: "dispatcher", exitcode: 2, jobid: 0 });
    expect(String(je[0]!.body.message)).toContain("cncopagent could not start");
    expect(historyRows(t).map((h) => h.status)).toEqual(["ERROR"]);
  });

  /** A program holding the job database with an exclusive lock until `release` appears. */
  async function holdDatabase(t: Tree): Promise<Bun.Subprocess> {
    const code = `const {Database}=require("bun:sqlite");const db=new Database(process.argv[1]);db.exec("BEGIN EXCLUSIVE");console.log("locked");const t=setInterval(()=>{if(require("fs").existsSync(process.argv[2])){db.exec("COMMIT");clearInterval(t);}},50);`;
    const holder = Bun.spawn([process.execPath, "-e", code, t.dbFile, file(t, "unlock")], { stdout: "pipe", stderr: "inherit" });
    scratch.defer(() => holder.kill("SIGKILL"));
    const reader = holder.stdout.getReader();
    await reader.read();
    reader.releaseLock();
    return holder;
  }

  test.concurrent("a job database locked for good: waited for, then exit 2 with the trace", async () => {
    const t = scratch.track(fakeTree());
    t.addJob({ jobid: 1, jobtitle: "one", jobtype: "FAKE" });
    await holdDatabase(t);
    const r = await t.run("cncopagent", ["-a"], { env: { CNCOP_DB_WAIT_MS: "1500" } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("still locked by another program after waiting");
    expect(r.stderr).toContain("waiting");
    expect(t.caLogText()).toContain("configuration error:");
    expect(t.reports("JE-").length).toBe(1);
    writeFileSync(file(t, "unlock"), "");
  });

  test.concurrent("a job database locked for longer than SQLite's busy timeout: the run waits and the job runs", async () => {
    const t = scratch.track(fakeTree());
    t.addJob({ jobid: 1, jobtitle: "one", jobtype: "FAKE" });
    t.script("fakeagent", "exit 0");
    await holdDatabase(t);
    const proc = t.spawn("cncopagent", ["-a"]);
    let stderr = "";
    const reading = (async () => {
      for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
    })();
    // SQLite's own busy timeout (5 s) has passed: only the backoff keeps the run alive.
    await waitFor(() => stderr.includes("is locked by another program; waiting"), 30_000, "the run waiting");
    writeFileSync(file(t, "unlock"), "");
    const exitCode = await proc.exited;
    await reading;
    const r = { exitCode };
    expect(r.exitCode).toBe(0);
    expect(t.caLogText()).toContain("is locked by another program; waiting");
    expect(t.reports("JF-").length).toBe(1);
  });
});

describe("a closed stdout or stderr changes nothing", () => {
  for (const [name, pipe] of [
    ["2>&1 | head -c 5", '"$@" 2>&1 | head -c 5 >/dev/null'],
    ["2>&1 | true", '"$@" 2>&1 | true'],
  ] as const) {
    test.concurrent(name, async () => {
      const t = scratch.track(fakeTree());
      t.addJob({ jobid: 8, jobtitle: "eight", jobtype: "FAKE" });
      t.script("fakeagent", 'i=0; while [ $i -lt 200 ]; do echo "output line $i"; i=$((i+1)); done; sleep 0.3; exit 0');
      const proc = Bun.spawn(["bash", "-c", `${pipe}; echo "status=\${PIPESTATUS[0]}"`, "_", ...t.argv("cncopagent", ["8", "8"])], {
        cwd: t.root,
        env: { ...process.env, CNCOP_HOME: t.root, NO_COLOR: "1" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const out = await collect(proc as Bun.Subprocess<"ignore", "pipe", "pipe">);
      expect(out.stdout.trim()).toBe("status=0");
      expect(out.stderr).not.toContain("EPIPE");
      expect(out.stderr).not.toContain("Bun v"); // no crash banner
      expect(t.caLogText()).toContain("cncopagent finished: exit status 0 (1 OK");
      expect(t.reports("JF-").length).toBe(1);
    });
  }
});

describe("job ids above 2^53 stay exact", () => {
  test.concurrent("argv, CNCOP_JOBID, lock, report, CA log and history", async () => {
    const t = scratch.track(fakeTree());
    const id = 9007199254740993n;
    const db = new Database(t.dbFile);
    db.query("INSERT INTO BackupJob (jobid, jobtitle, jobtype) VALUES (?, 'huge', 'FAKE'), (9007199254740992, 'neighbour', 'FAKE')").run(id);
    db.close();
    t.script("fakeagent", `d="$CNCOP_HOME/rec/fakeagent-$CNCOP_JOBID-$CNCOP_ATTEMPT"; mkdir -p "$d"; printf '%s\\n' "$0" "$@" > "$d/argv"; env > "$d/env"; pwd > "$d/cwd"; : > "$d/stdin"; ls "$CNCOP_HOME/Spool/Work/locks" > "$d/locks"; exit 0`);
    const r = await t.run("cncopagent", [String(id)]);
    expect(r.exitCode).toBe(0);
    const rec = recorded(t, "fakeagent", id as unknown as number)!;
    expect(rec.argv.at(-1)).toBe(String(id));
    expect(rec.env.CNCOP_JOBID).toBe(String(id));
    expect(readFileSync(nodePath.join(t.root, "rec", `fakeagent-${id}-1`, "locks"), "utf8")).toContain(`job-${id}.json`);
    const jf = readdirSync(nodePath.join(t.root, "Spool", "Messages")).filter((n) => n.startsWith("JF-"));
    expect(jf.length).toBe(1);
    expect(readFileSync(nodePath.join(t.root, "Spool", "Messages", jf[0]!), "utf8")).toContain(`"jobid": ${id},`);
    expect(t.caLogText()).toContain(`job ${id} 'huge'`);
    expect(historyRows(t).map((h) => h.jobid)).toEqual([id]);
    const json = await t.run("cncopjobs", ["--json"]);
    expect(json.stdout).toContain(`"jobid": ${id},`);
  });
});
