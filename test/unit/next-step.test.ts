/** The run loop of one job (SPEC §5 "Finish states", "Pre/post commands", "Interruption"): every decision of nextStep. */
import { describe, expect, test } from "bun:test";
import type { CommandOutcome } from "../../src/dispatcher/commands.ts";
import { deadlineOf, type Ending, nextStep, type RunEvent, type RunRules, type Step } from "../../src/dispatcher/next-step.ts";
import { stateOf, worstOf } from "../../src/dispatcher/states.ts";
import type { RunResult } from "../../src/process/process-tree.ts";

const RULES: RunRules = { problem: undefined, hasPrerun: false, missingAgents: undefined, maxretries: 3, retrydelaySec: 60, maxruntimeSec: 0 };
const MISSING = "agent backupagentrsync not found in /srv/cncop/Bin";

function result(over: Partial<RunResult>): RunResult {
  const t = new Date(0);
  return { argv: ["a"], pid: 100, exitCode: 0, signal: null, timedOut: false, interrupted: false, spawnError: undefined, started: t, finished: t, durationMs: 0, ...over };
}

/** `run` null: nothing was started (a refused command). */
function command(over: Partial<CommandOutcome>, run: Partial<RunResult> | null = {}): CommandOutcome {
  const ok = over.ok ?? true;
  const r = run === null ? undefined : result(run);
  return { kind: "prerun", commandLine: "pre.sh", ok, refused: undefined, result: r, stderrHead: new Uint8Array(0), description: "exited with status 0", ...over };
}

/** Attempt `n` ended with these agent results (CCS has two), the verdict as the executor computes it. */
function attempt(n: number, runs: Partial<RunResult>[], more: Partial<Extract<RunEvent, { type: "attempt-ended" }>> = {}): RunEvent {
  const results = runs.map(result);
  const verdicts = results.map((r) => stateOf(r, 600));
  const verdict = worstOf(verdicts);
  const exitcode = (results[verdicts.indexOf(verdict)] ?? results[0]!).exitCode;
  return { type: "attempt-ended", attempt: { n, verdict, results, exitcode }, interruptedBy: undefined, nowMs: 1_000_000, deadlineMs: undefined, ...more };
}

function ending(status: "OK" | "ERROR", reason: string, over: Partial<Ending> = {}): Ending {
  return { status, reason, logReason: false, exception: undefined, finishReport: status === "ERROR", ...over };
}
const postfailure = (reason: string, over: Partial<Ending> = {}): Step => ({ do: "post", kind: "postfailure", ending: ending("ERROR", reason, over) });
const postsuccess = (reason: string): Step => ({ do: "post", kind: "postsuccess", ending: ending("OK", reason, { agentWords: "reason" }) });
const attemptStep = (n: number, maxAttempts = 4): Step => ({ do: "attempt", n, maxAttempts });
const agentJE = (exitcode: number | null, message: string) => ({ source: "agent" as const, exitcode, message });

type Row = [string, Partial<RunRules>, RunEvent, Step];

const startRows: Row[] = [
  ["no prerun: attempt 1 of maxretries + 1", {}, { type: "start", interruptedBy: undefined }, attemptStep(1)],
  ["maxretries 0: attempt 1 of 1", { maxretries: 0 }, { type: "start", interruptedBy: undefined }, attemptStep(1, 1)],
  ["a prerun runs first", { hasPrerun: true }, { type: "start", interruptedBy: undefined }, { do: "prerun" }],
  [
    "a row that cannot run: JE (dispatcher), postfailure, JF",
    { problem: "unknown job type NOPE", hasPrerun: true },
    { type: "start", interruptedBy: undefined },
    postfailure("unknown job type NOPE", { logReason: true, exception: { source: "dispatcher", exitcode: null, message: "unknown job type NOPE" } }),
  ],
  [
    "a row that cannot run, even when interrupted",
    { problem: "invalid job definition: x" },
    { type: "start", interruptedBy: "SIGTERM" },
    postfailure("invalid job definition: x", { logReason: true, exception: { source: "dispatcher", exitcode: null, message: "invalid job definition: x" } }),
  ],
  ["no prerun, interrupted", {}, { type: "start", interruptedBy: "SIGTERM" }, postfailure("interrupted by SIGTERM before the agent started")],
  [
    "no prerun, a missing agent: JE (agent), postfailure, JF",
    { missingAgents: MISSING },
    { type: "start", interruptedBy: undefined },
    postfailure(MISSING, { logReason: true, exception: agentJE(null, `${MISSING}; install the agent program there or change the job type`) }),
  ],
];

