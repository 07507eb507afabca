/** SPEC §2: root resolution and the install tree, on POSIX and Windows paths. */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { CncopError } from "../../src/cli/errors.ts";
import { ensureTree, makePaths, resolveRoot } from "../../src/install/paths.ts";

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
      spoolLogs: "/r/Spool/Logs",
      work: "/r/Spool/Work",
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
