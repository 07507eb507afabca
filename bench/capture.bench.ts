/**
 * Output capture (issue "cncopagent runs backup jobs: foundation"): an agent printing
 * 300 MB of lines, through cncopagent (every line timestamped and tagged into the CA log)
 * against plain redirection of the same agent to a file: at most 1.5x the time, and
 * cncopagent's peak memory (VmHWM, polled from /proc) at most 150 MB. Rounds alternate;
 * the medians are compared. Run: `bun bench/capture.bench.ts [MB] [rounds]`. Uses the
 * compiled dist/cncopagent (built first when missing); temporary files are removed.
 *
 * Also shown: CPU time (user + system, of the process and the children it waited for, so
 * the agent's own share is in both figures; their difference is what capture costs), and,
 * for scale, cncopagent forced onto the stdio streams of node:child_process
 * (CNCOP_CAPTURE=streams: the path of macOS and Windows) and GNU sed prefixing every line.
 */
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { ensureDist, makeBenchRoot } from "./common.ts";

const MB = Number(process.argv[2] ?? 300);
const ROUNDS = Number(process.argv[3] ?? 3);
const LIMIT_RATIO = 1.5;
const LIMIT_PEAK_MB = 150;
const LINE = `${"0123456789".repeat(9)}abcdefghi`; // 99 characters and \n: 100 bytes a line


function makeRoot() {
  const { root, bin, config } = makeBenchRoot("capture", [{ id: 1, title: "chatty" }]);
  const agent = nodePath.join(bin, "backupagentcifs");
  writeFileSync(agent, `#!/bin/sh\nyes '${LINE}' | head -c ${MB * 1_000_000}\n`);
  chmodSync(agent, 0o755);
  return { root, bin, config, agent };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Run and time a process; poll its peak resident memory meanwhile. */
async function run(argv: string[], cwd: string, env: Record<string, string | undefined>): Promise<{ ms: number; peakMb: number; cpuMs: number }> {
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { cwd, env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let peakKb = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {}
  }, 10);
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const ms = performance.now() - t0;
  clearInterval(poll);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err.slice(0, 2000)}`);
  const cpu = proc.resourceUsage()?.cpuTime;
  return { ms, peakMb: peakKb / 1024, cpuMs: cpu ? Number(cpu.user + cpu.system) / 1000 : NaN };
}

ensureDist();
const t = makeRoot();
try {
  const env = { ...process.env, CNCOP_HOME: t.root, NO_COLOR: "1" };
  const plainOut = nodePath.join(t.root, "plain.log");
  const plain = ["sh", "-c", `"${t.agent}" -c "${t.config}" 1 > "${plainOut}" 2>&1`];
  const viaAgent = [nodePath.join(t.bin, "cncopagent"), "1"];
  const logsDir = nodePath.join(t.root, "Logs");
  // For scale only: GNU sed adding a prefix of the same length to every line.
  const sed = ["sh", "-c", `"${t.agent}" -c "${t.config}" 1 2>&1 | sed 's/^/2000-01-01 00:00:00 [backupagentcifs#1 stdout] /' > "${plainOut}"`];
  const agentMs: number[] = [];
  const agentCpu: number[] = [];
  const plainMs: number[] = [];
  const plainCpu: number[] = [];
  const streamsMs: number[] = [];
  const sedMs: number[] = [];
  const peaks: number[] = [];
  const streamPeaks: number[] = [];
  let logBytes = 0;
  const loadBefore = os.loadavg();
  for (let i = 0; i < ROUNDS; i++) {
    const a = await run(viaAgent, t.root, env);
    agentMs.push(a.ms);
    agentCpu.push(a.cpuMs);
    peaks.push(a.peakMb);
    const logs = readdirSync(logsDir);
    logBytes = statSync(nodePath.join(logsDir, logs[0]!)).size;
    rmSync(logsDir, { recursive: true, force: true });
    const p = await run(plain, t.root, env);
    plainMs.push(p.ms);
    plainCpu.push(p.cpuMs);
    rmSync(plainOut, { force: true });
    const s = await run(viaAgent, t.root, { ...env, CNCOP_CAPTURE: "streams" });
    streamsMs.push(s.ms);
    streamPeaks.push(s.peakMb);
    rmSync(logsDir, { recursive: true, force: true });
    sedMs.push((await run(sed, t.root, env)).ms);
    rmSync(plainOut, { force: true });
  }
  const a = median(agentMs);
  const p = median(plainMs);
  const peak = Math.max(...peaks);
  const ratio = a / p;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load average ${load(loadBefore)} before, ${load(os.loadavg())} after`);
  console.log(`agent printing ${MB} MB of 100-byte lines, ${ROUNDS} rounds (times of each round: ${agentMs.map((x) => x.toFixed(0)).join(", ")} ms):`);
  console.log(`  through cncopagent: median ${a.toFixed(0)} ms (${((MB / a) * 1000).toFixed(0)} MB/s), CA log ${(logBytes / 1e6).toFixed(0)} MB, peak memory ${peak.toFixed(0)} MB`);
  console.log(`  reference, plain redirection to a file: median ${p.toFixed(0)} ms (${((MB / p) * 1000).toFixed(0)} MB/s; rounds: ${plainMs.map((x) => x.toFixed(0)).join(", ")} ms)`);
  console.log(`  CPU time, agent included: ${median(agentCpu).toFixed(0)} ms through cncopagent, ${median(plainCpu).toFixed(0)} ms for the reference: capture costs ${(median(agentCpu) - median(plainCpu)).toFixed(0)} ms`);
  console.log(`  for scale, cncopagent on stdio streams (CNCOP_CAPTURE=streams, as on macOS/Windows): median ${median(streamsMs).toFixed(0)} ms (${(median(streamsMs) / p).toFixed(2)}x), peak memory ${Math.max(...streamPeaks).toFixed(0)} MB`);
  console.log(`  for scale, sed prefixing every line the same way: median ${median(sedMs).toFixed(0)} ms (${(median(sedMs) / p).toFixed(2)}x the reference)`);
  const okTime = ratio <= LIMIT_RATIO;
  const okMem = peak <= LIMIT_PEAK_MB;
  console.log(`time: ${ratio.toFixed(2)}x (limit ${LIMIT_RATIO}x): ${okTime ? "PASS" : "MISS"}`);
  console.log(`peak memory: ${peak.toFixed(0)} MB (limit ${LIMIT_PEAK_MB} MB, ${(peak / LIMIT_PEAK_MB).toFixed(2)} of it): ${okMem ? "PASS" : "MISS"}`);
  process.exitCode = okTime && okMem ? 0 : 1;
} finally {
  rmSync(t.root, { recursive: true, force: true });
}
