/**
 * cncopagent's options and bad input, end to end: a clear message, exit 2, and nothing
 * run (SPEC §5, issue "Bad input gets a clear message, exit 2, and nothing run").
 */
import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { recordingAgent, recordings } from "./cncopagent-fakes.ts";

// Processes on a busy 2-core machine: room beyond bun's 5 s default, never a sleep. The
// tests run concurrently and each starts cncopagent (from source: a transpiling start-up)
// once or more: under npm test's load one took 29 s, so they get npm test's 60 s.
setDefaultTimeout(60_000);

const USAGE_LINE = "usage: cncopagent [-?] [-d] [-c CONFIG] [-a] [-t TYPE] [--email EMAIL] [job [job ...]]";
const STACK_RE = /\n\s+at /;

// The tests run concurrently: their trees are removed after the file.
const scratch = makeScratch("file");

/** A tree with two runnable jobs whose agent records every run. */
function treeWithJobs(opts: { config?: string; createDb?: boolean } = {}): Tree {
  const t = scratch.tree(opts);
  if (opts.createDb !== false) {
    t.addJob({ jobid: 1, jobtitle: "Alpha", jobtype: "RSYNC" });
    t.addJob({ jobid: 2, jobtitle: "Beta", jobtype: "CIFS" });
  }
  recordingAgent(t, "backupagentrsync");
  recordingAgent(t, "backupagentcifs");
  return t;
}

function expectNothingRun(t: Tree): void {
  expect(recordings(t)).toEqual([]);
  // A run that cannot start leaves one JE- (source dispatcher, no job) and nothing else.
  const reports = t.reports();
  expect(reports.filter((r) => !(r.body.source === "dispatcher" && r.body.jobid === 0))).toEqual([]);
  expect(reports.length).toBeLessThanOrEqual(1);
}

