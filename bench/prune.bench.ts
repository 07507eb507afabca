/**
 * Log pruning against `find`, side by side on identical trees (issue "Log retention"):
 *  1. 200,000 files in Spool/Logs/, half expired: pruneLogs at most 1.5x the time of
 *     `find Spool/Logs -maxdepth 1 -name '*.log' -mtime +90 -delete`;
 *  2. 200,000 fresh files, nothing to prune: at most 1.5x the same `find` without -delete.
 * Two identical trees are built; each round times `find` on one and pruneLogs on the other
 * (alternating which goes first), then puts the deleted half back. The medians are
 * compared. Run: `bun bench/prune.bench.ts [files] [rounds]`. Temp trees are removed.
 * The files are empty: a log's size changes only the kernel's work in unlink, the same for
 * both sides, while writing back and freeing 400,000 data blocks per round made the run
 * take many minutes and swamped the comparison with disk noise.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, utimesSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { makePaths, type Paths } from "../src/install/paths.ts";
import { DAY_MS, pruneLogs } from "../src/logs/prune.ts";

const FILES = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const DAYS = 90;
const LIMIT = 1.5;

const base = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-prune-bench-"));
const OLD_S = (Date.now() - (DAYS + 10) * DAY_MS) / 1000;
const FRESH_S = (Date.now() - DAY_MS) / 1000;

const fileName = (i: number) => `AG${i % 97}-2025${String(i).padStart(7, "0")}.log`;

/** Create files number `from`, `from + step`, ... below `to`, last modified at `timeS`. */
function addFiles(paths: Paths, from: number, to: number, step: number, timeS: number): void {
  for (let i = from; i < to; i += step) {
    const p = nodePath.join(paths.spoolLogs, fileName(i));
    closeSync(openSync(p, "w"));
    utimesSync(p, timeS, timeS);
  }
}

function makeTree(name: string): Paths {
  const paths = makePaths(nodePath.join(base, name));
  mkdirSync(paths.spoolLogs, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  return paths;
}

function timeFind(dir: string, del: boolean): number {
  const argv = ["find", dir, "-maxdepth", "1", "-name", "*.log", "-mtime", `+${DAYS}`, ...(del ? ["-delete"] : [])];
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString()}`);
  return ms;
}

async function timePrune(paths: Paths, expect: number): Promise<number> {
  const t0 = performance.now();
  const r = await pruneLogs(paths, DAYS);
  const ms = performance.now() - t0;
  if (r.failed > 0) throw new Error(`pruning failed for ${r.failed} file(s): ${r.errors[0]}`);
  if (r.deleted !== expect) throw new Error(`pruneLogs deleted ${r.deleted} files, expected ${expect}`);
  return ms;
}

const count = (dir: string) => readdirSync(dir).length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

function verdict(label: string, ours: number[], ref: number[]): boolean {
  const ratio = median(ours) / median(ref);
  const ok = ratio <= LIMIT;
  console.log(`${label}:`);
  console.log(`  pruneLogs median ${fmt(median(ours))}  [${ours.map(fmt).join(", ")}]`);
  console.log(`  find      median ${fmt(median(ref))}  [${ref.map(fmt).join(", ")}]`);
  console.log(`  ratio ${ratio.toFixed(2)} (limit ${LIMIT}): ${ok ? "PASS" : "FAIL"}`);
  return ok;
}

/** Run both, alternating which goes first. */
async function sideBySide(round: number, find: () => void, prune: () => Promise<void>): Promise<void> {
  if (round % 2 === 0) {
    find();
    await prune();
  } else {
    await prune();
    find();
  }
}

async function main(): Promise<boolean> {
  const half = Math.ceil(FILES / 2);
  console.log(`prune benchmark: ${FILES} files in Spool/Logs/, ${ROUNDS} round(s), ${os.cpus().length} CPU(s), load ${os.loadavg()[0]!.toFixed(1)}, ${os.tmpdir()}, bun ${Bun.version}`);
  const a = makeTree("find");
  const b = makeTree("prune");
  let t0 = performance.now();
  for (const t of [a, b]) {
    addFiles(t, 1, FILES, 2, FRESH_S); // odd numbers: fresh, they stay throughout
    addFiles(t, 0, FILES, 2, OLD_S); // even numbers: expired
  }
  console.log(`  built 2 x ${FILES} files in ${fmt(performance.now() - t0)}`);

  // 1. Half expired: both delete the same half; then it is put back.
  const pruneMs: number[] = [];
  const findMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) for (const t of [a, b]) addFiles(t, 0, FILES, 2, OLD_S);
    await sideBySide(
      round,
      () => findMs.push(timeFind(a.spoolLogs, true)),
      async () => void pruneMs.push(await timePrune(b, half)),
    );
    if (count(a.spoolLogs) !== FILES - half || count(b.spoolLogs) !== FILES - half) throw new Error("find and pruneLogs left different trees");
  }
  const deleteOk = verdict(`${FILES} files, ${half} expired and deleted`, pruneMs, findMs);

  // 2. Nothing to prune: tree b, its deleted half put back fresh, scanned alternately.
  t0 = performance.now();
  addFiles(b, 0, FILES, 2, FRESH_S);
  rmSync(a.root, { recursive: true, force: true });
  console.log(`  refilled ${half} fresh files in ${fmt(performance.now() - t0)}`);
  const scanPrune: number[] = [];
  const scanFind: number[] = [];
  for (let round = 0; round < ROUNDS * 2; round++) {
    await sideBySide(
      round,
      () => scanFind.push(timeFind(b.spoolLogs, false)),
      async () => void scanPrune.push(await timePrune(b, 0)),
    );
  }
  if (count(b.spoolLogs) !== FILES) throw new Error("a fresh file went missing");
  const scanOk = verdict(`${FILES} fresh files, nothing to prune`, scanPrune, scanFind);
  return deleteOk && scanOk;
}

try {
  if (!(await main())) process.exitCode = 1;
} finally {
  rmSync(base, { recursive: true, force: true });
}
