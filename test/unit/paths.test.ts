/** SPEC §2: root resolution and the install tree, on POSIX and Windows paths. */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { CncopError } from "../../src/cli/errors.ts";
import {
  CA_LOG_RE,
  caLogName,
  DAILY_LOG_RE,
  dailyLogPath,
  diagnosticLogPath,
  ensureTree,
  jobLockFiles,
  makePaths,
  reporterLockFiles,
  reporterLogPath,
  resolveRoot,
} from "../../src/install/paths.ts";

describe("resolveRoot (POSIX)", () => {
  const p = nodePath.posix;
  const exec = "/opt/cncop/Bin/cncopagent";
  const cases: [string, { configArg?: string; env?: Record<string, string | undefined>; cwd?: string }, string][] = [
    ["$CNCOP_HOME wins over everything", { env: { CNCOP_HOME: "/data/cncop" }, configArg: "/x/Config/cncop3.ini" }, "/data/cncop"],
    ["a relative $CNCOP_HOME is taken from the working folder", { env: { CNCOP_HOME: "cncop" }, cwd: "/home/op" }, "/home/op/cncop"],
    ["an empty $CNCOP_HOME counts as unset", { env: { CNCOP_HOME: "" } }, "/opt/cncop"],
    ["-c inside a folder called Config: its parent", { env: {}, configArg: "/srv/site/Config/cncop3.ini" }, "/srv/site"],
    ["-c relative inside Config", { env: {}, configArg: "Config/test.ini", cwd: "/srv/site" }, "/srv/site"],
    ["-c in a folder called config (any case)", { env: {}, configArg: "/srv/site/config/x.ini" }, "/srv/site"],
    ["-c elsewhere: beside the executable", { env: {}, configArg: "/etc/cncop3.ini" }, "/opt/cncop"],
    ["-c in a folder merely named like Config: beside the executable", { env: {}, configArg: "/srv/MyConfig/x.ini" }, "/opt/cncop"],
    ["nothing given: the parent of the executable's folder", { env: {} }, "/opt/cncop"],
  ];
  for (const [name, inputs, want] of cases) {
    test(name, () => {
      expect(resolveRoot({ env: {}, cwd: "/", execPath: exec, path: p, ...inputs })).toBe(want);
    });
  }
});

describe("resolveRoot (Windows)", () => {
  const p = nodePath.win32 as unknown as typeof nodePath.posix;
  const exec = "C:\\cncop\\Bin\\cncopagent.exe";
  const cases: [string, { configArg?: string; env?: Record<string, string | undefined>; cwd?: string }, string][] = [
    ["beside the executable", {}, "C:\\cncop"],
    ["$CNCOP_HOME", { env: { CNCOP_HOME: "D:\\Backup\\cncop" } }, "D:\\Backup\\cncop"],
    ["-c inside Config", { configArg: "E:\\site\\Config\\cncop3.ini" }, "E:\\site"],
    ["-c inside CONFIG, forward slashes", { configArg: "E:/site/CONFIG/cncop3.ini" }, "E:\\site"],
    ["-c relative", { configArg: "Config\\cncop3.ini", cwd: "F:\\root" }, "F:\\root"],
    ["-c elsewhere", { configArg: "C:\\temp\\x.ini" }, "C:\\cncop"],
  ];
  for (const [name, inputs, want] of cases) {
    test(name, () => {
      expect(resolveRoot({ env: {}, cwd: "C:\\", execPath: exec, path: p, ...inputs })).toBe(want);
    });
  }
});

describe("makePaths", () => {
  test("the SPEC tree under the root", () => {
    expect(makePaths("/r", undefined, "/", nodePath.posix)).toEqual({
      root: "/r",
      bin: "/r/Bin",
      configFile: "/r/Config/cncop3.ini",
      configDir: "/r/Config",
      jobsDb: "/r/Config/backupjobs.db",
      logs: "/r/Logs",
      spool: "/r/Spool",
      messages: "/r/Spool/Messages",
      badMessages: "/r/Spool/Messages/bad",
      spoolLogs: "/r/Spool/Logs",
      work: "/r/Spool/Work",
      locks: "/r/Spool/Work/locks",
      history: "/r/Spool/history.db",
    });
  });

  test("-c CONFIG is made absolute; the job database stays in the root's Config/", () => {
    const paths = makePaths("/r", "alt.ini", "/home/op", nodePath.posix);
    expect(paths.configFile).toBe("/home/op/alt.ini");
    expect(paths.jobsDb).toBe("/r/Config/backupjobs.db");
  });

  test("Windows", () => {
    const paths = makePaths("C:\\cncop", undefined, "C:\\", nodePath.win32 as unknown as typeof nodePath.posix);
    expect(paths.logs).toBe("C:\\cncop\\Logs");
    expect(paths.configFile).toBe("C:\\cncop\\Config\\cncop3.ini");
    expect(paths.messages).toBe("C:\\cncop\\Spool\\Messages");
  });
});

