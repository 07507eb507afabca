/** Finish states from process results (SPEC §5 "Finish states"), and re-run backoff. */
import type { RunResult } from "../process/process-tree.ts";
import { exitStatusText } from "../process/exit-status.ts";
import { AGENT_EXIT, type FinishState, isWorse } from "../reports/finish-state.ts";

export const RETRY_DELAY_CAP_SEC = 3600;

export interface StateVerdict {
  readonly state: FinishState;
  /** In words, for the log and the reports. */
  readonly reason: string;
}

export function stateOf(r: RunResult, maxRuntimeSec = 0, platform: NodeJS.Platform = process.platform): StateVerdict {
  if (r.spawnError !== undefined && r.pid === undefined) return { state: "ERROR", reason: `could not be started: ${r.spawnError}` };
  if (r.timedOut) return { state: "ERROR", reason: `timed out after ${maxRuntimeSec} s` };
  if (r.interrupted) return { state: "ERROR", reason: "interrupted" };
  if (r.signal !== null) return { state: "ERROR", reason: `killed by ${r.signal}` };
  if (r.exitCode === 0) return { state: "OK", reason: "completed" };
  if (r.exitCode === AGENT_EXIT.RERUN) return { state: "RE-RUN", reason: "agent asked for a re-run (exit 75)" };
  return { state: "ERROR", reason: `agent exited with status ${exitStatusText(r.exitCode, platform)}` };
}

/** The worse of several verdicts: ERROR over RE-RUN over OK (CCS runs two agents). */
export function worstOf(verdicts: readonly StateVerdict[]): StateVerdict {
  let worst: StateVerdict = { state: "OK", reason: "completed" };
  for (const v of verdicts) if (isWorse(v.state, worst.state)) worst = v;
  return worst;
}

/** Seconds before re-run number `rerun` (1 for the first): retrydelay, doubling, capped. */
export function retryDelaySec(retrydelay: number, rerun: number): number {
  if (retrydelay <= 0) return 0;
  const d = retrydelay * 2 ** Math.max(0, rerun - 1);
  return Math.min(d, RETRY_DELAY_CAP_SEC);
}
