/** SPEC §5 "Finish states", re-run backoff, the kill grace, and the exit status. */
import { describe, expect, test } from "bun:test";
import { exitStatusOf, graceFromEnv } from "../../src/dispatcher/dispatch.ts";
import type { JobOutcome, JobStatus } from "../../src/dispatcher/run-job.ts";
import { RETRY_DELAY_CAP_SEC, retryDelaySec, stateOf, type StateVerdict, worstOf } from "../../src/dispatcher/states.ts";
import { KILL_GRACE_MS_DEFAULT, type RunResult } from "../../src/process/process-tree.ts";

function result(over: Partial<RunResult>): RunResult {
  const t = new Date(0);
  return { argv: ["a"], pid: 100, exitCode: 0, signal: null, timedOut: false, interrupted: false, spawnError: undefined, started: t, finished: t, durationMs: 0, ...over };
}

describe("stateOf", () => {
  const cases: [string, Partial<RunResult>, StateVerdict["state"], RegExp][] = [
    ["exit 0", { exitCode: 0 }, "OK", /completed/],
    ["exit 75", { exitCode: 75 }, "RE-RUN", /re-run/],
    ["exit 1", { exitCode: 1 }, "ERROR", /status 1\b/],
    ["exit 2", { exitCode: 2 }, "ERROR", /status 2\b/],
    ["exit 74", { exitCode: 74 }, "ERROR", /status 74/],
    ["exit 76", { exitCode: 76 }, "ERROR", /status 76/],
    ["exit 255", { exitCode: 255 }, "ERROR", /status 255/],
    ["killed by SIGKILL", { exitCode: null, signal: "SIGKILL" }, "ERROR", /SIGKILL/],
    ["killed by SIGSEGV", { exitCode: null, signal: "SIGSEGV" }, "ERROR", /SIGSEGV/],
    ["not startable", { pid: undefined, exitCode: null, spawnError: "EACCES: permission denied" }, "ERROR", /could not be started: EACCES/],
    ["timed out, then killed", { exitCode: null, signal: "SIGKILL", timedOut: true }, "ERROR", /timed out after 600 s/],
    ["timed out, exited 0 on TERM", { exitCode: 0, timedOut: true }, "ERROR", /timed out/],
    ["timed out, exited 75 on TERM", { exitCode: 75, timedOut: true }, "ERROR", /timed out/],
    ["interrupted", { exitCode: null, signal: "SIGTERM", interrupted: true }, "ERROR", /interrupted/],
  ];
  for (const [name, over, state, reason] of cases) {
    test(name, () => {
      const v = stateOf(result(over), 600);
      expect(v.state).toBe(state);
      expect(v.reason).toMatch(reason);
    });
  }
});

describe("worstOf: ERROR over RE-RUN over OK (CCS runs nq and dq)", () => {
  const ok: StateVerdict = { state: "OK", reason: "completed" };
  const rerun: StateVerdict = { state: "RE-RUN", reason: "asked" };
  const error: StateVerdict = { state: "ERROR", reason: "failed" };
  const cases: [StateVerdict[], StateVerdict][] = [
    [[ok, ok], ok],
    [[ok, rerun], rerun],
    [[rerun, ok], rerun],
    [[rerun, rerun], rerun],
    [[ok, error], error],
    [[error, ok], error],
    [[rerun, error], error],
    [[error, rerun], error],
    [[error, error], error],
    [[ok], ok],
  ];
  for (const [input, want] of cases) {
    test(input.map((v) => v.state).join("+"), () => {
      expect(worstOf(input)).toEqual(want);
    });
  }
});

describe("retryDelaySec: retrydelay, doubling per re-run, capped at 3600", () => {
  const cases: [number, number, number][] = [
    [60, 1, 60],
    [60, 2, 120],
    [60, 3, 240],
    [60, 6, 1920],
    [60, 7, 3600],
    [60, 50, 3600],
    [1, 1, 1],
    [1, 2, 2],
    [1, 3, 4],
    [5000, 1, 3600],
    [0, 1, 0],
    [0, 9, 0],
    [3600, 1, 3600],
  ];
  for (const [delay, rerun, want] of cases) {
    test(`retrydelay ${delay}, re-run ${rerun} -> ${want} s`, () => {
      expect(retryDelaySec(delay, rerun)).toBe(want);
    });
  }
  test("the cap is 3600 s", () => {
    expect(RETRY_DELAY_CAP_SEC).toBe(3600);
  });
});

describe("kill grace", () => {
  test("the default grace between SIGTERM and SIGKILL is 30 s", () => {
    expect(KILL_GRACE_MS_DEFAULT).toBe(30_000);
    expect(graceFromEnv({})).toBe(30_000);
  });
  test("CNCOP_KILL_GRACE_MS shortens it (tests); anything else is ignored", () => {
    expect(graceFromEnv({ CNCOP_KILL_GRACE_MS: "500" })).toBe(500);
    expect(graceFromEnv({ CNCOP_KILL_GRACE_MS: "" })).toBe(30_000);
    expect(graceFromEnv({ CNCOP_KILL_GRACE_MS: "-5" })).toBe(30_000);
    expect(graceFromEnv({ CNCOP_KILL_GRACE_MS: "soon" })).toBe(30_000);
  });
});

describe("exitStatusOf: 2, then 1, then 3; interruption 130/143", () => {
  const outcome = (status: JobStatus) => ({ status }) as JobOutcome;
  const cases: [string, JobStatus[], number, string | undefined, number][] = [
    ["all OK", ["OK", "OK"], 0, undefined, 0],
    ["nothing selected", [], 0, undefined, 0],
    ["a failure", ["OK", "ERROR"], 0, undefined, 1],
    ["a skip", ["OK", "SKIPPED"], 0, undefined, 3],
    ["a failure and a skip", ["SKIPPED", "ERROR"], 0, undefined, 1],
    ["an unknown name", ["OK"], 1, undefined, 2],
    ["an unknown name, a failure and a skip", ["ERROR", "SKIPPED"], 2, undefined, 2],
    ["only unknown names", [], 1, undefined, 2],
    ["SIGINT", ["ERROR"], 0, "SIGINT", 130],
    ["SIGTERM", ["OK"], 1, "SIGTERM", 143],
  ];
  for (const [name, statuses, unknown, interrupted, want] of cases) {
    test(name, () => {
      expect(exitStatusOf(statuses.map(outcome), unknown, interrupted)).toBe(want);
    });
  }
});
