/** Shared by the benchmarks: the compiled executable, built when missing, and a root for it. */
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, writeFileSync, writeSync } from "node:fs";
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

/**
 * A source tree for the backup benchmarks: `smallFiles` files of 40 B to 3 KB spread over
 * `folders` folders, and one file `big.bin` of `bigBytes` bytes that does not compress.
 */
export function makeSourceTree(src: string, smallFiles: number, folders: number, bigBytes: number): void {
  const width = String(folders - 1).length;
  for (let d = 0; d < folders; d++) {
    const dir = nodePath.join(src, `folder-${String(d).padStart(width, "0")}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < smallFiles / folders; f++) writeFileSync(nodePath.join(dir, `file-${f}.txt`), `${d}/${f} `.repeat(10 + ((d * 31 + f * 17) % 400)));
  }
  const fd = openSync(nodePath.join(src, "big.bin"), "w");
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let n = 0; n < bigBytes / block.length; n++) {
    block.writeUInt32LE(n, 0);
    writeSync(fd, block);
  }
  closeSync(fd);
}