const stderr = (text: string) => new TextEncoder().encode(text);
const prerunRows: Row[] = [
  ["the prerun exited 0", { hasPrerun: true }, { type: "prerun-ended", outcome: command({}), interruptedBy: undefined }, attemptStep(1)],
  ["a dry run only showed the prerun", { hasPrerun: true }, { type: "prerun-ended", outcome: undefined, interruptedBy: undefined }, attemptStep(1)],
  ["the prerun exited 0, then a signal came", { hasPrerun: true }, { type: "prerun-ended", outcome: command({}), interruptedBy: "SIGINT" }, postfailure("interrupted by SIGINT before the agent started")],
  [
    "the prerun exited 0, an agent is missing",
    { hasPrerun: true, missingAgents: MISSING },
    { type: "prerun-ended", outcome: command({}), interruptedBy: undefined },
    postfailure(MISSING, { logReason: true, exception: agentJE(null, `${MISSING}; install the agent program there or change the job type`) }),
  ],
  [
    "the prerun exited 3: JE with its stderr, the agent does not run",
    { hasPrerun: true },
    { type: "prerun-ended", outcome: command({ ok: false, description: "exited with status 3", stderrHead: stderr("no disk\n") }, { exitCode: 3 }), interruptedBy: undefined },
    postfailure("prerun failed: exited with status 3", { exception: { source: "prerun", exitcode: 3, message: "no disk\n" } }),
  ],
  [
    "the prerun's stderr is cut at 2,048 bytes, never inside a character",
    { hasPrerun: true },
    { type: "prerun-ended", outcome: command({ ok: false, description: "exited with status 1", stderrHead: stderr(`${"x".repeat(2047)}é and more`) }, { exitCode: 1 }), interruptedBy: undefined },
    postfailure("prerun failed: exited with status 1", { exception: { source: "prerun", exitcode: 1, message: "x".repeat(2047) } }),
  ],
  [
    "the prerun was refused",
    { hasPrerun: true },
    { type: "prerun-ended", outcome: command({ ok: false, refused: "outside Bin/", description: "refused: outside Bin/" }, null), interruptedBy: undefined },
    postfailure("prerun failed: refused: outside Bin/", { exception: { source: "prerun", exitcode: null, message: "prerun command refused: outside Bin/" } }),
  ],
  [
    "the prerun timed out",
    { hasPrerun: true },
    {
      type: "prerun-ended",
      outcome: command({ ok: false, description: "timed out after 60 s and was stopped" }, { exitCode: null, signal: "SIGTERM", timedOut: true }),
      interruptedBy: undefined,
    },
    postfailure("prerun failed: timed out after 60 s and was stopped", { exception: { source: "prerun", exitcode: null, message: "" } }),
  ],
  [
    "the prerun was stopped by an interruption: no JE, the JF says so",
    { hasPrerun: true },
    { type: "prerun-ended", outcome: command({ ok: false, description: "interrupted" }, { exitCode: null, signal: "SIGTERM", interrupted: true }), interruptedBy: "SIGINT" },
    postfailure("interrupted by SIGINT during prerun"),
  ],
];

