/**
 * `cncopagent --init ROOT`: a working install tree in one step (SPEC §2): the folders, the
 * commented sample `Config/cncop3.ini`, an empty job database, and, when run as the built
 * executable, the executable in `Bin/` with every other program as a hard link beside it
 * (`<program>.exe` on Windows). It never overwrites: when any file it would write exists,
 * it refuses before changing anything.
 */
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, realpathSync, statSync } from "node:fs";
import nodePath from "node:path";
import SAMPLE_CONFIG from "../../Config/cncop3.ini" with { type: "text" };
import { CncopError, EXIT, errorMessage } from "../cli/errors.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { BACKUPJOB_SCHEMA } from "./jobs-db.ts";
import { makePaths } from "./paths.ts";
import { MAIN_PROGRAM, SUITE_PROGRAMS } from "../cli/program-names.ts";

export { SAMPLE_CONFIG };

export interface InitOptions {
  /** The built executable to install into Bin/; undefined when run from source. */
  readonly executable: string | undefined;
  readonly platform?: NodeJS.Platform;
  readonly cwd?: string;
}

export interface InitResult {
  readonly root: string;
  /** What was made, one line each, for the person who asked. */
  readonly done: readonly string[];
}

const initError = (message: string) => new CncopError(message, EXIT.USAGE);

/** The files --init writes in Bin/: the executable first, then its links. */
function binFiles(bin: string, platform: NodeJS.Platform): string[] {
  const ext = platform === "win32" ? ".exe" : "";
  return [MAIN_PROGRAM, ...SUITE_PROGRAMS.filter((n) => n !== MAIN_PROGRAM)].map((n) => nodePath.join(bin, n + ext));
}

export function initTree(target: string, opts: InitOptions): InitResult {
  const platform = opts.platform ?? process.platform;
  if (target.trim() === "") throw initError("--init needs the folder to install into, e.g. cncopagent --init /opt/cncop");
  const root = nodePath.resolve(opts.cwd ?? process.cwd(), target);
  if (existsSync(root) && !statSync(root).isDirectory()) throw initError(`--init ${root}: exists and is not a folder`);
  const paths = makePaths(root);
  const bins = opts.executable ? binFiles(paths.bin, platform) : [];
  const taken = [paths.configFile, paths.jobsDb, ...bins].filter((f) => existsSync(f));
  if (taken.length > 0) {
    throw initError(`--init ${root}: nothing was changed, because ${taken.length > 1 ? "these exist" : "this exists"}: ${taken.join(", ")}. --init never overwrites; choose an empty folder, or move them aside.`);
  }
  const done: string[] = [];
  try {
    for (const dir of [paths.bin, paths.configDir, paths.logs, paths.messages, paths.spoolLogs, paths.work]) mkdirSync(dir, { recursive: true });
    done.push(`folders Bin, Config, Logs, Spool/Messages, Spool/Logs, Spool/Work in ${root}`);
    writeFileAtomic(paths.configFile, SAMPLE_CONFIG);
    done.push(`${paths.configFile}: the sample configuration, every key explained`);
    createEmptyJobsDb(paths.jobsDb);
    done.push(`${paths.jobsDb}: an empty job database (cncopjobs add adds jobs)`);
    if (opts.executable) {
      const [main, ...links] = bins as [string, ...string[]];
      if (realpathSync(opts.executable) !== nodePath.resolve(main)) copyFileSync(opts.executable, main);
      if (platform !== "win32") chmodSync(main, 0o755);
      for (const link of links) linkSync(main, link);
      done.push(`${main} and its links ${links.map((l) => nodePath.basename(l)).join(", ")}`);
    } else {
      done.push(`no programs in ${paths.bin}: run from source, --init has no executable to copy (bun run build, then dist/cncopagent --init)`);
    }
  } catch (err) {
    throw new CncopError(`--init ${root}: ${errorMessage(err)} (made so far: ${done.length ? done.join("; ") : "nothing"})`, EXIT.FAILED);
  }
  return { root, done };
}

/** The SPEC §4 table and nothing else, in a file only its owner can read (0600 on POSIX). */
function createEmptyJobsDb(file: string): void {
  closeSync(openSync(file, "wx", 0o600));
  const db = new Database(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(BACKUPJOB_SCHEMA);
  } finally {
    db.close();
  }
}
