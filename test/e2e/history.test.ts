/**
 * Run history end to end: real cncopagent runs with fake agents (OK, ERROR, a re-run, a
 * skipped second request) are recorded in Spool/history.db and shown by cncopjobs; the
 * history survives the job database being replaced, and is pruned with the logs.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";

const CONFIG = "[defaults]\ndays_of_logs = 30\n[agents]\nOKT = fakeok\nERRT = fakeerr\nRERUNT = fakererun\nWAITT = fakewait\n";

const E2E_TIMEOUT_MS = 60_000;

const scratch = makeScratch();
function setup(): Tree {
  const t = scratch.tree({ config: CONFIG });
  t.script("fakeok", "echo fine; exit 0");
  t.script("fakeerr", "echo broken >&2; exit 1");
  t.script("fakererun", 'f="$CNCOP_HOME/count-$CNCOP_JOBID"; n=$(cat "$f" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$f"; [ $n -ge 2 ] && exit 0; exit 75');
  t.script("fakewait", 'touch "$CNCOP_HOME/started-$CNCOP_JOBID"; while [ ! -e "$CNCOP_HOME/release" ]; do sleep 0.05; done; exit 0');
  t.addJob({ jobid: 1, jobtitle: "Good", jobtype: "OKT" });
  t.addJob({ jobid: 2, jobtitle: "Bad", jobtype: "ERRT" });
  t.addJob({ jobid: 3, jobtitle: "Flaky", jobtype: "RERUNT", retrydelay: 0, maxretries: 2 });
  t.addJob({ jobid: 4, jobtitle: "Slow", jobtype: "WAITT" });
  return t;
}

interface Run {
  session: string;
  jobid: number;
  jobtitle: string;
  status: string;
  reason: string;
  durationMs: number;
  attempts: { number: number; exitcode: number | null; agents: { agent: string; exitcode: number; state: string }[] }[];
  caLog: string;
}

async function history(t: Tree, ...args: string[]): Promise<Run[]> {
  const r = await t.run("cncopjobs", ["history", "--json", ...args]);
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout) as Run[];
}

describe("run history", () => {
  test("OK, ERROR and a re-run are recorded with attempts, exit statuses and the CA log", async () => {
    const t = setup();
    const agent = await t.run("cncopagent", ["Good", "Bad", "Flaky"]);
    expect(agent.exitCode).toBe(1);
    const runs = await history(t);
    expect(runs.map((r) => [r.jobid, r.jobtitle, r.status, r.reason])).toEqual([
      [3, "Flaky", "OK", "completed on attempt 2"],
      [2, "Bad", "ERROR", "broken"], // the agent's own words: its last line of stderr (SPEC §9)
      [1, "Good", "OK", "completed"],
    ]);
    const flaky = runs[0]!;
    expect(flaky.attempts.map((a) => [a.number, a.exitcode, a.agents[0]!.state])).toEqual([[1, 75, "RE-RUN"], [2, 0, "OK"]]);
    expect(runs[1]!.attempts.map((a) => a.agents[0]!.exitcode)).toEqual([1]);
    const caLog = nodePath.join(t.root, "Logs", t.caLogs()[0]!);
    expect(runs.every((r) => r.caLog === caLog)).toBe(true);
    for (const r of runs) expect(t.caLogText()).toContain(`session ${r.session}`);

    const table = await t.run("cncopjobs", ["history", "flaky"]);
    expect(table.stdout).toMatch(/^STARTED\s+ID\s+TITLE\s+STATE\s+DURATION\s+EXITS\s+REASON\s+LOG$/m);
    expect(table.stdout).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+3\\s+Flaky\\s+OK\\s+\\S+( \\S+)?\\s+75 0\\s+completed on attempt 2\\s+${t.caLogs()[0]!.replace(/\./g, "\\.")}$`, "m"));
    const list = await t.run("cncopjobs", []);
    expect(list.stdout).toMatch(/^ 2\s+Bad\s+ERRT\s+yes\s+3\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+ERROR\s+\S+/m);
    expect(list.stdout).toMatch(/^ 4\s+Slow\s+WAITT\s+yes\s+3\s+never\s+-\s+-$/m);
    const show = await t.run("cncopjobs", ["show", "Bad"]);
    expect(show.stdout).toMatch(/^last run\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: ERROR \(broken\) after .*, session /m);

    expect((await history(t, "--limit", "1")).map((r) => r.jobtitle)).toEqual(["Flaky"]);
    const none = await t.run("cncopjobs", ["history", "Slow"]);
    expect([none.exitCode, none.stdout, none.stderr]).toEqual([0, "", "cncopjobs: no runs of job 4 'Slow' recorded (cncopagent records each run; history is kept for days_of_logs days)\n"]);
    const dry = await t.run("cncopagent", ["-n", "Good"]);
    expect(dry.exitCode).toBe(0);
    expect((await history(t)).length).toBe(3);
  }, E2E_TIMEOUT_MS);

  test("a second request while the job runs is recorded as SKIPPED; the table shows the real last run", async () => {
    const t = setup();
    const running = scratch.release(t, t.spawn("cncopagent", ["Slow"]));
    await waitFor(() => existsSync(nodePath.join(t.root, "started-4")), 30_000, "the first run's agent");
    const second = await t.run("cncopagent", ["slow"]);
    expect(second.exitCode).toBe(3);
    writeFileSync(nodePath.join(t.root, "release"), "");
    expect(await running.exited).toBe(0);
    const runs = await history(t, "4");
    expect(runs.map((r) => [r.status, r.attempts.length])).toEqual([["OK", 1], ["SKIPPED", 0]]);
    expect(runs[1]!.reason).toMatch(/^already running since .* as session .* \(pid \d+\)$/);
    const list = JSON.parse((await t.run("cncopjobs", ["--json"])).stdout) as { jobid: number; lastRun: { status: string; session: string } | null }[];
    expect(list.find((j) => j.jobid === 4)!.lastRun).toMatchObject({ status: "OK", session: runs[0]!.session });
  }, E2E_TIMEOUT_MS);

  test("the history survives the job database being replaced, and is pruned with the logs", async () => {
    const t = setup();
    expect((await t.run("cncopagent", ["Good", "Bad"])).exitCode).toBe(1);
    // Another program replaces the job database: other titles, fewer columns.
    for (const suffix of ["", "-wal", "-shm"]) rmSync(t.dbFile + suffix, { force: true });
    const db = new Database(t.dbFile, { create: true });
    db.exec("CREATE TABLE BackupJob (jobid INTEGER PRIMARY KEY, jobtitle TEXT NOT NULL UNIQUE, jobtype TEXT NOT NULL)");
    db.exec("INSERT INTO BackupJob VALUES (1, 'Renamed', 'OKT'), (9, 'Fresh', 'OKT')");
    db.close();
    expect((await history(t, "good")).map((r) => [r.jobid, r.status])).toEqual([[1, "OK"]]);
    expect((await history(t, "2")).map((r) => r.jobtitle)).toEqual(["Bad"]);
    expect((await history(t, "renamed")).map((r) => r.jobtitle)).toEqual(["Good"]);
    const gone = await t.run("cncopjobs", ["history", "Never there"]);
    expect(gone.exitCode).toBe(2);
    expect(gone.stderr).toContain('unknown job "Never there": no job has that id or title, and the history holds no run of it');

    // Age Good's run beyond days_of_logs (30): the next cncopagent run prunes it.
    const h = new Database(nodePath.join(t.root, "Spool", "history.db"));
    const old = new Date(Date.now() - 40 * 24 * 3600 * 1000).toISOString();
    h.query("UPDATE job_runs SET started = ?, finished = ? WHERE jobid = 1").run(old, old);
    h.close();
    expect((await t.run("cncopagent", ["Fresh"])).exitCode).toBe(0);
    expect(t.caLogText()).toContain("pruned 1 run(s) older than 30 days from the history");
    expect((await history(t)).map((r) => r.jobtitle)).toEqual(["Fresh", "Bad"]);

    // A damaged job database does not hide the history.
    for (const suffix of ["-wal", "-shm"]) rmSync(t.dbFile + suffix, { force: true });
    writeFileSync(t.dbFile, "garbage ".repeat(200));
    const damaged = await t.run("cncopjobs", ["history", "bad"]);
    expect(damaged.exitCode).toBe(0);
    expect(damaged.stderr).toContain("is not a valid SQLite database");
    expect(damaged.stdout).toMatch(/^\S+ \S+\s+2\s+Bad\s+ERROR\s/m);
  }, E2E_TIMEOUT_MS);
});
