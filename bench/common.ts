/** Shared by the benchmarks: the compiled executable, built when missing, and a root for it. */
import { Database } from "bun:sqlite";
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { BACKUPJOB_SCHEMA } from "../src/install/jobs-db.ts";

export const REPO = nodePath.dirname(import.meta.dir);
export const MAIN = nodePath.join(REPO, "dist", "cncopagent");

export function ensureDist(): void {
  if (existsSync(MAIN)) return;
  console.log("dist/cncopagent missing: running `bun run build`");
  const r = Bun.spawnSync([process.execPath, "run", "build"], { cwd: REPO, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error("bun run build failed");
}

export interface BenchRoot {
  readonly root: string;
  readonly bin: string;
  readonly config: string;
}

/** A temporary install tree with the compiled cncopagent in Bin/ and these CIFS jobs. */
export function makeBenchRoot(name: string, jobs: readonly { id: number; title: string }[]): BenchRoot {
  const root = mkdtempSync(nodePath.join(os.tmpdir(), `cncop-${name}-bench-`));
  const bin = nodePath.join(root, "Bin");
  mkdirSync(bin);
  mkdirSync(nodePath.join(root, "Config"));
  const exe = nodePath.join(bin, "cncopagent");
  try {
    linkSync(MAIN, exe);
  } catch {
    copyFileSync(MAIN, exe);
    chmodSync(exe, 0o755);
  }
  const config = nodePath.join(root, "Config", "cncop3.ini");
  writeFileSync(config, "[defaults]\ndays_of_logs = 0\n");
  const db = new Database(nodePath.join(root, "Config", "backupjobs.db"), { create: true });
  db.exec(BACKUPJOB_SCHEMA);
  const insert = db.query("INSERT INTO BackupJob (jobid, jobtitle, jobtype) VALUES (?, ?, 'CIFS')");
  for (const j of jobs) insert.run(j.id, j.title);
  db.close();
  return { root, bin, config };
}
