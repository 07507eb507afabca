/**
 * SPEC §4: a BackupJob table written by another program, any optional column missing,
 * opened read-only, never altered. Real SQLite files in a temporary folder.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { BACKUPJOB_SCHEMA, loadJobs, rowToJob } from "../../src/install/jobs-db.ts";
import { usageErrorOf } from "../helpers/errors.ts";

const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-jobsdb-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function dbWith(sql: string): string {
  const file = nodePath.join(dir, `jobs-${n++}.db`);
  const db = new Database(file, { create: true });
  db.exec(sql);
  db.close();
  return file;
}

const errorOf = (fn: () => unknown) => usageErrorOf(fn, "a job database error");

describe("rowToJob", () => {
  test("defaults for every optional column", () => {
    expect(rowToJob({ jobid: 1, jobtitle: "t", jobtype: "rsync" })).toEqual({
      jobid: 1n,
      jobtitle: "t",
      jobtype: "RSYNC",
      enabled: true,
      maxretries: 3,
      retrydelay: 60,
      maxruntime: 0,
      prerun: undefined,
      postsuccess: undefined,
      postfailure: undefined,
      source: undefined,
      destination: undefined,
      settings: {},
      problems: [],
    });
  });

  const enabled: [unknown, boolean][] = [
    [1, true],
    [0, false],
    ["0", false],
    ["1", true],
    [null, true],
    ["false", false],
    ["no", false],
    [2, true],
  ];
  for (const [value, want] of enabled) {
    test(`enabled = ${JSON.stringify(value)}`, () => {
      expect(rowToJob({ jobid: 1, jobtitle: "t", jobtype: "CIFS", enabled: value }).enabled).toBe(want);
    });
  }

  const problems: [Record<string, unknown>, RegExp][] = [
    [{ maxretries: -1 }, /maxretries/],
    [{ maxretries: "many" }, /maxretries/],
    [{ retrydelay: 1.5 }, /retrydelay/],
    [{ maxruntime: -10 }, /maxruntime/],
    [{ settings: "{not json" }, /settings/],
    [{ settings: "[1,2]" }, /settings/],
    [{ jobtype: "  " }, /jobtype/],
  ];
  for (const [over, re] of problems) {
    test(`a bad value is a problem of the job, not a crash: ${JSON.stringify(over)}`, () => {
      const job = rowToJob({ jobid: 1, jobtitle: "t", jobtype: "CIFS", ...over });
      expect(job.problems.join("; ")).toMatch(re);
    });
  }

  test("numbers stored as text are taken", () => {
    const job = rowToJob({ jobid: 1, jobtitle: "t", jobtype: "CIFS", maxretries: "5", retrydelay: " 10 ", maxruntime: "0" });
    expect([job.maxretries, job.retrydelay, job.maxruntime, job.problems]).toEqual([5, 10, 0, []]);
  });
});

describe("loadJobs", () => {
  test("the SPEC schema", () => {
    const file = dbWith(`${BACKUPJOB_SCHEMA};
      INSERT INTO BackupJob (jobid, jobtitle, jobtype, enabled, maxretries, retrydelay, maxruntime, prerun, settings)
      VALUES (4, 'Files', 'cifs', 0, 1, 5, 600, 'prep.cmd --now', '{"exclude":["*.tmp"]}')`);
    const [job] = loadJobs(file);
    expect(job).toMatchObject({ jobid: 4n, jobtitle: "Files", jobtype: "CIFS", enabled: false, maxretries: 1, retrydelay: 5, maxruntime: 600, prerun: "prep.cmd --now", settings: { exclude: ["*.tmp"] } });
  });

  test("a table with only the required columns, made by another program", () => {
    const file = dbWith(`CREATE TABLE BackupJob (jobid INTEGER PRIMARY KEY, jobtitle TEXT NOT NULL UNIQUE, jobtype TEXT NOT NULL);
      INSERT INTO BackupJob VALUES (1, 'a', 'RSYNC'), (2, 'b', 'CCS')`);
    const jobs = loadJobs(file);
    expect(jobs.map((j) => [Number(j.jobid), j.enabled, j.maxretries, j.retrydelay, j.maxruntime])).toEqual([
      [1, true, 3, 60, 0],
      [2, true, 3, 60, 0],
    ]);
  });

  test("some optional columns, other columns of its own, other case in column names", () => {
    const file = dbWith(`CREATE TABLE BackupJob (JobID INTEGER PRIMARY KEY, JobTitle TEXT, JobType TEXT, MaxRetries INTEGER, owner TEXT, lastrun TEXT);
      INSERT INTO BackupJob VALUES (7, 'x', 'sftp', 0, 'ops', '2020-01-01')`);
    const [job] = loadJobs(file);
    expect(job).toMatchObject({ jobid: 7n, jobtitle: "x", jobtype: "SFTP", maxretries: 0, retrydelay: 60 });
  });

  test("a WAL database with committed rows not yet checkpointed, its writer still open", () => {
    const file = nodePath.join(dir, `wal-${n++}.db`);
    const writer = new Database(file, { create: true });
    writer.exec("PRAGMA journal_mode = WAL");
    writer.exec(BACKUPJOB_SCHEMA);
    writer.exec("PRAGMA wal_autocheckpoint = 0");
    writer.exec("INSERT INTO BackupJob (jobid, jobtitle, jobtype) VALUES (1, 'wal job', 'RSYNC')");
    try {
      expect(loadJobs(file).map((j) => j.jobtitle)).toEqual(["wal job"]);
    } finally {
      writer.close();
    }
  });

  test("is never altered: same bytes, no journal left", () => {
    const file = dbWith(`${BACKUPJOB_SCHEMA}; INSERT INTO BackupJob (jobid, jobtitle, jobtype) VALUES (1, 'a', 'CIFS')`);
    const before = readFileSync(file);
    const files = readdirSync(dir).sort();
    loadJobs(file);
    loadJobs(file);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(files);
  });

  const bad: [string, () => string, RegExp][] = [
    ["a missing file names the path and how to create it", () => nodePath.join(dir, "none.db"), /not found.*cncopjobs/],
    ["not a database", () => {
      const f = nodePath.join(dir, `garbage-${n++}.db`);
      writeFileSync(f, "this is not sqlite, just some text that is long enough to have a header ".repeat(20));
      return f;
    }, /not a valid SQLite database/],
    ["an empty database has no BackupJob table", () => dbWith("CREATE TABLE Other (x)"), /no BackupJob table/],
    ["required columns missing", () => dbWith("CREATE TABLE BackupJob (jobid INTEGER PRIMARY KEY, jobtitle TEXT)"), /jobtype/],
    ["a folder", () => {
      const f = nodePath.join(dir, `folder-${n++}.db`);
      mkdirSync(f);
      return f;
    }, /folder/],
  ];
  for (const [name, make, re] of bad) {
    test(name, () => {
      const file = make();
      const e = errorOf(() => loadJobs(file));
      expect(e.message).toContain(file);
      expect(e.message).toMatch(re);
    });
  }

  test("a missing file is not created", () => {
    const file = nodePath.join(dir, "absent.db");
    errorOf(() => loadJobs(file));
    expect(existsSync(file)).toBe(false);
  });
});
