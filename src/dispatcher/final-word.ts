/**
 * The last word on a job run: its final reason and who writes its JF- (SPEC §5 "Reports",
 * §9). Where the agent's own exit decided the state, its own words are the reason: the
 * `reason` of its JF- for the session, else its last line of stderr, else the exit status
 * in words. When it wrote no JF- (a crash, a bad command line, an agent of another make),
 * cncopagent writes one, so every run has exactly one. Pure: run-job.ts looks the report
 * up (reports/session-reports.ts) and passes what it found.
 */
import type { SessionFinish } from "../reports/session-reports.ts";
import type { Ending } from "./next-step.ts";

export interface FinalWord {
  readonly reason: string;
  /** cncopagent writes the JF-. */
  readonly writeFinish: boolean;
  /** A log line: the agent wrote no JF- for its session. */
  readonly note: string | undefined;
}

export interface AgentTestimony {
  /** Was the spool (and the reporter's log) looked at? Not in a dry run. */
  readonly checked: boolean;
  /** The agent's JF- of the session, when one was found. */
  readonly found: SessionFinish | undefined;
  /** The deciding agent's last line of stderr. */
  readonly lastWords: string | undefined;
  readonly attempts: number;
  readonly session: string;
}

export function finalWordOf(ending: Ending, t: AgentTestimony): FinalWord {
  if (ending.agentWords === undefined) return { reason: ending.reason, writeFinish: ending.finishReport, note: undefined };
  const fromReport = t.found?.reason?.trim();
  const words = (fromReport ? fromReport : undefined) ?? t.lastWords;
  let reason = ending.reason;
  if (words !== undefined && ending.agentWords === "added") reason = `${ending.reason} (the agent said: ${words})`;
  else if (words !== undefined) reason = ending.status === "OK" && t.attempts > 1 ? `${words} (completed on attempt ${t.attempts})` : words;
  const missing = !ending.finishReport && t.checked && t.found === undefined;
  const note = missing ? `the agent wrote no JF- report for session ${t.session}: cncopagent writes it (${ending.status}: ${reason})` : undefined;
  return { reason, writeFinish: ending.finishReport || missing, note };
}
