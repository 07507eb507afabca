/**
 * The programs of the suite: one executable, the others hard links to it under these
 * names (SPEC §1). src/cli.ts maps each name to its module; the build, `--init` and the
 * demo link them.
 */
export const PROGRAM_NAMES = ["cncopagent", "cncopreporter", "cncopjobs", "w", "backupagentcifs", "backupagentrsync"] as const;
export type ProgramName = (typeof PROGRAM_NAMES)[number];

/** The program the others are links to. */
export const MAIN_PROGRAM = "cncopagent";
