/**
 * The reporter under faults, as units: cncopagent's calls of one run stop after a "not
 * delivered" (and only then), and the check that the spool can be deleted from.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { parseConfigText } from "../../src/install/config.ts";
import { makePaths } from "../../src/install/paths.ts";
import type { LineLog } from "../../src/logs/log-file.ts";
import type { RunResult } from "../../src/process/process-tree.ts";
import { EXIT_UNDELIVERED, INVOKED_BY_ENV } from "../../src/reporter/answer.ts";
import { invokeReporter, newReporterRunState, reporterCommand } from "../../src/reporter/invoke.ts";
import { deleteCheck } from "../../src/reporter/pass.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const paths = makePaths("/opt/cncop");
const config = parseConfigText("[network]\nurl = http://127.0.0.1:9\ntimeout = 5\n", "c.ini");

function memoryLog(): LineLog & { lines: string[] } {
  const lines: string[] = [];
  const sink = { write() {}, end() {}, bytes: 0, tail: () => [] };
  return { path: "", lines, line: (t) => void lines.push(t), sink: () => sink, close() {} };
}

function result(over: Partial<RunResult>): RunResult {
  const now = new Date();
  return { argv: [], pid: 1, exitCode: 0, signal: null, timedOut: false, interrupted: false, spawnError: undefined, started: now, finished: now, durationMs: 12, ...over };
}

describe("cncopagent's reporter calls within one run", () => {
  test.each([
    ["exit 0 (sent, or refused)", result({ exitCode: 0 }), 3],
    ["exit 1 (a failure of its own)", result({ exitCode: 1 }), 3],
    ["killed by a signal", result({ exitCode: null, signal: "SIGKILL" }), 3],
    [`exit ${EXIT_UNDELIVERED} (not delivered)`, result({ exitCode: EXIT_UNDELIVERED }), 1],
    ["stopped at its time limit", result({ exitCode: null, signal: "SIGTERM", timedOut: true }), 1],
  ] as const)("after %s, %p call(s) of 3 run", async (_what, outcome, calls) => {
    const state = newReporterRunState();
    const log = memoryLog();
    let runs = 0;
    for (let i = 0; i < 3; i++) {
      await invokeReporter({ paths, config, log, debug: false, state }, { command: { argv: ["r"], env: {} }, run: async () => (runs++, outcome) });
    }
    expect(runs).toBe(calls);
    const skipped = log.lines.filter((l) => l.startsWith("cncopreporter not run: a report was not delivered earlier in this run ("));
    expect(skipped).toHaveLength(3 - calls);
    for (const l of skipped) expect(l).toEndWith(`; the reports stay in ${paths.messages} for the next run or a scheduled cncopreporter`);
  });

  test("without a run state every call runs", async () => {
    let runs = 0;
    for (let i = 0; i < 2; i++) {
      await invokeReporter({ paths, config, log: memoryLog(), debug: false }, { command: { argv: ["r"], env: {} }, run: async () => (runs++, result({ exitCode: EXIT_UNDELIVERED })) });
    }
    expect(runs).toBe(2);
  });

  test("the reporter is told it runs for cncopagent", () => {
    const c = reporterCommand(paths, false, { compiled: true, execPath: "/opt/cncop/Bin/cncopagent", cliPath: "", platform: "linux", env: { [INVOKED_BY_ENV]: "x", PATH: "/bin" }, isFile: () => true });
    expect(c.env[INVOKED_BY_ENV]).toBe("cncopagent");
    expect(c.env.PATH).toBe("/bin");
  });
});

describe("can the reporter delete from the spool?", () => {
  test("POSIX: access for writing decides, and the error names the folder and the operation", () => {
    expect(deleteCheck("/spool", "linux", () => {})).toBeUndefined();
    const erofs = Object.assign(new Error("EROFS: read-only file system, access '/spool'"), { code: "EROFS" });
    expect(
      deleteCheck("/spool", "linux", () => {
        throw erofs;
      }),
    ).toBe("cannot delete reports in /spool (access for writing): EROFS: read-only file system, access '/spool'");
  });

  test("Windows: a probe file is created and deleted, and nothing is left", () => {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-probe-"));
    dirs.push(dir);
    expect(deleteCheck(dir, "win32")).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
    expect(deleteCheck(nodePath.join(dir, "missing"), "win32")).toMatch(/^cannot delete reports in \S+missing \(create \S+\.cncopreporter-probe-\d+\.tmp\): ENOENT/);
  });
});
