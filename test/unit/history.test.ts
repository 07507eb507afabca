/** The run history on a real SQLite file in a temporary tree: record, read, last runs, prune. */
import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import type { JobOutcome } from "../../src/dispatcher/run-job.ts";
import { makePaths, type Paths } from "../../src/install/paths.ts";
import { rowToJob } from "../../src/install/jobs-db.ts";
import { HISTORY_SCHEMA_VERSION } from "../../src/history/history-db.ts";
import { DAY_MS, insertRun, lastRuns, pruneHistory, readHistory, recordRun, runFromOutcome, type HistoryRun } from "../../src/history/history.ts";

let root: string;
let paths: Paths;
beforeEach(() => {
  root = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-history-"));
  paths = makePaths(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const NOW = new Date("2026-06-15T12:00:00.000Z");

function run(jobid: number, status: string, finishedDaysAgo: number, extra: Partial<HistoryRun> = {}): HistoryRun {
  const finished = new Date(NOW.getTime() - finishedDaysAgo * DAY_MS);
  return {
    session: crypto.randomUUID(), jobid: BigInt(jobid), jobtitle: `Job ${jobid}`, jobtype: "RSYNC", hostname: "h",
    started: new Date(finished.getTime() - 1000).toISOString(), finished: finished.toISOString(), durationMs: 1000,
    status, reason: status === "OK" ? "completed" : "x", interrupted: false, attempts: [], caLog: "/l/CA.log", ...extra,
  };
}

describe("history", () => {
  test("the duration is the run's own (monotonic), not the difference of wall-clock times", () => {
    const job = rowToJob({ jobid: 7, jobtitle: "Nightly", jobtype: "CIFS" });
    // The wall clock stepped back by an hour during a 5 s run.
    const outcome: JobOutcome = {
      job, session: "s-2", status: "OK", reason: "completed", started: new Date(3_600_000), finished: new Date(5000), durationMs: 5000.4, interrupted: false, outputTail: [], reports: [], attempts: [],
    };
    expect(runFromOutcome(outcome, "", "h").durationMs).toBe(5000);
  });

  test("runFromOutcome records every attempt with its agents' exits", () => {
    const job = rowToJob({ jobid: 7, jobtitle: "Nightly", jobtype: "CCS" });
    const outcome: JobOutcome = {
      job, session: "s-1", status: "OK", reason: "completed on attempt 2", started: new Date(1000), finished: new Date(5500), durationMs: 4500, interrupted: false, outputTail: [], reports: [],
      attempts: [
        { number: 1, started: "a", finished: "b", exitcode: 75, signal: null, agents: [{ agent: "backupagentnq", exitcode: 75, signal: null, state: "RE-RUN", reason: "" }, { agent: "backupagentdq", exitcode: 0, signal: null, state: "OK", reason: "" }] },
        { number: 2, started: "c", finished: "d", exitcode: 0, signal: null, agents: [] },
      ],
    };
    const r = runFromOutcome(outcome, "/root/Logs/CA-x.log", "host1");
    expect(r).toMatchObject({ session: "s-1", jobid: 7n, jobtitle: "Nightly", jobtype: "CCS", hostname: "host1", durationMs: 4500, status: "OK", caLog: "/root/Logs/CA-x.log" });
    expect(r.attempts[0]!.agents.map((a) => a.state)).toEqual(["RE-RUN", "OK"]);
    recordRun(paths, outcome, "/root/Logs/CA-x.log");
    expect(readHistory(paths, { limit: 0 })[0]).toMatchObject({ session: "s-1", attempts: r.attempts, started: new Date(1000).toISOString() });
  });

  test("no file: nothing to read or prune, and no file is made by reading", () => {
    expect(readHistory(paths, { limit: 10 })).toEqual([]);
    expect(lastRuns(paths).size).toBe(0);
    expect(pruneHistory(paths, 30, NOW)).toBe(0);
    expect(Bun.file(paths.history).size).toBe(0);
  });

  test("newest first, filtered by id or title, limited; last runs leave out SKIPPED", () => {
    insertRun(paths, run(1, "OK", 3));
    insertRun(paths, run(1, "ERROR", 2));
    insertRun(paths, run(1, "SKIPPED", 1));
    insertRun(paths, run(2, "OK", 1, { jobtitle: "Other" }));
    expect(readHistory(paths, { limit: 0 }).map((r) => [r.jobid, r.status])).toEqual([[2n, "OK"], [1n, "SKIPPED"], [1n, "ERROR"], [1n, "OK"]]);
    expect(readHistory(paths, { jobids: [1n], limit: 2 }).map((r) => r.status)).toEqual(["SKIPPED", "ERROR"]);
    expect(readHistory(paths, { titles: ["OTHER"], limit: 0 }).map((r) => r.jobid)).toEqual([2n]);
    const last = lastRuns(paths);
    expect([last.get(1n)?.status, last.get(2n)?.status, last.size]).toEqual(["ERROR", "OK", 2]);
  });

  test("prune deletes runs that finished more than N days ago; WAL and schema version are set", () => {
    for (const d of [100, 91, 89, 1]) insertRun(paths, run(1, "OK", d));
    expect(pruneHistory(paths, 90, NOW)).toBe(2);
    expect(readHistory(paths, { limit: 0 }).length).toBe(2);
    expect(pruneHistory(paths, 0, NOW)).toBe(0);
    const db = new Database(paths.history, { readonly: true });
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: HISTORY_SCHEMA_VERSION });
    db.close();
  });

  test("a damaged history file gives a clear error", () => {
    insertRun(paths, run(1, "OK", 1));
    writeFileSync(paths.history, "this is not a database at all, just text".repeat(200));
    rmSync(`${paths.history}-wal`, { force: true });
    rmSync(`${paths.history}-shm`, { force: true });
    expect(() => insertRun(paths, run(1, "OK", 1))).toThrow(/history database .*history\.db is damaged .*move it aside/);
  });
});