const DEADLINE_RULES = { maxruntimeSec: 600 };
const attemptRows: Row[] = [
  ["exit 0: postsuccess, the agent's own JF stands", {}, attempt(1, [{ exitCode: 0 }]), postsuccess("completed")],
  ["exit 0 on a re-run", {}, attempt(3, [{ exitCode: 0 }]), postsuccess("completed on attempt 3")],
  ["exit 0 just as a signal came keeps its verdict", {}, attempt(1, [{ exitCode: 0 }], { interruptedBy: "SIGTERM" }), postsuccess("completed")],
  ["exit 1: postfailure, the agent's own JF stands", {}, attempt(1, [{ exitCode: 1 }]), postfailure("agent exited with status 1", { finishReport: false, agentWords: "reason" })],
  ["CCS: one OK, one exit 2", {}, attempt(1, [{ exitCode: 0 }, { exitCode: 2 }]), postfailure("agent exited with status 2", { finishReport: false, agentWords: "reason" })],
  ["exit 1 after a signal counts as the interruption", {}, attempt(1, [{ exitCode: 1 }], { interruptedBy: "SIGTERM" }), postfailure("interrupted by SIGTERM")],
  ["exit 75 after a signal counts as the interruption", {}, attempt(2, [{ exitCode: 75 }], { interruptedBy: "SIGHUP" }), postfailure("interrupted by SIGHUP")],
  ["stopped by the interruption", {}, attempt(1, [{ exitCode: null, signal: "SIGTERM", interrupted: true }], { interruptedBy: "SIGINT" }), postfailure("interrupted by SIGINT")],
  [
    "maxruntime passed: JE (agent), no re-run",
    DEADLINE_RULES,
    attempt(2, [{ exitCode: null, signal: "SIGKILL", timedOut: true }]),
    postfailure("timed out after 600 s", { exception: agentJE(null, "timed out after 600 s: the agent's process tree was stopped") }),
  ],
  ["maxruntime passed, the agent exited 75 on TERM", DEADLINE_RULES, attempt(1, [{ exitCode: 75, timedOut: true }]), postfailure("timed out after 600 s", { exception: agentJE(null, "timed out after 600 s: the agent's process tree was stopped") })],
  ["killed by a signal we did not send", {}, attempt(1, [{ exitCode: null, signal: "SIGKILL" }]), postfailure("killed by SIGKILL", { exception: agentJE(null, "killed by SIGKILL") })],
  ["CCS: one agent killed, the other asked for a re-run", {}, attempt(1, [{ exitCode: 75 }, { exitCode: null, signal: "SIGSEGV" }]), postfailure("killed by SIGSEGV", { exception: agentJE(null, "killed by SIGSEGV") })],
  [
    "the agent could not be started",
    {},
    attempt(1, [{ pid: undefined, exitCode: null, spawnError: "EACCES" }]),
    postfailure("could not be started: EACCES", { exception: agentJE(null, "could not be started: EACCES") }),
  ],
  ["exit 75: wait retrydelay, then re-run", {}, attempt(1, [{ exitCode: 75 }]), { do: "wait", rerun: 1, delaySec: 60, ms: 60_000, untilDeadline: false }],
  ["exit 75 again: the delay doubles", {}, attempt(3, [{ exitCode: 75 }]), { do: "wait", rerun: 3, delaySec: 240, ms: 240_000, untilDeadline: false }],
  ["CCS: one OK, one exit 75", { retrydelaySec: 5 }, attempt(1, [{ exitCode: 0 }, { exitCode: 75 }]), { do: "wait", rerun: 1, delaySec: 5, ms: 5_000, untilDeadline: false }],
  ["retrydelay 0: re-run at once", { retrydelaySec: 0 }, attempt(1, [{ exitCode: 75 }]), { do: "wait", rerun: 1, delaySec: 0, ms: 0, untilDeadline: false }],
  [
    "exit 75 with no re-run left",
    {},
    attempt(4, [{ exitCode: 75 }]),
    postfailure("re-runs exhausted: the agent asked for a re-run after 4 attempts (maxretries 3)", { agentWords: "added" }),
  ],
  ["exit 75 with maxretries 0", { maxretries: 0 }, attempt(1, [{ exitCode: 75 }]), postfailure("agent asked for a re-run but maxretries is 0", { agentWords: "added" })],
  [
    "exit 75, the re-run would start before maxruntime",
    DEADLINE_RULES,
    attempt(1, [{ exitCode: 75 }], { nowMs: 1_000_000, deadlineMs: 1_060_001 }),
    { do: "wait", rerun: 1, delaySec: 60, ms: 60_000, untilDeadline: false },
  ],
  [
    "exit 75, the re-run would start just at maxruntime: wait for it, then time out",
    DEADLINE_RULES,
    attempt(1, [{ exitCode: 75 }], { nowMs: 1_000_000, deadlineMs: 1_060_000 }),
    { do: "wait", rerun: 1, delaySec: 60, ms: 60_000, untilDeadline: true },
  ],
  [
    "exit 75, the re-run would start after maxruntime",
    DEADLINE_RULES,
    attempt(2, [{ exitCode: 75 }], { nowMs: 1_000_000, deadlineMs: 1_030_000 }),
    { do: "wait", rerun: 2, delaySec: 120, ms: 30_000, untilDeadline: true },
  ],
  [
    "exit 75 after maxruntime already passed",
    DEADLINE_RULES,
    attempt(1, [{ exitCode: 75 }], { nowMs: 1_000_000, deadlineMs: 999_000 }),
    { do: "wait", rerun: 1, delaySec: 60, ms: 0, untilDeadline: true },
  ],
];

