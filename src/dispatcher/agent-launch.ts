/**
 * How an agent found in Bin/ is started, and whether it can be. On Windows a `.cmd`/`.bat`
 * agent cannot be spawned directly (Bun, like Node since CVE-2024-27980, refuses with
 * EINVAL): it runs through the same `cmd.exe /d /v:off /s /c` wrapper as pre/post commands,
 * every argument quoted for cmd.exe, or not at all when an argument (the config path, the
 * agent's own path) holds what cmd.exe would re-parse. `cncopjobs -t x` asks the same
 * question (`startProblem`) before any job runs.
 */
import { accessSync, closeSync, constants, existsSync, openSync, readSync } from "node:fs";
import { CommandLineError, cmdExeArgv, isBatchFile, windowsCmdExe } from "../process/command-line.ts";
import { confineProgram } from "../process/confine.ts";

export type AgentLaunch = { readonly ok: true; readonly argv: string[]; readonly verbatim: boolean } | { readonly ok: false; readonly reason: string };

/** The argv that starts `argv` (program first) on `platform`: a batch file on Windows through cmd.exe. */
export function agentLaunch(argv: readonly string[], platform: NodeJS.Platform, comspec: string = windowsCmdExe()): AgentLaunch {
  const [program, ...args] = argv;
  if (program === undefined) return { ok: false, reason: "no program" };
  if (platform !== "win32" || !isBatchFile(program)) return { ok: true, argv: [...argv], verbatim: false };
  try {
    return { ok: true, argv: cmdExeArgv(program, args, comspec), verbatim: true };
  } catch (err) {
    if (err instanceof CommandLineError) return { ok: false, reason: `${program} cannot be started safely through cmd.exe: ${err.message}` };
    throw err;
  }
}

/** The first bytes of a file ("" when unreadable). */
function head(file: string, n: number): string {
  try {
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(n);
      const got = readSync(fd, buf, 0, n, 0);
      return buf.subarray(0, got).toString("latin1");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

export interface StartCheck {
  readonly bin: string;
  readonly platform: NodeJS.Platform;
  /** The arguments the agent would get (`-c <config> <jobid>`): a batch agent needs them cmd-safe. */
  readonly args: readonly string[];
  readonly comspec?: string | undefined;
}

/**
 * Why the agent program `program` (found in Bin/) cannot be started, or undefined: it
 * leads outside Bin/ (a link), is not executable (POSIX), is no Windows program (an .exe
 * without the MZ header), or is a batch file that cmd.exe cannot be given safely (or there
 * is no cmd.exe).
 */
export function startProblem(program: string, c: StartCheck): string | undefined {
  const confined = confineProgram(program, c.bin, c.platform);
  if (!confined.ok) return confined.reason;
  if (c.platform !== "win32") {
    try {
      accessSync(program, constants.X_OK);
    } catch {
      return `${program} is not executable (chmod +x it)`;
    }
    return undefined;
  }
  if (isBatchFile(program)) {
    const comspec = c.comspec ?? windowsCmdExe();
    if (!existsSync(comspec)) return `${program} needs ${comspec}, which does not exist`;
    const launch = agentLaunch([program, ...c.args], c.platform, comspec);
    return launch.ok ? undefined : launch.reason;
  }
  if (head(program, 2) !== "MZ") return `${program} is not a Windows program (no MZ header)`;
  return undefined;
}
