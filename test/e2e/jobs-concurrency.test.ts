/**
 * Concurrent use of the job database: many `cncopjobs` writers while `cncopagent -a` runs
 * (and more cncopagent requests read the database and write the history) all succeed and
 * leave a sound database; a cncopagent starting while a writer holds its transaction is
 * not blocked.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";

const CONFIG = "[defaults]\ndays_of_logs = 90\n[agents]\nWAITT = fakewait\nOKT = fakeok\n";
const WRITERS = 8;

const scratch = makeScratch();
function setup(): Tree {
  const t = scratch.tree({ config: CONFIG });
  return t;
}

function integrity(file: string): unknown {
  const db = new Database(file, { readonly: true });
  try {
    return db.query("PRAGMA integrity_check").get();
  } finally {
    db.close();
  }
}

describe("concurrent use", () => {
  test("cncopjobs set, add and disable in parallel while cncopagent -a runs", async () => {
    const t = setup();
    t.script("fakewait", 'touch "$CNCOP_HOME/started-$CNCOP_JOBID"; while [ ! -e "$CNCOP_HOME/release" ]; do sleep 0.05; done; exit 0');
    t.script("fakeok", "exit 0");
    for (let i = 1; i <= 3; i++) t.addJob({ jobid: i, jobtitle: `Wait ${i}`, jobtype: "WAITT" });

    const running = scratch.release(t, t.spawn("cncopagent", ["-a"]));
    await waitFor(() => existsSync(nodePath.join(t.root, "started-1")), 30_000, "cncopagent's first agent");

    const writers = Array.from({ length: WRITERS }, (_, i) => {
      const job = String((i % 3) + 1);
      if (i % 4 === 3) return t.run("cncopjobs", ["add", "--title", `Added ${i}`, "--type", "okt", "--maxretries", String(i)]);
      return t.run("cncopjobs", ["set", job, "--settings", JSON.stringify({ writer: i, password: `pw${i}` }), `--${i < 3 ? "maxretries" : "retrydelay"}`, String(i + 10)]);
    });
    // Meanwhile other cncopagent requests read the job database and record skipped runs.
    const readers = [t.run("cncopagent", ["Wait 1"]), t.run("cncopagent", ["1"])];
    const results = await Promise.all(writers);
    for (const r of results) expect([r.exitCode, r.stderr]).toEqual([0, expect.stringMatching(/ (changed|added)/)]);
    const reader = await Promise.all(readers);
    expect(reader.map((r) => r.exitCode)).toEqual([3, 3]);
    expect((await t.run("cncopjobs", ["disable", "Added 3", "Added 7"])).exitCode).toBe(0);

    writeFileSync(nodePath.join(t.root, "release"), "");
    expect(await running.exited).toBe(0);

    expect(integrity(t.dbFile)).toEqual({ integrity_check: "ok" });
    expect(integrity(nodePath.join(t.root, "Spool", "history.db"))).toEqual({ integrity_check: "ok" });
    const jobs = JSON.parse((await t.run("cncopjobs", ["--json", "--show-secrets"])).stdout) as { jobid: number; jobtitle: string; maxretries: number; retrydelay: number; enabled: boolean; settings: { writer?: number } }[];
    expect(jobs.map((j) => j.jobtitle).sort()).toEqual(["Added 3", "Added 7", "Wait 1", "Wait 2", "Wait 3"]);
    // Each set wrote its columns together: a job's settings come from one writer, whose number column is there too.
    expect(jobs.find((j) => j.jobid === 1)!.maxretries).toBe(10);
    expect(jobs.find((j) => j.jobid === 2)!.maxretries).toBe(11);
    expect(jobs.find((j) => j.jobid === 3)!.maxretries).toBe(12);
    for (const j of jobs.filter((x) => x.jobtitle.startsWith("Wait"))) expect([0, 1, 2, 4, 5, 6].filter((i) => i % 3 === j.jobid - 1)).toContain(j.settings.writer!);
    expect(jobs.filter((j) => j.jobtitle.startsWith("Added")).map((j) => j.enabled)).toEqual([false, false]);
    const runs = JSON.parse((await t.run("cncopjobs", ["history", "--json", "--limit", "0"])).stdout) as { jobid: number; status: string }[];
    expect(runs.filter((r) => r.status === "OK").map((r) => r.jobid).sort()).toEqual([1, 2, 3]);
    expect(runs.filter((r) => r.status === "SKIPPED").map((r) => r.jobid)).toEqual([1, 1]);
  }, 60_000);

  test("a cncopagent starting while cncopjobs holds a write transaction is not blocked", async () => {
    const t = setup();
    t.script("fakeok", "exit 0");
    // cncopjobs switches the database to WAL on its first write.
    expect((await t.run("cncopjobs", ["add", "--title", "Quick", "--type", "okt"])).exitCode).toBe(0);
    const writer = new Database(t.dbFile);
    // EXCLUSIVE: what a writer holds while committing; without WAL it would shut readers out.
    writer.exec("BEGIN EXCLUSIVE");
    writer.exec("UPDATE BackupJob SET jobtitle = 'Uncommitted' WHERE jobid = 1");
    try {
      // Blocked, it would wait the 5 s busy timeout and then fail with exit 2.
      const agent = await t.run("cncopagent", ["Quick"]);
      expect([agent.exitCode, agent.stderr.includes("locked")]).toEqual([0, false]);
      const list = await t.run("cncopjobs", ["--json"]);
      expect(JSON.parse(list.stdout)).toMatchObject([{ jobtitle: "Quick", lastRun: { status: "OK" } }]);
      // A second writer waits for the busy timeout, then gives up cleanly with nothing changed.
      const blocked = await t.run("cncopjobs", ["set", "Quick", "--maxretries", "9"]);
      expect(blocked.exitCode).toBe(1);
      expect(blocked.stderr).toContain("is locked by another program for more than 5 s");
      expect(blocked.stderr).toContain("nothing was changed");
    } finally {
      writer.exec("ROLLBACK");
      writer.close();
    }
    const after = await t.run("cncopjobs", ["set", "Quick", "--maxretries", "9", "--json"]);
    expect(JSON.parse(after.stdout)).toMatchObject({ jobtitle: "Quick", maxretries: 9 });
  }, 60_000);
});
