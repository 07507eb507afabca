/**
 * The install tree (SPEC §2). This module alone knows where things live; everything
 * else receives a `Paths` object.
 */
import { existsSync, mkdirSync, realpathSync } from "node:fs";
import nodePath from "node:path";
import { CncopError, EXIT } from "../cli/errors.ts";

export interface Paths {
  readonly root: string;
  readonly bin: string;
  readonly configFile: string;
  readonly configDir: string;
  readonly jobsDb: string;
  readonly logs: string;
  readonly spool: string;
  readonly messages: string;
  readonly spoolLogs: string;
  readonly work: string;
}

export interface RootInputs {
  /** `-c CONFIG` as given, if any. */
  configArg?: string | undefined;
  env?: Record<string, string | undefined>;
  /** The real executable's path (the compiled binary in `Bin/`). */
  execPath?: string;
  cwd?: string;
  path?: typeof nodePath.posix;
}

/**
 * Root resolution: `$CNCOP_HOME` when set; else, when `-c` names a file inside a folder
 * called `Config`, that folder's parent; else the parent of the folder holding the
 * executable.
 */
export function resolveRoot(inputs: RootInputs): string {
  const p = inputs.path ?? nodePath;
  const env = inputs.env ?? process.env;
  const cwd = inputs.cwd ?? process.cwd();
  const home = env.CNCOP_HOME;
  if (home !== undefined && home !== "") return p.resolve(cwd, home);
  if (inputs.configArg) {
    const cfg = p.resolve(cwd, inputs.configArg);
    const dir = p.dirname(cfg);
    if (p.basename(dir).toLowerCase() === "config") return p.dirname(dir);
  }
  const exec = inputs.execPath ?? process.execPath;
  return p.dirname(p.dirname(p.resolve(cwd, exec)));
}

export function makePaths(root: string, configArg?: string, cwd = process.cwd(), p: typeof nodePath.posix = nodePath): Paths {
  const r = p.resolve(cwd, root);
  const spool = p.join(r, "Spool");
  const configFile = configArg ? p.resolve(cwd, configArg) : p.join(r, "Config", "cncop3.ini");
  return Object.freeze({
    root: r,
    bin: p.join(r, "Bin"),
    configFile,
    configDir: p.join(r, "Config"),
    jobsDb: p.join(r, "Config", "backupjobs.db"),
    logs: p.join(r, "Logs"),
    spool,
    messages: p.join(spool, "Messages"),
    spoolLogs: p.join(spool, "Logs"),
    work: p.join(spool, "Work"),
  });
}

/** The executable path of this process; when run from source, the script's location stands in. */
export function selfExecPath(): string {
  if (isCompiled()) return process.execPath;
  // From source: pretend the executable lives in <repo>/dist/ so the root is the repo.
  return nodePath.join(nodePath.dirname(nodePath.dirname(import.meta.dir)), "dist", "cncopagent");
}

export function isCompiled(): boolean {
  const main = Bun.main;
  return main.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(main) || main.startsWith("B:/~BUN/");
}

/** Resolve the tree for a program invocation: root, paths, and the created spool folders. */
export function resolvePaths(configArg: string | undefined, env = process.env): Paths {
  const root = resolveRoot({ configArg, env, execPath: selfExecPath() });
  return makePaths(root, configArg);
}

/** Create missing `Logs/` and `Spool/*` folders (SPEC §2). */
export function ensureTree(paths: Paths): void {
  if (!existsSync(paths.root)) {
    throw new CncopError(
      `The cncop application directory ${paths.root} does not exist. Set CNCOP_HOME or pass -c <root>/Config/cncop3.ini.`,
      EXIT.USAGE,
    );
  }
  for (const dir of [paths.logs, paths.messages, paths.spoolLogs, paths.work]) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new CncopError(`Cannot create folder ${dir}: ${(err as Error).message}. Check the permissions of ${paths.root}.`, EXIT.USAGE);
    }
  }
}

/** Real path, or the path itself when it does not exist. */
export function realOrSelf(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}