describe("help and version", () => {
  const t = treeWithJobs();
  for (const flag of ["-?", "-h", "--help"]) {
    test(`${flag} prints the usage line and the options, exits 0, runs nothing`, async () => {
      const r = await t.run("cncopagent", [flag]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout.split("\n")[0]).toBe(USAGE_LINE);
      for (const opt of ["--alljobs", "--type", "--email", "--dryrun", "--debug", "--config", "--version"]) expect(r.stdout).toContain(opt);
      expectNothingRun(t);
    });
  }

  test("--version prints the version, exits 0", async () => {
    const r = await t.run("cncopagent", ["--version"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^cncopagent \d+\.\d+\.\d+\S*\n$/);
  });

  test("--help works without a config file or database", async () => {
    const bare = treeWithJobs({ createDb: false });
    rmSync(bare.configFile);
    const r = await bare.run("cncopagent", ["--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toStartWith(USAGE_LINE);
  });
});

describe("usage errors: exit 2, a clear message, nothing run", () => {
  const cases: [string, string[], RegExp][] = [
    ["no selection", [], /no jobs selected/i],
    ["names and --alljobs", ["Alpha", "-a"], /exactly one/i],
    ["names and --type", ["1", "--type", "RSYNC"], /exactly one/i],
    ["--alljobs and --type", ["--alljobs", "-t", "CIFS"], /exactly one/i],
    ["an unknown long option", ["--bogus", "1"], /unknown option --bogus/],
    ["an unknown short option", ["-z", "1"], /unknown option -z/],
    ["a misspelt option", ["--all", "1"], /unknown option --all/],
    ["-t without its type", ["-t"], /-t needs a value/],
    ["-c without its file", ["-a", "-c"], /-c needs a value/],
    ["--link with a job", ["--link", "1"], /--link takes no other option and no job/],
    ["--link with -a", ["--link", "-a"], /--link takes no other option and no job/],
  ];
  for (const [name, args, message] of cases) {
    test.concurrent(name, async () => {
      const t = treeWithJobs();
      const r = await t.run("cncopagent", args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_RE);
      expectNothingRun(t);
    });
  }

  test.concurrent("an unknown option shows the usage line", async () => {
    const t = treeWithJobs();
    const r = await t.run("cncopagent", ["--frobnicate", "-a"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(USAGE_LINE);
  });

  test.concurrent("an unknown --type lists the known types, including those added in [agents]", async () => {
    const t = treeWithJobs({ config: "[agents]\nTAPE = backupagenttape\n" });
    const r = await t.run("cncopagent", ["--type", "floppy"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/FLOPPY/i);
    for (const type of ["CCS", "CIFS", "FTP", "FTPS", "MSSQL", "SFTP", "RSYNC", "WIMG", "TAPE"]) expect(r.stderr).toContain(type);
    expectNothingRun(t);
  });

  test.concurrent("an unknown job name is reported and exits 2, while the known ones still run", async () => {
    const t = treeWithJobs();
    const r = await t.run("cncopagent", ["nosuchjob", "Alpha", "77", "2"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("nosuchjob");
    expect(r.stderr).toContain("77");
    expect(recordings(t)).toEqual(["backupagentcifs-2-1", "backupagentrsync-1-1"]);
    const log = t.caLogText();
    expect(log).toContain("nosuchjob");
    expect(log).toContain('"77"');
  });

  test.concurrent("a name from the command line is data in the error message: shown escaped", async () => {
    const t = treeWithJobs();
    const r = await t.run("cncopagent", ["--unlock", "gh\x1b[2Jost\r"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('cncopagent: --unlock: unknown job "gh\\x1b[2Jost\\r"\n');
  });

  test.concurrent("only unknown names: exit 2, nothing run", async () => {
    const t = treeWithJobs();
    const r = await t.run("cncopagent", ["ghost"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("ghost");
    expectNothingRun(t);
  });
});

describe("configuration errors: exit 2, file, section, key, value, nothing run", () => {
  const cases: [string, string, string[]][] = [
    ["an out-of-range value", "[defaults]\ndays_of_logs = -3\n", ["[defaults]", "days_of_logs", "-3", "whole number"]],
    ["a value of the wrong kind", "[defaults]\ncommand_timeout = soon\n", ["[defaults]", "command_timeout", "soon"]],
    ["an enum out of its set", "[defaults]\nrole = HEALTHY\n", ["[defaults]", "role", "HEALTHY", "REMOTE"]],
    ["a mistyped section header", "[defaults]\nrole = LOCAL\n[mail\nmail_server = smtp.example.com\n", ["line 3", "[mail"]],
    ["a line that is not key = value", "[defaults]\nrole LOCAL\n", ["line 2", "role LOCAL"]],
    ["an agent given as a path", "[agents]\nRSYNC = /usr/bin/rsync\n", ["[agents]", "RSYNC", "/usr/bin/rsync"]],
  ];
  for (const [name, text, parts] of cases) {
    test.concurrent(name, async () => {
      const t = treeWithJobs({ config: text });
      const r = await t.run("cncopagent", ["-a"]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(t.configFile);
      for (const p of parts) expect(r.stderr).toContain(p);
      expect(r.stderr).not.toMatch(STACK_RE);
      expectNothingRun(t);
    });
  }

  test.concurrent("a missing config file: the path and how to create it", async () => {
    const t = treeWithJobs();
    rmSync(t.configFile);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(t.configFile);
    expect(r.stderr).toMatch(/create/i);
    expectNothingRun(t);
  });

  test.concurrent("-c naming a file that does not exist", async () => {
    const t = treeWithJobs();
    const missing = nodePath.join(t.root, "Config", "other.ini");
    const r = await t.run("cncopagent", ["-c", missing, "1"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(missing);
    expectNothingRun(t);
  });

  test.concurrent("an unreadable config (a folder in its place)", async () => {
    const t = treeWithJobs();
    rmSync(t.configFile);
    mkdirSync(t.configFile);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(t.configFile);
    expectNothingRun(t);
  });

  test.concurrent("a binary config file", async () => {
    const t = treeWithJobs();
    writeFileSync(t.configFile, Buffer.from([0x00, 0xff, 0x10, 0x5b]));
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(t.configFile);
    expectNothingRun(t);
  });

  test.concurrent("unknown keys are warnings: the jobs run", async () => {
    const t = treeWithJobs({ config: "[defaults]\ndays_of_log = 30\n" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("days_of_log");
    expect(recordings(t)).toEqual(["backupagentrsync-1-1"]);
    expect(t.caLogText()).toContain("days_of_log");
  });

  test.concurrent("-d adds the stack trace to a failure message; without -d there is none", async () => {
    const t = treeWithJobs({ config: "[defaults]\ndays_of_logs = x\n" });
    const plain = await t.run("cncopagent", ["1"]);
    const debug = await t.run("cncopagent", ["-d", "1"]);
    expect(plain.exitCode).toBe(2);
    expect(debug.exitCode).toBe(2);
    expect(plain.stderr).toContain("days_of_logs");
    expect(plain.stderr).not.toMatch(STACK_RE);
    expect(debug.stderr).toContain("days_of_logs");
    expect(debug.stderr).toMatch(STACK_RE);
  });
});

describe("job database errors: exit 2, the path, nothing run", () => {
  const cases: [string, (t: Tree) => void, RegExp][] = [
    ["missing", (t) => rmSync(t.dbFile), /not found/],
    ["corrupt", (t) => writeFileSync(t.dbFile, Buffer.alloc(8192, 0x5a)), /not a valid SQLite database/],
    ["truncated header", (t) => writeFileSync(t.dbFile, "SQLite format 3\0garbage"), /SQLite|database/i],
    ["without a BackupJob table", (t) => {
      rmSync(t.dbFile);
      const db = new Database(t.dbFile, { create: true });
      db.exec("CREATE TABLE Jobs (jobid INTEGER PRIMARY KEY)");
      db.close();
    }, /BackupJob/],
    ["a BackupJob table without the required columns", (t) => {
      rmSync(t.dbFile);
      const db = new Database(t.dbFile, { create: true });
      db.exec("CREATE TABLE BackupJob (jobid INTEGER PRIMARY KEY, title TEXT, kind TEXT)");
      db.exec("INSERT INTO BackupJob VALUES (1, 'Alpha', 'RSYNC')");
      db.close();
    }, /jobtitle, jobtype/],
  ];
  for (const [name, spoil, message] of cases) {
    test.concurrent(name, async () => {
      const t = treeWithJobs();
      spoil(t);
      const r = await t.run("cncopagent", ["-a"]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(t.dbFile);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_RE);
      expectNothingRun(t);
    });
  }

  test.concurrent("a missing database is not created", async () => {
    const t = treeWithJobs();
    rmSync(t.dbFile);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(2);
    expect(existsSync(t.dbFile)).toBe(false);
  });

  test.concurrent("locked by another program beyond the busy timeout: waits, then exit 2", async () => {
    const t = treeWithJobs();
    const holder = new Database(t.dbFile);
    holder.exec("BEGIN EXCLUSIVE");
    const started = Date.now();
    try {
      // The wait with backoff (5 min by default) is cut short here: docs/cncopagent.md.
      const r = await t.run("cncopagent", ["-a"], { env: { CNCOP_DB_WAIT_MS: "1000" } });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(t.dbFile);
      expect(r.stderr).toMatch(/still locked by another program after waiting/);
      // It waited the busy timeout (5 s) before giving up.
      expect(Date.now() - started).toBeGreaterThanOrEqual(4_500);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expectNothingRun(t);
  });
});
