/**
 * The three finish states of an agent (SPEC §5) and their exit statuses. ERROR is worse
 * than RE-RUN, which is worse than OK: a run that met both an unreadable file and a file
 * that vanished ends ERROR, because a re-run would not cure the unreadable one.
 */
export type AgentState = "OK" | "RE-RUN" | "ERROR";

export const AGENT_EXIT = { OK: 0, RERUN: 75, ERROR: 1 } as const;

const SEVERITY: Record<AgentState, number> = { OK: 0, "RE-RUN": 1, ERROR: 2 };

export function exitCodeOf(state: AgentState): number {
  return state === "OK" ? AGENT_EXIT.OK : state === "RE-RUN" ? AGENT_EXIT.RERUN : AGENT_EXIT.ERROR;
}

/** The state an exit status stands for (for attempts read back from a log). */
export function stateOfExitCode(code: number): AgentState {
  return code === AGENT_EXIT.OK ? "OK" : code === AGENT_EXIT.RERUN ? "RE-RUN" : "ERROR";
}

export function worseState(a: AgentState, b: AgentState): AgentState {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** What an agent's work returns to the runtime. */
export interface AgentResult {
  readonly state: AgentState;
  /** Why, in words: the JF- report's reason and the last log line. */
  readonly reason: string;
  /** Files transferred (copied) by this run: the FINISH line's `files`. */
  readonly files: number;
  /** Bytes of those files: the FINISH line's `bytes`. */
  readonly bytes: number;
  /** Counters common to the agents (see docs/agents.md, "JS- report"). */
  readonly totals: AgentTotals;
  /** Agent-specific figures for the JS- report. */
  readonly details: Readonly<Record<string, number | string | boolean | null>>;
}

export interface AgentTotals {
  /** Files found at the source (regular files and links). */
  readonly filesTotal: number;
  readonly bytesTotal: number;
  readonly filesUnchanged: number;
  readonly filesDeleted: number;
  readonly filesFailed: number;
  readonly directories: number;
}

export const EMPTY_TOTALS: AgentTotals = Object.freeze({ filesTotal: 0, bytesTotal: 0, filesUnchanged: 0, filesDeleted: 0, filesFailed: 0, directories: 0 });

/** A result for a run that ended before any work (bad settings, missing source...). */
export function earlyResult(state: AgentState, reason: string): AgentResult {
  return { state, reason, files: 0, bytes: 0, totals: EMPTY_TOTALS, details: {} };
}
