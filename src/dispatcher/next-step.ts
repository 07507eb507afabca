/**
 * The run loop of one job as a pure state machine: given the job's rules and what just
 * happened, the next step is to run the prerun, run attempt N, wait and re-run, run the post
 * command, or stop with a final state and reason. The executor (run-job.ts) performs steps
 * and reports back events; every decision of SPEC §5 "Finish states" and
 * "Pre/post commands" is here, table-tested.
 */
import type { RunResult } from "../process/process-tree.ts";
import type { ExceptionSource } from "../reports/report-files.ts";
import { utf8Excerpt } from "../reports/report-files.ts";
import { type CommandOutcome, STDERR_EXCERPT_BYTES } from "./commands.ts";
import { retryDelaySec, type StateVerdict } from "./states.ts";

/** The part of the plan the decisions depend on. */
export interface RunRules {
  /** Why the job cannot run at all (invalid row, unknown type). */
  readonly problem: string | undefined;
  readonly hasPrerun: boolean;
  /** "agent X not found in <Bin>" when an agent program is missing. */
  readonly missingAgents: string | undefined;
  readonly maxretries: number;
  readonly retrydelaySec: number;
  /** Seconds all attempts and the waits between them may take; 0 = no limit. */
  readonly maxruntimeSec: number;
}

export interface Ending {
  readonly status: "OK" | "ERROR";
  readonly reason: string;
  /** The reason also gets a log line of its own before anything else of the ending. */
  readonly logReason: boolean;
  /** The JE- written before the post command. */
  readonly exception: { readonly source: ExceptionSource; readonly exitcode: number | null; readonly message: string } | undefined;
  /** cncopagent writes the JF-: the agent's own last exit does not give the final state. */
  readonly finishReport: boolean;
  /**
   * How the agent's own words (its JF-'s reason, else its last line of stderr) make the
   * final reason (SPEC §9): they are the reason, or are added to it; absent: not used.
   */
  readonly agentWords?: "reason" | "added";
}

export type Step =
  | { readonly do: "prerun" }
  | { readonly do: "attempt"; readonly n: number; readonly maxAttempts: number }
  /** Wait `ms`, then re-run; `untilDeadline`: the re-run would start after maxruntime, so the job times out instead. */
  | { readonly do: "wait"; readonly rerun: number; readonly delaySec: number; readonly ms: number; readonly untilDeadline: boolean }
  | { readonly do: "post"; readonly kind: "postsuccess" | "postfailure"; readonly ending: Ending }
  | { readonly do: "stop"; readonly ending: Ending };

/** An attempt as the decisions need it: each agent's result and the worse verdict. */
export interface AttemptEnd {
  readonly n: number;
  readonly verdict: StateVerdict;
  readonly results: readonly RunResult[];
  /** The exit status of the agent whose verdict decided. */
  readonly exitcode: number | null;
}

/** `interruptedBy`: the signal that interrupted cncopagent, once it has. */
export type RunEvent =
  | { readonly type: "start"; readonly interruptedBy: string | undefined }
  /** `outcome` undefined: nothing ran (a dry run describes the command). */
  | { readonly type: "prerun-ended"; readonly outcome: CommandOutcome | undefined; readonly interruptedBy: string | undefined }
  | { readonly type: "attempt-ended"; readonly attempt: AttemptEnd; readonly interruptedBy: string | undefined; readonly nowMs: number; readonly deadlineMs: number | undefined }
  | { readonly type: "wait-ended"; readonly rerun: number; readonly untilDeadline: boolean; readonly interruptedBy: string | undefined }
  | { readonly type: "post-ended"; readonly ending: Ending };

/** The first attempt's start plus maxruntime; undefined without a limit. */
export function deadlineOf(firstAttemptMs: number, maxruntimeSec: number): number | undefined {
  return maxruntimeSec > 0 ? firstAttemptMs + maxruntimeSec * 1000 : undefined;
}

type EndingExtras = Partial<Pick<Ending, "logReason" | "exception" | "agentWords">>;

function fail(reason: string, finishReport: boolean, extras: EndingExtras = {}): Step {
  return { do: "post", kind: "postfailure", ending: { status: "ERROR", reason, logReason: false, exception: undefined, finishReport, ...extras } };
}

const interrupted = (signal: string, when = "") => fail(`interrupted by ${signal}${when}`, true);

