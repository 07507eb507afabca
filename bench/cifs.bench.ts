/**
 * backupagentcifs against the tools an administrator would compare it with, side by side
 * in one run: a tree of 20,000 small files and one 1 GB file.
 *
 *   first run (empty destination)   agent vs `cp -a`          limit 1.5x
 *   second run (nothing changed)    agent vs `rsync -a`       limit 2x
 *
 * The agent is the compiled executable (dist/, built if missing) run as cncopagent runs
 * it, start-up included. Each figure is the best of ROUNDS runs (first run; the order of
 * the two alternates) or 3 x ROUNDS runs (second run); `sync` runs before each, so that
 * earlier writes are not flushed inside a measurement. Temporary files live in
 * .bench-tmp/ and are removed at the end. Run: bun bench/cifs.bench.ts [BENCH_ROUNDS=n]
 */
import { Database } from "bun:sqlite";
import { existsSync, linkSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { BACKUPJOB_SCHEMA } from "../src/install/jobs-db.ts";
import { makeSourceTree } from "./common.ts";

const REPO = nodePath.dirname(import.meta.dir);
const SMALL_FILES = 20_000;
const FOLDERS = 200;
const BIG_BYTES = 1024 ** 3;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const base = nodePath.join(REPO, ".bench-tmp", `cifs-${process.pid}`);
const src = nodePath.join(base, "src");

function run(argv: string[], env: Record<string, string> = {}): number {
  Bun.spawnSync(["sync"]);
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}${r.stdout.toString()}`);
  return ms;
}

function makeSource(): void {
  makeSourceTree(src, SMALL_FILES, FOLDERS, BIG_BYTES);
}

function agentTree(destination: string): string[] {
  const dist = nodePath.join(REPO, "dist");
  if (!existsSync(nodePath.join(dist, "backupagentcifs"))) {
    const b = Bun.spawnSync([process.execPath, nodePath.join(REPO, "scripts", "build.ts")], { cwd: REPO, stdout: "inherit", stderr: "inherit" });
    if (b.exitCode !== 0) throw new Error("build failed");
  }
  const root = nodePath.join(base, "root");
  mkdirSync(nodePath.join(root, "Bin"), { recursive: true });
  mkdirSync(nodePath.join(root, "Config"), { recursive: true });
  linkSync(nodePath.join(dist, "backupagentcifs"), nodePath.join(root, "Bin", "backupagentcifs"));
  writeFileSync(nodePath.join(root, "Config", "cncop3.ini"), "[defaults]\n");
  const db = new Database(nodePath.join(root, "Config", "backupjobs.db"), { create: true });
  db.exec(BACKUPJOB_SCHEMA);
  db.query("INSERT INTO BackupJob (jobid, jobtitle, jobtype, source, destination) VALUES (1, 'bench', 'CIFS', ?, ?)").run(src, destination);
  db.close();
  return [nodePath.join(root, "Bin", "backupagentcifs"), "-c", nodePath.join(root, "Config", "cncop3.ini"), "1"];
}

const best = (xs: number[]) => Math.min(...xs);
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function line(what: string, agentMs: number, refName: string, refMs: number, limit: number): boolean {
  const ratio = agentMs / refMs;
  const ok = ratio <= limit;
  console.log(`${what.padEnd(30)} agent ${fmt(agentMs).padStart(8)}   ${refName.padEnd(9)} ${fmt(refMs).padStart(8)}   ratio ${ratio.toFixed(2)}x   limit ${limit}x   ${ok ? "OK" : "OVER"}`);
  return ok;
}

async function main(): Promise<number> {
  mkdirSync(base, { recursive: true });
  try {
    console.log(`backupagentcifs benchmark: ${SMALL_FILES} small files in ${FOLDERS} folders + one ${BIG_BYTES / 1024 ** 3} GB file; ${os.cpus().length} CPU(s), ${os.platform()} ${os.release()}; best of ${ROUNDS}`);
    makeSource();
    const agentDest = nodePath.join(base, "agent");
    const agent = agentTree(agentDest);
    const cpDest = nodePath.join(base, "cp");
    const firstAgent: number[] = [];
    const firstCp: number[] = [];
    // Each copy starts from an empty destination, removed and synced just before; the
    // order alternates, since a copy right after a 1 GB delete is slower on some disks.
    const fresh = (dest: string, argv: string[]) => {
      rmSync(dest, { recursive: true, force: true });
      return run(argv);
    };
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        firstCp.push(fresh(cpDest, ["cp", "-a", src, cpDest]));
        firstAgent.push(fresh(agentDest, agent));
      } else {
        firstAgent.push(fresh(agentDest, agent));
        firstCp.push(fresh(cpDest, ["cp", "-a", src, cpDest]));
      }
    }
    const secondAgent: number[] = [];
    const secondRsync: number[] = [];
    for (let r = 0; r < ROUNDS * 3; r++) {
      secondRsync.push(run(["rsync", "-a", `${src}/`, `${cpDest}/`]));
      secondAgent.push(run(agent));
    }
    const ok1 = line("first run (copy everything)", best(firstAgent), "cp -a", best(firstCp), 1.5);
    const ok2 = line("second run (nothing changed)", best(secondAgent), "rsync -a", best(secondRsync), 2);
    return ok1 && ok2 ? 0 : 1;
  } finally {
    rmSync(base, { recursive: true, force: true });
    try {
      rmdirSync(nodePath.dirname(base));
    } catch {}
  }
}

process.exitCode = await main();