describe("caLogName (local time)", () => {
  const cases: [Date, number, string][] = [
    [new Date(2025, 0, 2, 3, 4, 5), 0, "CA-25-01-02_0304.log"],
    [new Date(2025, 11, 31, 23, 59, 59), 0, "CA-25-12-31_2359.log"],
    [new Date(2000, 5, 15, 0, 0, 0), 0, "CA-00-06-15_0000.log"],
    [new Date(2109, 9, 10, 12, 30), 0, "CA-09-10-10_1230.log"],
    [new Date(2025, 0, 2, 3, 4), 1, "CA-25-01-02_0304-001.log"],
    [new Date(2025, 0, 2, 3, 4), 2, "CA-25-01-02_0304-002.log"],
    [new Date(2025, 0, 2, 3, 4), 42, "CA-25-01-02_0304-042.log"],
    [new Date(2025, 0, 2, 3, 4), 999, "CA-25-01-02_0304-999.log"],
  ];
  for (const [d, suffix, want] of cases) {
    test(want, () => {
      expect(caLogName(d, suffix)).toBe(want);
      expect(CA_LOG_RE.test(want)).toBe(true);
    });
  }

  test("CA_LOG_RE refuses other names", () => {
    for (const n of ["CA-25-01-02_0304.log.1", "CA-25-1-02_0304.log", "XA-25-01-02_0304.log", "CA-25-01-02_0304-01.log", "CA-25-01-02_0304.txt"]) {
      expect(CA_LOG_RE.test(n)).toBe(false);
    }
  });
});

describe("the files of the tree", () => {
  const paths = makePaths("/r", undefined, "/", nodePath.posix);
  const day = new Date(2025, 0, 9, 23, 59);
  const j = (...parts: string[]) => nodePath.join(...parts);
  test.each([
    ["an agent's daily log, by local date", dailyLogPath(paths.spoolLogs, "CIFS", day), j("/r/Spool/Logs", "CIFS-20250109.log")],
    ["cncopagent -d diagnostic log", diagnosticLogPath(paths, day), j("/r/Spool/Logs", "CAD-20250109.log")],
    ["cncopreporter's log", reporterLogPath(paths, day), j("/r/Spool/Logs", "RP-20250109.log")],
    ["a job's lock record", jobLockFiles(paths.locks, 12).record, j("/r/Spool/Work/locks", "job-12.json")],
    ["its guard target (proper-lockfile adds .guard)", jobLockFiles(paths.locks, 12).guard, j("/r/Spool/Work/locks", "job-12")],
    ["the reporter's pass lock", reporterLockFiles(paths.locks).record, j("/r/Spool/Work/locks", "reporter.json")],
    ["its guard target", reporterLockFiles(paths.locks).guard, j("/r/Spool/Work/locks", "reporter")],
    ["the marker asking for another pass", reporterLockFiles(paths.locks).wanted, j("/r/Spool/Work/locks", "reporter.wanted")],
  ])("%s", (_what, got, want) => expect(got).toBe(want));

  test.each([
    ["CIFS-20250109.log", true],
    ["CAD-20250109.log", true],
    ["RP-20250109.log", true],
    ["CIFS-20250109.log.1", false],
    ["CIFS-2025019.log", false],
    ["C-20250109.log", false],
    ["9X-20250109.log", false],
  ])("DAILY_LOG_RE: %p -> %p", (name, want) => expect(DAILY_LOG_RE.test(name)).toBe(want));
});

describe("ensureTree", () => {
  test("creates the missing Logs/ and Spool/ folders", () => {
    const root = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-paths-"));
    try {
      const paths = makePaths(root);
      ensureTree(paths);
      for (const d of [paths.logs, paths.messages, paths.spoolLogs, paths.work]) expect(statSync(d).isDirectory()).toBe(true);
      ensureTree(paths); // and again, when they exist
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a missing root is a clear error", () => {
    const root = nodePath.join(os.tmpdir(), `cncop-missing-${process.pid}-${Date.now()}`);
    expect(() => ensureTree(makePaths(root))).toThrow(CncopError);
    expect(existsSync(root)).toBe(false);
  });

  test("a file where a folder belongs is a clear error naming it", () => {
    const root = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-paths-"));
    try {
      writeFileSync(nodePath.join(root, "Logs"), "not a folder");
      const paths = makePaths(root);
      expect(() => ensureTree(paths)).toThrow(paths.logs);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