/** After the prerun (or without one): the agents start unless something stops them first. */
function beforeAgents(rules: RunRules, interruptedBy: string | undefined): Step {
  if (interruptedBy !== undefined) return interrupted(interruptedBy, " before the agent started");
  if (rules.missingAgents !== undefined) {
    const message = rules.missingAgents.includes(" refused: ") ? rules.missingAgents : `${rules.missingAgents}; install the agent program there or change the job type`;
    return fail(rules.missingAgents, true, { logReason: true, exception: { source: "agent", exitcode: null, message } });
  }
  return { do: "attempt", n: 1, maxAttempts: rules.maxretries + 1 };
}

function afterPrerun(rules: RunRules, outcome: CommandOutcome | undefined, interruptedBy: string | undefined): Step {
  if (outcome === undefined || outcome.ok) return beforeAgents(rules, interruptedBy);
  // A prerun stopped by an interruption did not fail: the JF says what happened.
  if (outcome.result?.interrupted) return interrupted(interruptedBy ?? "a signal", " during prerun");
  const message = outcome.refused ? `prerun command refused: ${outcome.refused}` : utf8Excerpt(outcome.stderrHead, STDERR_EXCERPT_BYTES);
  return fail(`prerun failed: ${outcome.description}`, true, { exception: { source: "prerun", exitcode: outcome.result?.exitCode ?? null, message } });
}

function afterAttempt(rules: RunRules, e: Extract<RunEvent, { type: "attempt-ended" }>): Step {
  const { n, verdict, results, exitcode } = e.attempt;
  // An agent that completed OK just as a signal came keeps its verdict. Any other end after
  // a signal counts as the interruption (on Windows a console Ctrl-C reaches the agent
  // directly, and it may be gone before we stop it).
  if (results.some((r) => r.interrupted) || (e.interruptedBy !== undefined && verdict.state !== "OK")) return interrupted(e.interruptedBy ?? "a signal");
  if (results.some((r) => r.timedOut)) {
    const reason = `timed out after ${rules.maxruntimeSec} s`;
    return fail(reason, true, { exception: { source: "agent", exitcode: null, message: `${reason}: the agent's process tree was stopped` } });
  }
  const killed = results.some((r) => r.signal !== null && !r.timedOut && !r.interrupted);
  if (killed || results.some((r) => r.pid === undefined)) return fail(verdict.reason, true, { exception: { source: "agent", exitcode, message: verdict.reason } });
  if (verdict.state === "OK") {
    const ending: Ending = { status: "OK", reason: n > 1 ? `completed on attempt ${n}` : "completed", logReason: false, exception: undefined, finishReport: false, agentWords: "reason" };
    return { do: "post", kind: "postsuccess", ending };
  }
  if (verdict.state === "ERROR") return fail(verdict.reason, false, { agentWords: "reason" });
  return rerunOrStop(rules, n, e.nowMs, e.deadlineMs);
}

/** The agent asked for a re-run after attempt `n`. */
function rerunOrStop(rules: RunRules, n: number, nowMs: number, deadlineMs: number | undefined): Step {
  if (n > rules.maxretries) {
    const reason =
      rules.maxretries === 0 ? "agent asked for a re-run but maxretries is 0" : `re-runs exhausted: the agent asked for a re-run after ${n} attempts (maxretries ${rules.maxretries})`;
    return fail(reason, true, { agentWords: "added" });
  }
  const delaySec = retryDelaySec(rules.retrydelaySec, n);
  if (deadlineMs !== undefined && nowMs + delaySec * 1000 >= deadlineMs) {
    return { do: "wait", rerun: n, delaySec, ms: Math.max(0, deadlineMs - nowMs), untilDeadline: true };
  }
  return { do: "wait", rerun: n, delaySec, ms: delaySec * 1000, untilDeadline: false };
}

export function nextStep(rules: RunRules, event: RunEvent): Step {
  switch (event.type) {
    case "start":
      // A row the dispatcher cannot run ends as ERROR like any other failure: under the
      // lock, with a JE, postfailure and a JF.
      if (rules.problem !== undefined) return fail(rules.problem, true, { logReason: true, exception: { source: "dispatcher", exitcode: null, message: rules.problem } });
      return rules.hasPrerun ? { do: "prerun" } : beforeAgents(rules, event.interruptedBy);
    case "prerun-ended":
      return afterPrerun(rules, event.outcome, event.interruptedBy);
    case "attempt-ended":
      return afterAttempt(rules, event);
    case "wait-ended":
      if (event.interruptedBy !== undefined) return interrupted(event.interruptedBy, " while waiting to re-run");
      if (event.untilDeadline) return fail(`timed out after ${rules.maxruntimeSec} s (waiting to re-run)`, true);
      return { do: "attempt", n: event.rerun + 1, maxAttempts: rules.maxretries + 1 };
    case "post-ended":
      return { do: "stop", ending: event.ending };
  }
}
