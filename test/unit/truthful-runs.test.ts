/**
 * The pure and file-level parts of issue 17's truthful runs: a closed output never throws
 * (closed-output), the final reason and who writes the JF- (final-word), finding a
 * session's JF- in the spool or the reporter's log (session-reports), and a killed run's
 * lock record inherited exactly once (job-lock killedRuns).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { guardStream, outputClosed } from "../../src/cli/closed-output.ts";
import { finalWordOf } from "../../src/dispatcher/final-word.ts";
import type { Ending } from "../../src/dispatcher/next-step.ts";
import { lastWordsOf } from "../../src/dispatcher/attempt.ts";
import { findSessionFinish, sentFinishLine } from "../../src/reports/session-reports.ts";
import { reporterLogPath } from "../../src/install/paths.ts";
import { acquireJobLock, type LockOwner } from "../../src/locks/job-lock.ts";
import { stringifyJson } from "../../src/install/job-id.ts";
import { jobDbWaitMs, JOB_DB_WAIT_MS_DEFAULT, loadJobsWaiting } from "../../src/install/jobs-db.ts";

const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-truthful-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("guardStream: a closed reader changes nothing", () => {
  function fakeStream(fail: (n: number) => Error | undefined) {
    const handlers: ((e: unknown) => void)[] = [];
    let calls = 0;
    const written: string[] = [];
    const stream = {
      write: (chunk: string) => {
        const err = fail(++calls);
        if (err) throw err;
        written.push(chunk);
        return true;
      },
      on: (_: string, h: (e: unknown) => void) => handlers.push(h),
    };
    return { stream, written, emit: (e: unknown) => handlers.forEach((h) => h(e)), calls: () => calls };
  }
  const epipe = () => Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE", errno: -32 });

  test("a write that throws EPIPE marks the stream closed; later writes are dropped without trying", () => {
    const f = fakeStream((n) => (n === 2 ? epipe() : undefined));
    guardStream(f.stream as never);
    expect(f.stream.write("a")).toBe(true);
    expect(() => f.stream.write("b")).not.toThrow();
    expect(outputClosed(f.stream)).toBe(true);
    f.stream.write("c");
    expect(f.written).toEqual(["a"]);
    expect(f.calls()).toBe(2);
  });

  test("an asynchronous error event closes it too, never an unhandled error", () => {
    const f = fakeStream(() => undefined);
    guardStream(f.stream as never);
    f.emit(epipe());
    expect(outputClosed(f.stream)).toBe(true);
    f.stream.write("x");
    expect(f.written).toEqual([]);
  });

  test("a programming error (not a system error) is not swallowed", () => {
    const f = fakeStream(() => new TypeError("bad chunk"));
    guardStream(f.stream as never);
    expect(() => f.stream.write("a")).toThrow("bad chunk");
    expect(outputClosed(f.stream)).toBe(false);
  });
});

describe("finalWordOf: the agent's own words, and who writes the JF-", () => {
  const ending = (over: Partial<Ending>): Ending => ({ status: "ERROR", reason: "agent exited with status 1", logReason: false, exception: undefined, finishReport: false, agentWords: "reason", ...over });
  const base = { checked: true, found: undefined, lastWords: undefined, attempts: 1, session: "S" };
  const spool = (reason?: string) => ({ where: "spool" as const, path: "/m/JF-1.json", ...(reason !== undefined ? { reason } : {}) });
  test.each([
    ["its JF- reason first", ending({}), { ...base, found: spool("disk full"), lastWords: "last line" }, "disk full", false],
    ["else its last stderr line, and cncopagent writes the JF-", ending({}), { ...base, lastWords: "no such share" }, "no such share", true],
    ["no words: the exit status in words", ending({}), base, "agent exited with status 1", true],
    ["a JF- already sent by a reporter: none written", ending({}), { ...base, found: { where: "sent" as const, path: "/l/RP.log" }, lastWords: "w" }, "w", false],
    ["OK on a later attempt keeps the attempt", ending({ status: "OK", reason: "completed on attempt 3" }), { ...base, found: spool("3 files copied"), attempts: 3 }, "3 files copied (completed on attempt 3)", false],
    ["re-runs exhausted: the words are added", ending({ reason: "re-runs exhausted", finishReport: true, agentWords: "added" }), { ...base, checked: false, lastWords: "server busy" }, "re-runs exhausted (the agent said: server busy)", true],
    ["cncopagent's own ending: unchanged", ending({ reason: "timed out after 5 s", finishReport: true, agentWords: undefined }), { ...base, lastWords: "x" }, "timed out after 5 s", true],
    ["a dry run does not look: nothing written", ending({}), { ...base, checked: false }, "agent exited with status 1", false],
  ])("%s", (_name, e, t, reason, writes) => {
    const w = finalWordOf(e, t);
    expect(w.reason).toBe(reason);
    expect(w.writeFinish).toBe(writes);
    expect(w.note !== undefined).toBe(!e.finishReport && t.checked && t.found === undefined);
  });

  test.each([
    [["a", "ERROR the source is gone", ""], "the source is gone"],
    [["WARN slow"], "slow"],
    [["   ", "\r"], undefined],
    [[], undefined],
  ])("lastWordsOf %p", (tail, want) => {
    expect(lastWordsOf(tail)).toBe(want);
  });
});

describe("findSessionFinish: the spool, then the reporter's log", () => {
  const paths = { messages: nodePath.join(dir, "Messages"), spoolLogs: nodePath.join(dir, "Logs") };
  mkdirSync(paths.messages, { recursive: true });
  mkdirSync(paths.spoolLogs, { recursive: true });
  const since = new Date();

  test("a JF- of the session in the spool, with its reason; another session's is not it", () => {
    writeFileSync(nodePath.join(paths.messages, "JF-a.json"), JSON.stringify({ type: "jobfinished", session: "other", reason: "x" }));
    writeFileSync(nodePath.join(paths.messages, "JF-b.json"), JSON.stringify({ type: "jobfinished", session: "S1", status: "OK", reason: "done" }));
    writeFileSync(nodePath.join(paths.messages, "JE-c.json"), JSON.stringify({ type: "jobexception", session: "S1" }));
    expect(findSessionFinish(paths, "S1", since)).toMatchObject({ where: "spool", reason: "done", status: "OK" });
    expect(findSessionFinish(paths, "S9", since)).toBeUndefined();
  });

  test("a report named by the suite as written before the run is not read", () => {
    writeFileSync(nodePath.join(paths.messages, "JF-20200101T000000000Z-old.json"), JSON.stringify({ type: "jobfinished", session: "S3", reason: "old" }));
    expect(findSessionFinish(paths, "S3", since)).toBeUndefined();
  });

  test("sent by a reporter: its log line names the session", () => {
    writeFileSync(reporterLogPath(paths), `2026-11-30 10:00:00 INFO ${sentFinishLine("JF-z.json", "S2")} to http://x/submit_jobresults: HTTP 200; deleted\n`);
    expect(findSessionFinish(paths, "S2", since)).toMatchObject({ where: "sent" });
    expect(findSessionFinish(paths, "S22", since)).toBeUndefined();
  });
});

describe("a killed run's lock record is inherited once", () => {
  const lockDir = nodePath.join(dir, "locks");
  const dead = (session: string, extra: Partial<LockOwner> = {}): LockOwner => ({
    version: 1, jobid: 5n, jobtitle: "five", session, hostname: os.hostname(), bootId: "another-boot", started: "2026-11-30T10:00:00.000Z",
    dispatcher: { pid: 1, start: null }, processes: [], token: `t-${session}`, attempts: [{ started: "2026-11-30T10:00:01.000Z", finished: null, exitcode: null, signal: null }], ...extra,
  });

  test("the taker gets it; a second request is busy; a taker killed before settling passes both on", () => {
    mkdirSync(lockDir, { recursive: true });
    writeFileSync(nodePath.join(lockDir, "job-5.json"), stringifyJson(dead("killed-1")));
    const a = acquireJobLock({ lockDir, jobid: 5, jobtitle: "five", session: "A" });
    if (!("held" in a)) throw new Error("not taken over");
    expect(a.held.killedRuns.map((k) => k.session)).toEqual(["killed-1"]);
    expect(a.held.killedRuns[0]!.attempts).toHaveLength(1);
    expect("busy" in acquireJobLock({ lockDir, jobid: 5, jobtitle: "five", session: "B" })).toBe(true);
    // A dies before settling: its record (another boot now) still owes killed-1.
    writeFileSync(nodePath.join(lockDir, "job-5.json"), stringifyJson({ ...a.held.owner, bootId: "another-boot", token: "t-A-dead" }));
    const c = acquireJobLock({ lockDir, jobid: 5, jobtitle: "five", session: "C" });
    if (!("held" in c)) throw new Error("not taken over");
    expect(c.held.killedRuns.map((k) => k.session)).toEqual(["killed-1", "A"]);
    c.held.settleKilledRuns();
    c.held.release();
    const d = acquireJobLock({ lockDir, jobid: 5, jobtitle: "five", session: "D" });
    if (!("held" in d)) throw new Error("not free");
    expect(d.held.killedRuns).toEqual([]);
    d.held.release();
  });
});

describe("loadJobsWaiting: only a busy database is waited for", () => {
  test("any other error is thrown at once, without a wait", async () => {
    const waits: string[] = [];
    const t0 = performance.now();
    await expect(loadJobsWaiting(nodePath.join(dir, "no-such.db"), 60_000, (w) => waits.push(w))).rejects.toThrow("not found");
    expect(waits).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
  test.each([
    [{}, JOB_DB_WAIT_MS_DEFAULT],
    [{ CNCOP_DB_WAIT_MS: "1500" }, 1500],
    [{ CNCOP_DB_WAIT_MS: "0" }, 0],
    [{ CNCOP_DB_WAIT_MS: "soon" }, JOB_DB_WAIT_MS_DEFAULT],
  ])("CNCOP_DB_WAIT_MS %p", (env, want) => {
    expect(jobDbWaitMs(env)).toBe(want);
  });
  test("the documented default is 5 minutes", () => {
    expect(JOB_DB_WAIT_MS_DEFAULT).toBe(300_000);
  });
});
