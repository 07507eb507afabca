#!/usr/bin/env bun
/**
 * One executable, many programs: the name it is reached under (a hard link in Bin/, made
 * by the build or `cncopagent --link`; CNCOP_PROGRAM when cncopagent starts the reporter
 * under its own executable; or the first argument when run from source) picks the program.
 */
import nodePath from "node:path";
import { escapeControls } from "./format/escape.ts";
import { SUITE_PROGRAMS, type SuiteProgram } from "./cli/program-names.ts";
import { runProgram, type ProgramMain } from "./cli/run-program.ts";
import { guardStandardStreams } from "./cli/closed-output.ts";

export const PROGRAMS: Record<string, () => Promise<ProgramMain>> & Record<SuiteProgram, () => Promise<ProgramMain>> = {
  cncopagent: async () => (await import("./programs/cncopagent.ts")).main,
  cncopreporter: async () => (await import("./programs/cncopreporter.ts")).main,
  cncopjobs: async () => (await import("./programs/cncopjobs.ts")).main,
  w: async () => (await import("./programs/w.ts")).main,
  backupagentcifs: async () => (await import("./programs/backupagentcifs.ts")).main,
  backupagentrsync: async () => (await import("./programs/backupagentrsync.ts")).main,
  backupagentftp: async () => (await import("./programs/backupagentftp.ts")).main,
  backupagentsftp: async () => (await import("./programs/backupagentsftp.ts")).main,
};

/** The programs `bun run build` and `cncopagent --link` link beside the executable. */
export const PROGRAM_NAMES: readonly string[] = SUITE_PROGRAMS;

export function programNameOf(invokedAs: string): string {
  return nodePath.basename(invokedAs.replace(/\\/g, "/")).replace(/\.(exe|cmd|bat)$/i, "").toLowerCase();
}

/**
 * Which program, and its arguments: CNCOP_PROGRAM, else the name the
 * executable was called under (argv0, else the path it was started from), else the first
 * argument. argv[1] is never used: in the compiled executable it is always the bundled
 * entry (`/$bunfs/root/cncopagent`), which would make every unknown name, e.g. an agent
 * link not built yet, run cncopagent.
 */
export function pickProgram(argv: readonly string[], argv0: string, env: Record<string, string | undefined>, execPath = ""): { name: string; args: string[] } {
  const rest = argv.slice(2);
  if (env.CNCOP_PROGRAM) return { name: programNameOf(env.CNCOP_PROGRAM), args: rest };
  const invoked = programNameOf(argv0);
  if (PROGRAMS[invoked]) return { name: invoked, args: rest };
  const started = programNameOf(execPath);
  if (PROGRAMS[started]) return { name: started, args: rest };
  // From source (`bun src/cli.ts cncopagent -a`) or the bare executable: the first argument.
  const first = rest[0];
  if (first !== undefined && PROGRAMS[programNameOf(first)]) return { name: programNameOf(first), args: rest.slice(1) };
  return { name: invoked, args: rest };
}

if (import.meta.main) {
  // A reader that goes away (`| head`) must change neither the jobs nor the exit status.
  guardStandardStreams();
  const { name, args } = pickProgram(process.argv, process.argv0, process.env, process.execPath);
  delete process.env.CNCOP_PROGRAM;
  const load = PROGRAMS[name];
  if (!load) {
    process.stderr.write(
      `cncop: "${escapeControls(name)}" is not a program of this suite. Call it as one of: ${PROGRAM_NAMES.join(", ")} (a link to this executable in Bin/), or pass the program name as the first argument.\n`,
    );
    process.exitCode = 2;
  } else {
    await runProgram(name, args, await load());
  }
}
