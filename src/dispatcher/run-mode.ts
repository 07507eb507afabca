/**
 * What an invocation does for real, and what a dry run (`-n`) only describes. Decided once
 * from the option; every layer reads its own field instead of asking "is this a dry run?".
 */
export interface RunMode {
  /** Agents get `-n` (they run, and report what they would do). */
  readonly agentsGetDryRunFlag: boolean;
  /** "describe": each pre/post command is logged and shown as it would run, or be refused. */
  readonly commands: "run" | "describe";
  /** "log": a JE-/JF- report cncopagent would write is only logged. */
  readonly reports: "write" | "log";
  /** The job lock (single instance) is taken. */
  readonly takesLock: boolean;
  /** After each job: the run history, cncopreporter, the completion email. */
  readonly afterJob: boolean;
  /** Once at the end: pruning of old logs and history. */
  readonly pruning: boolean;
  /** Written to the CA log at the start, saying what this mode leaves out. */
  readonly logNote: string | undefined;
}

const REAL: RunMode = Object.freeze({ agentsGetDryRunFlag: false, commands: "run", reports: "write", takesLock: true, afterJob: true, pruning: true, logNote: undefined });

const DRY: RunMode = Object.freeze({
  agentsGetDryRunFlag: true,
  commands: "describe",
  reports: "log",
  takesLock: false,
  afterJob: false,
  pruning: false,
  logNote: "dry run: agents get -n; no pre/post command, no email, no log pruning",
});

export function runModeOf(dryrun: boolean): RunMode {
  return dryrun ? DRY : REAL;
}
