/**
 * What an agent's work returns to the runtime: its finish state (the suite's one
 * vocabulary, src/reports/finish-state.ts), why, and the figures of its reports.
 */
import type { FinishState } from "../reports/finish-state.ts";

/** What an agent's work returns to the runtime. */
export interface AgentResult {
  readonly state: FinishState;
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
export function earlyResult(state: FinishState, reason: string): AgentResult {
  return { state, reason, files: 0, bytes: 0, totals: EMPTY_TOTALS, details: {} };
}
