/**
 * `w -p`: opens logs in a pager. `$PAGER` first, used as given (split like a command
 * line, never through a shell, the files appended); then `less -R -S +G` (raw colour
 * codes, long lines chopped rather than wrapped, start at the end where the newest lines
 * are), `vim -R -n +` (read-only, no swap file, last line), `more`. The pager gets the
 * terminal (inherited stdio); while it runs, Ctrl-C belongs to it, not to w.
 */
import { cmdExeArgv, isBatchFile, splitCommandLine, windowsCmdExe } from "../process/command-line.ts";
import { CncopError, EXIT } from "../cli/errors.ts";

export const FALLBACK_PAGERS: readonly (readonly string[])[] = [
  ["less", "-R", "-S", "+G"],
  ["vim", "-R", "-n", "+"],
  ["more"],
];

export type Which = (command: string) => string | null;

/** The pager's argv (program resolved on PATH), or undefined when none is found. */
export function choosePager(env: Record<string, string | undefined>, which: Which, warn: (text: string) => void): string[] | undefined {
  const pager = env.PAGER?.trim();
  if (pager) {
    let argv: string[] = [];
    try {
      argv = splitCommandLine(pager);
    } catch (err) {
      warn(`PAGER=${JSON.stringify(pager)} cannot be read (${(err as Error).message}); trying ${FALLBACK_PAGERS.map((p) => p[0]).join(", ")}`);
    }
    if (argv.length > 0) {
      const found = which(argv[0]!);
      if (found) return [found, ...argv.slice(1)];
      warn(`PAGER=${JSON.stringify(pager)}: ${argv[0]} not found; trying ${FALLBACK_PAGERS.map((p) => p[0]).join(", ")}`);
    }
  }
  for (const [name, ...args] of FALLBACK_PAGERS) {
    const found = which(name!);
    if (found) return [found, ...args];
  }
  return undefined;
}

export function noPagerError(files: readonly string[]): CncopError {
  return new CncopError(
    `no pager found: set PAGER (e.g. PAGER=less), or install less, vim or more. The log: ${files.join(" ")}`,
    EXIT.USAGE,
  );
}

export interface PagerRun {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/**
 * Run the pager on the files with the terminal. A Ctrl-C meanwhile belongs to the pager, so
 * w ignores SIGINT, and keeps ignoring it afterwards: the pager is the last thing w does, and
 * a SIGINT received during the pager may be handed to JavaScript only after the pager's exit
 * (on a busy machine), when an ignore removed in between would let it end w with 130.
 */
export async function runPager(argv: readonly string[], files: readonly string[]): Promise<PagerRun> {
  process.on("SIGINT", () => {});
  // A pager that is a .cmd/.bat on Windows (Bun refuses to start one directly) runs through
  // cmd.exe with every argument quoted, or not at all when a log path cannot be passed safely.
  const batch = process.platform === "win32" && isBatchFile(argv[0] ?? "");
  let command = [...argv, ...files];
  if (batch) {
    try {
      command = cmdExeArgv(argv[0]!, [...argv.slice(1), ...files], windowsCmdExe());
    } catch (err) {
      throw new CncopError(`the pager ${argv[0]} cannot be started: ${(err as Error).message}`, EXIT.USAGE);
    }
  }
  const proc = Bun.spawn(command, { stdio: ["inherit", "inherit", "inherit"], windowsVerbatimArguments: batch });
  const exitCode = await proc.exited;
  const signal = proc.signalCode === null ? null : String(proc.signalCode);
  return { exitCode: signal ? null : exitCode, signal };
}
