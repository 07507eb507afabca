/**
 * One helper makes a temporary install tree (Bin/, Config/cncop3.ini, Config/backupjobs.db)
 * and runs the suite's programs against it: from source by default, the compiled binary
 * when CNCOP_BIN names a folder holding it (e.g. CNCOP_BIN=dist).
 */
import { Database } from "bun:sqlite";
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { BACKUPJOB_SCHEMA } from "../../src/install/jobs-db.ts";

export const REPO = nodePath.resolve(import.meta.dir, "..", "..");
export const CLI = nodePath.join(REPO, "src", "cli.ts");
export const BUN = process.execPath;
export const COMPILED_BIN = process.env.CNCOP_BIN ? nodePath.resolve(REPO, process.env.CNCOP_BIN) : undefined;

export interface JobRow {
  jobid?: number;
  jobtitle: string;
  jobtype: string;
  enabled?: number;
  maxretries?: number;
  retrydelay?: number;
  maxruntime?: number;
  prerun?: string | null;
  postsuccess?: string | null;
  postfailure?: string | null;
  source?: string | null;
  destination?: string | null;
  settings?: string | null;
}

export interface RunOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Tree {
  root: string;
  bin: string;
  configFile: string;
  dbFile: string;
  writeConfig(text: string): void;
  addJob(job: JobRow): number;
  /** Write an executable shell script into Bin/. */
  script(name: string, body: string): string;
  /** argv to run a program of the suite against this tree. */
  argv(program: string, args: string[]): string[];
  run(program: string, args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<RunOutput>;
  spawn(program: string, args: string[], opts?: { env?: Record<string, string> }): Bun.Subprocess<"ignore", "pipe", "pipe">;
  caLogs(): string[];
  caLogText(): string;
  reports(prefix?: string): { name: string; body: Record<string, unknown> }[];
  cleanup(): void;
}

export const DEFAULT_CONFIG = "[defaults]\ndays_of_logs = 90\n";

export interface MakeTreeOptions {
  /** Config/cncop3.ini's text (default DEFAULT_CONFIG). */
  config?: string;
  /** false: no Config/backupjobs.db. */
  createDb?: boolean;
}

/** One BackupJob row (columns as given) into the job database at `dbFile`; its jobid. */
export function insertJob(dbFile: string, job: JobRow): number {
  const db = new Database(dbFile);
  const cols = Object.keys(job);
  const r = db.query(`INSERT INTO BackupJob (${cols.join(",")}) VALUES (${cols.map(() => "?").join(",")})`).run(...(Object.values(job) as (string | number | null)[]));
  db.close();
  return Number(r.lastInsertRowid);
}

export function makeTree(opts: MakeTreeOptions = {}): Tree {
  const root = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-test-"));
  const bin = nodePath.join(root, "Bin");
  const configDir = nodePath.join(root, "Config");
  mkdirSync(bin, { recursive: true });
  mkdirSync(configDir, { recursive: true });
  const configFile = nodePath.join(configDir, "cncop3.ini");
  const dbFile = nodePath.join(configDir, "backupjobs.db");
  writeFileSync(configFile, opts.config ?? DEFAULT_CONFIG);
  if (opts.createDb !== false) {
    const db = new Database(dbFile, { create: true });
    db.exec(BACKUPJOB_SCHEMA);
    db.close();
  }
  if (COMPILED_BIN) {
    for (const name of readdirSync(COMPILED_BIN)) {
      const from = nodePath.join(COMPILED_BIN, name);
      if (statSync(from).isDirectory()) continue; // dist/Config/, cross-built targets
      try {
        linkSync(from, nodePath.join(bin, name));
      } catch {
        // Another file system: a copy (mode kept), never a symlink, which the suite refuses
        // as a program whose real path lies outside Bin/.
        copyFileSync(from, nodePath.join(bin, name));
        chmodSync(nodePath.join(bin, name), statSync(from).mode & 0o7777);
      }
    }
  }
  const tree: Tree = {
    root,
    bin,
    configFile,
    dbFile,
    writeConfig(text) {
      writeFileSync(configFile, text);
    },
    addJob: (job) => insertJob(dbFile, job),
    script(name, body) {
      const p = nodePath.join(bin, name);
      // Unlink first: with CNCOP_BIN, Bin/ holds hard links to the compiled binary, and
      // writing through one would overwrite dist/ itself.
      rmSync(p, { force: true });
      writeFileSync(p, `#!/bin/sh\n${body}\n`);
      chmodSync(p, 0o755);
      return p;
    },
    argv(program, args) {
      if (COMPILED_BIN) return [nodePath.join(bin, program), ...args];
      return [BUN, CLI, program, ...args];
    },
    async run(program, args, o = {}) {
      const proc = tree.spawn(program, args, o);
      const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs ?? 50_000);
      const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      return { exitCode, stdout, stderr };
    },
    spawn(program, args, o = {}) {
      return Bun.spawn(tree.argv(program, args), {
        cwd: root,
        env: { ...process.env, CNCOP_HOME: root, NO_COLOR: "1", ...o.env },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
    },
    caLogs() {
      const dir = nodePath.join(root, "Logs");
      return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("CA-")).sort() : [];
    },
    caLogText() {
      return tree.caLogs().map((n) => readFileSync(nodePath.join(root, "Logs", n), "utf8")).join("");
    },
    reports(prefix) {
      const dir = nodePath.join(root, "Spool", "Messages");
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .filter((n) => n.endsWith(".json") && !n.startsWith(".") && (!prefix || n.startsWith(prefix)))
        .sort()
        .map((name) => ({ name, body: JSON.parse(readFileSync(nodePath.join(dir, name), "utf8")) as Record<string, unknown> }));
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return tree;
}

/** Poll until `check` is true, or fail after `timeoutMs`: readiness without sleeping and hoping. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = "condition"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
