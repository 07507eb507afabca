/**
 * Dispatch overhead (issue "cncopagent runs backup jobs: foundation"): `cncopagent -a` over
 * 100 jobs whose agent exits at once, against running the same 100 agents directly (a
 * shell loop with the same command lines): at most 20 ms per job. Rounds alternate; the
 * medians are compared. Run: `bun bench/dispatch.bench.ts [jobs] [rounds]`. Uses the
 * compiled dist/cncopagent (built first when missing); the temporary tree is removed.
 */
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { ensureDist, makeBenchRoot } from "./common.ts";

const JOBS = Number(process.argv[2] ?? 100);
const ROUNDS = Number(process.argv[3] ?? 5);
const LIMIT_MS_PER_JOB = 20;


function makeRoot(): { root: string; bin: string; config: string; agent: string } {
  const { root, bin, config } = makeBenchRoot("dispatch", Array.from({ length: JOBS }, (_, k) => ({ id: k + 1, title: `job ${String(k + 1).padStart(4, "0")}` })));
  const agent = nodePath.join(bin, "backupagentcifs");
  writeFileSync(agent, "#!/bin/sh\nexit 0\n");
  chmodSync(agent, 0o755);
  return { root, bin, config, agent };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(argv: string[], cwd: string, env: Record<string, string | undefined>): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().slice(0, 2000)}`);
  return ms;
}

ensureDist();
const t = makeRoot();
try {
  const env = { ...process.env, CNCOP_HOME: t.root, NO_COLOR: "1" };
  // The same command lines cncopagent runs, one after another, with output captured the same way.
  const loop = `for i in $(seq 1 ${JOBS}); do "${t.agent}" -c "${t.config}" "$i" || exit 1; done`;
  timed(["sh", "-c", loop], t.root, env); // warm-up
  timed([nodePath.join(t.bin, "cncopagent"), "-a"], t.root, env);
  const agentMs: number[] = [];
  const directMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    agentMs.push(timed([nodePath.join(t.bin, "cncopagent"), "-a"], t.root, env));
    directMs.push(timed(["sh", "-c", loop], t.root, env));
    rmSync(nodePath.join(t.root, "Logs"), { recursive: true, force: true });
  }
  const a = median(agentMs);
  const d = median(directMs);
  const perJob = (a - d) / JOBS;
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`cncopagent -a over ${JOBS} jobs: median ${a.toFixed(0)} ms (${(a / JOBS).toFixed(1)} ms per job), ${ROUNDS} rounds`);
  console.log(`reference, the same ${JOBS} agents from a shell loop: median ${d.toFixed(0)} ms (${(d / JOBS).toFixed(1)} ms per job)`);
  console.log(`dispatch overhead: ${perJob.toFixed(1)} ms per job`);
  const ok = perJob <= LIMIT_MS_PER_JOB;
  console.log(`limit ${LIMIT_MS_PER_JOB} ms per job: ${(perJob / LIMIT_MS_PER_JOB).toFixed(2)} of the limit, ${ok ? "PASS" : "MISS"}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(t.root, { recursive: true, force: true });
}