const waitRows: Row[] = [
  ["the delay passed: the next attempt", {}, { type: "wait-ended", rerun: 1, untilDeadline: false, interruptedBy: undefined }, attemptStep(2)],
  ["the third re-run", {}, { type: "wait-ended", rerun: 3, untilDeadline: false, interruptedBy: undefined }, attemptStep(4)],
  ["interrupted while waiting", {}, { type: "wait-ended", rerun: 1, untilDeadline: false, interruptedBy: "SIGHUP" }, postfailure("interrupted by SIGHUP while waiting to re-run")],
  ["maxruntime reached while waiting", DEADLINE_RULES, { type: "wait-ended", rerun: 1, untilDeadline: true, interruptedBy: undefined }, postfailure("timed out after 600 s (waiting to re-run)")],
  [
    "interrupted while waiting for maxruntime",
    DEADLINE_RULES,
    { type: "wait-ended", rerun: 1, untilDeadline: true, interruptedBy: "SIGINT" },
    postfailure("interrupted by SIGINT while waiting to re-run"),
  ],
];

const failing = ending("ERROR", "agent exited with status 1", { finishReport: false });
const postRows: Row[] = [
  ["after postsuccess: stop OK", {}, { type: "post-ended", ending: ending("OK", "completed") }, { do: "stop", ending: ending("OK", "completed") }],
  ["after postfailure: stop with the same ending", {}, { type: "post-ended", ending: failing }, { do: "stop", ending: failing }],
];

for (const [group, rows] of [
  ["start", startRows],
  ["after the prerun", prerunRows],
  ["after an attempt", attemptRows],
  ["after a wait", waitRows],
  ["after the post command", postRows],
] as const) {
  describe(`nextStep: ${group}`, () => {
    for (const [name, rules, event, want] of rows) {
      test(name, () => {
        expect(nextStep({ ...RULES, ...rules }, event)).toEqual(want);
      });
    }
  });
}

describe("deadlineOf: maxruntime counts from the first attempt", () => {
  const cases: [number, number, number | undefined][] = [
    [1_000, 0, undefined],
    [1_000, 1, 2_000],
    [1_000, 600, 601_000],
  ];
  for (const [start, maxruntime, want] of cases) {
    test(`start ${start} ms, maxruntime ${maxruntime} s -> ${want}`, () => {
      expect(deadlineOf(start, maxruntime)).toBe(want);
    });
  }
});
