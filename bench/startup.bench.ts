/**
 * Start-up: `cncopagent --version` of the compiled binary at most 80 ms (issue "cncopagent
 * runs backup jobs: foundation"), and at most 15 ms over an empty program compiled the
 * same way, the runtime's own floor (issue 13: what --version does not need loads lazily).
 * Runs alternate; medians are compared.
 * Run: `bun bench/startup.bench.ts [runs]`. Builds dist/ first when it is missing.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { ensureDist, MAIN } from "./common.ts";

const RUNS = Number(process.argv[2] ?? 30);
const LIMIT_MS = 80;
const OVER_EMPTY_LIMIT_MS = 15;

function timeOnce(argv: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

ensureDist();
const tmp = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-startup-bench-"));
try {
  const src = nodePath.join(tmp, "empty.ts");
  const empty = nodePath.join(tmp, "empty");
  writeFileSync(src, 'process.stdout.write("empty 0.0.0\\n");\n');
  const b = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", src, "--outfile", empty], { stdout: "ignore", stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`cannot compile the reference program: ${b.stderr.toString()}`);

  // Warm the page cache for both before timing.
  for (let i = 0; i < 3; i++) {
    timeOnce([MAIN, "--version"]);
    timeOnce([empty]);
  }
  const agent: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    agent.push(timeOnce([MAIN, "--version"]));
    ref.push(timeOnce([empty]));
  }
  const a = median(agent);
  const r = median(ref);
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`cncopagent --version (compiled): median ${a.toFixed(1)} ms, min ${Math.min(...agent).toFixed(1)} ms over ${RUNS} runs`);
  console.log(`reference, empty compiled program: median ${r.toFixed(1)} ms, min ${Math.min(...ref).toFixed(1)} ms`);
  console.log(`cncopagent costs ${(a - r).toFixed(1)} ms over the runtime floor (${(a / r).toFixed(2)}x)`);
  const okTotal = a <= LIMIT_MS;
  const okOver = a - r <= OVER_EMPTY_LIMIT_MS;
  console.log(`limit ${LIMIT_MS} ms: ${(a / LIMIT_MS).toFixed(2)} of the limit, ${okTotal ? "PASS" : "MISS"}`);
  console.log(`limit ${OVER_EMPTY_LIMIT_MS} ms over the empty program: ${((a - r) / OVER_EMPTY_LIMIT_MS).toFixed(2)} of the limit, ${okOver ? "PASS" : "MISS"}`);
  process.exitCode = okTotal && okOver ? 0 : 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
