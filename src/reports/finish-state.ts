/**
 * The finish-state vocabulary of the suite (SPEC §5 "Finish states"), used by the
 * dispatcher, the agents, the run history, mail and `w`: the three states an agent ends
 * with, the exit status that stands for each (the agent contract), and their order.
 * ERROR is worse than RE-RUN, which is worse than OK: when two agents of one job (CCS) or
 * two problems of one run disagree, the worse state decides.
 */
export type FinishState = "OK" | "RE-RUN" | "ERROR";

/** The agent contract's exit statuses: 0 OK, 75 RE-RUN (EX_TEMPFAIL), anything else ERROR. */
export const AGENT_EXIT = Object.freeze({ OK: 0, RERUN: 75, ERROR: 1 } as const);

const SEVERITY: Readonly<Record<FinishState, number>> = { OK: 0, "RE-RUN": 1, ERROR: 2 };

export function exitCodeOf(state: FinishState): number {
  return state === "OK" ? AGENT_EXIT.OK : state === "RE-RUN" ? AGENT_EXIT.RERUN : AGENT_EXIT.ERROR;
}

/** Is `a` strictly worse than `b`? */
export function isWorse(a: FinishState, b: FinishState): boolean {
  return SEVERITY[a] > SEVERITY[b];
}
