/**
 * The reporter under faults, as units: cncopagent's calls of one run stop after a "not
 * delivered" (and only then), and the check that the spool can be deleted from.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { parseConfigText } from "../../src/install/config.ts";
import { makePaths, reporterLockFiles } from "../../src/install/paths.ts";
import type { LineLog } from "../../src/logs/log-file.ts";
import type { RunResult } from "../../src/process/process-tree.ts";
import { EXIT_UNDELIVERED, INVOKED_BY_ENV, SLOW_ANSWER_MARK } from "../../src/reporter/answer.ts";
import { reporterCommand } from "../../src/reporter/invoke.ts";
import { lineWatcher, ReporterCalls } from "../../src/reporter/run-calls.ts";
import type { RunSpec } from "../../src/process/process-tree.ts";
import { deleteCheck } from "../../src/reporter/pass.ts";
import { IN_MEMORY_BYTES, readReport } from "../../src/reporter/report-file.ts";

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
    const log = memoryLog();
    let runs = 0;
    const reporter = new ReporterCalls({ paths, config, log, debug: false }, { command: { argv: ["r"], env: {} }, run: async () => (runs++, outcome) });
    for (let i = 0; i < 3; i++) {
      reporter.call();
      await reporter.finish();
    }
    expect(runs).toBe(calls);
    const skipped = log.lines.filter((l) => l.startsWith("cncopreporter not run: a report was not delivered earlier in this run ("));
    expect(skipped).toHaveLength(3 - calls);
    for (const l of skipped) expect(l).toEndWith(`; the reports stay in ${paths.messages} for the next run or a scheduled cncopreporter`);
  });

  /** A temporary root: a call while the reporter runs writes the pass lock's "wanted" marker there. */
  function tempPaths() {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-calls-"));
    dirs.push(dir);
    return makePaths(dir, undefined, dir);
  }

  /** A fake reporter run each test ends by hand. */
  function controlled() {
    const runs: { spec: RunSpec; end: (r: RunResult) => void }[] = [];
    const run = (spec: RunSpec) =>
      new Promise<RunResult>((resolve) => {
        runs.push({ spec, end: resolve });
        spec.release?.addEventListener("abort", () => resolve(result({ exitCode: null, released: true })));
      });
    return { runs, run };
  }
  const settled = () => new Promise((r) => setTimeout(r, 5));

  test("a call does not wait; calls while it runs make one more run once it ends", async () => {
    const log = memoryLog();
    const { runs, run } = controlled();
    const calls = { paths: tempPaths() };
    const reporter = new ReporterCalls({ paths: calls.paths, config, log, debug: false }, { command: { argv: ["r"], env: {} }, run });
    reporter.call();
    reporter.call();
    reporter.call();
    await settled();
    expect(runs).toHaveLength(1);
    expect(log.lines.filter((l) => l.includes("is still running: it is run again once it ends"))).toHaveLength(2);
    // The running reporter is asked for another pass too (the pass lock's "wanted" marker).
    expect(existsSync(reporterLockFiles(calls.paths.locks).wanted)).toBe(true);
    let finished = false;
    const end = reporter.finish().then(() => (finished = true));
    runs[0]!.end(result({ exitCode: 0 }));
    await settled();
    expect(runs).toHaveLength(2);
    expect(finished).toBe(false);
    runs[1]!.end(result({ exitCode: 0 }));
    await end;
    expect(runs).toHaveLength(2);
  });

  test("at the end, a reporter that said its server is slow is let go, and cncopagent does not wait", async () => {
    const log = memoryLog();
    const { runs, run } = controlled();
    const reporter = new ReporterCalls({ paths: tempPaths(), config, log, debug: false }, { command: { argv: ["r"], env: {} }, run });
    reporter.call();
    await settled();
    runs[0]!.spec.stdout.write(new TextEncoder().encode(`${SLOW_ANSWER_MARK}no answer yet from http://127.0.0.1:9/submit_jobresults\n`));
    reporter.call();
    await reporter.finish();
    expect(runs[0]!.spec.release?.aborted).toBe(true);
    expect(runs).toHaveLength(1);
    expect(log.lines.some((l) => /^cncopreporter has waited more than 500 ms for an answer from the report server: it finishes its pass on its own \(each request within the \[network\] timeout of 5 s\)/.test(l))).toBe(true);
    // A later call of the same run starts nothing.
    reporter.call();
    await settled();
    expect(runs).toHaveLength(1);
  });

  test("without that word the end of the run waits for the reporter", async () => {
    const log = memoryLog();
    const { runs, run } = controlled();
    const reporter = new ReporterCalls({ paths: tempPaths(), config, log, debug: false }, { command: { argv: ["r"], env: {} }, run });
    reporter.call();
    await settled();
    runs[0]!.spec.stdout.write(new TextEncoder().encode("waiting for nothing: not the mark\n"));
    let finished = false;
    const end = reporter.finish().then(() => (finished = true));
    await settled();
    expect(finished).toBe(false);
    runs[0]!.end(result({ exitCode: 0 }));
    await end;
    expect(runs[0]!.spec.release?.aborted).toBe(false);
  });

  test("letGo (a closed console) lets a running reporter go at once, and later calls start nothing", async () => {
    const log = memoryLog();
    const { runs, run } = controlled();
    const reporter = new ReporterCalls({ paths: tempPaths(), config, log, debug: false }, { command: { argv: ["r"], env: {} }, run });
    await reporter.letGo("nothing runs");
    expect(log.lines).toEqual([]);
    reporter.call();
    await settled();
    await reporter.letGo("the console was closed");
    expect(runs[0]!.spec.release?.aborted).toBe(true);
    expect(log.lines.at(-1)).toMatch(/^the console was closed: cncopreporter finishes its pass on its own, and cncopagent ends without waiting for it$/);
    reporter.call();
    await reporter.finish();
    expect(runs).toHaveLength(1);
  });

  test("the line watcher sees lines split across writes, and passes every byte on", () => {
    const seen: string[] = [];
    const got: number[] = [];
    const w = lineWatcher({ write: (c) => void got.push(c.length), end() {} }, (l) => seen.push(l));
    const enc = new TextEncoder();
    w.write(enc.encode("one\r\nwai"));
    w.write(enc.encode("ting: x\nlast"));
    w.end();
    expect(seen).toEqual(["one", "waiting: x", "last"]);
    expect(got).toEqual([8, 12]);
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

describe("a report larger than IN_MEMORY_BYTES is checked and sent as a stream", () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  function big(text: string, prefix: Buffer = Buffer.alloc(0)): { path: string; size: number } {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-big-"));
    dirs.push(dir);
    const path = nodePath.join(dir, "JS-big.json");
    const bytes = Buffer.concat([prefix, Buffer.from(text)]);
    writeFileSync(path, bytes);
    return { path, size: bytes.length };
  }
  const pad = (n: number) => `"${"é".repeat(n)}"`; // two bytes a character: chunks cut characters

  test("a whole object: the body is the file after its BOM, and jobid and session are kept", async () => {
    const text = `{"jobid":9007199254740993,"session":"s-1","pad":[${pad(700_000)}]}`;
    const f = big(text, BOM);
    expect(f.size).toBeGreaterThan(IN_MEMORY_BYTES);
    const r = await readReport(f.path, f.size);
    if (r.kind !== "ok") throw new Error(JSON.stringify(r));
    expect(r.report).toBeUndefined();
    expect(r.key).toBe("job:9007199254740993");
    expect(r.session).toBe("s-1");
    expect(r.bytes).toBe(f.size - 3);
    expect(await (r.body as Blob).text()).toBe(text);
  });

  test.each([
    ["truncated", `{"jobid":1,"pad":[${pad(700_000)}`, /^not valid JSON \(the text ends inside an open object or array/],
    ["text after the object", `{"pad":[${pad(700_000)}]} {}`, /^not valid JSON \(text after the end of the object/],
    ["an array", `[${pad(700_000)}]`, /a report is one JSON object/],
  ])("%s: bad", async (_what, text, why) => {
    const f = big(text);
    const r = await readReport(f.path, f.size);
    expect(r).toEqual({ kind: "bad", why: expect.stringMatching(why) });
  });

  test("bytes that are not UTF-8 deep inside: bad", async () => {
    const f = big(`{"pad":[${pad(700_000)}]}`);
    const bytes = Buffer.from(await Bun.file(f.path).arrayBuffer());
    bytes[1_000_001] = 0xff;
    writeFileSync(f.path, bytes);
    expect(await readReport(f.path, f.size)).toEqual({ kind: "bad", why: "the file is not UTF-8 text" });
  });

  test("a file that vanished is gone", async () => {
    expect(await readReport(nodePath.join(os.tmpdir(), "cncop-no-such-report.json"), 2 * IN_MEMORY_BYTES)).toEqual({ kind: "gone" });
  });
});
