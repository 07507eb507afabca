/**
 * The programs of the suite, by the name the one executable is reached under (src/cli.ts
 * maps each to its main; `cncopagent --link` and the build link each beside the executable).
 */
export const SUITE_PROGRAMS = ["cncopagent", "cncopreporter", "cncopjobs", "w", "backupagentcifs", "backupagentrsync", "backupagentftp", "backupagentsftp"] as const;

export type SuiteProgram = (typeof SUITE_PROGRAMS)[number];

/** The program every other name links to: its file is the executable itself. */
export const MAIN_PROGRAM: SuiteProgram = "cncopagent";
