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
async function run(argv: string[], cwd: string, env: Record<string, string | undefined>): Promise<{ ms: number; peakMb: number; cpuMs: number; userMs: number }> {
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
  return { ms, peakMb: peakKb / 1024, cpuMs: cpu ? Number(cpu.user + cpu.system) / 1000 : NaN, userMs: cpu ? Number(cpu.user) / 1000 : NaN };
}

interface Variant {
  readonly label: string;
  readonly argv: string[];
  readonly env: Record<string, string | undefined>;
  /** The file it writes, removed after each round. */
  readonly out: string;
  readonly ms: number[];
  readonly cpuMs: number[];
  readonly userMs: number[];
  readonly peakMb: number[];
}

ensureDist();
const t = makeRoot();
try {
  const env = { ...process.env, CNCOP_HOME: t.root, NO_COLOR: "1" };
  const plainOut = nodePath.join(t.root, "plain.log");
  const logsDir = nodePath.join(t.root, "Logs");
  const viaAgent = [nodePath.join(t.bin, "cncopagent"), "1"];
  const variant = (label: string, argv: string[], extraEnv: Record<string, string>, out: string): Variant => ({
    label, argv, env: { ...env, ...extraEnv }, out, ms: [], cpuMs: [], userMs: [], peakMb: [],
  });
  const agent = variant("through cncopagent", viaAgent, {}, logsDir);
  const plain = variant("reference, plain redirection", ["sh", "-c", `"${t.agent}" -c "${t.config}" 1 > "${plainOut}" 2>&1`], {}, plainOut);
  const streams = variant("cncopagent on stdio streams", viaAgent, { CNCOP_CAPTURE: "streams" }, logsDir);
  // For scale only: GNU sed adding a prefix of the same length to every line.
  const sedCmd = `"${t.agent}" -c "${t.config}" 1 2>&1 | sed 's/^/2000-01-01 00:00:00 [backupagentcifs#1 stdout] /' > "${plainOut}"`;
  const sed = variant("sed", ["sh", "-c", sedCmd], {}, plainOut);
  let logBytes = 0;
  const loadBefore = os.loadavg();
  for (let i = 0; i < ROUNDS; i++) {
    // cncopagent and the reference swap places every round: neither always runs on a warmer cache.
    const order = i % 2 === 0 ? [agent, plain, streams, sed] : [plain, agent, streams, sed];
    for (const v of order) {
      const r = await run(v.argv, t.root, v.env);
      v.ms.push(r.ms);
      v.cpuMs.push(r.cpuMs);
      v.userMs.push(r.userMs);
      v.peakMb.push(r.peakMb);
      if (v === agent) logBytes = statSync(nodePath.join(logsDir, readdirSync(logsDir)[0]!)).size;
      rmSync(v.out, { recursive: true, force: true });
    }
  }
  const a = median(agent.ms);
  const p = median(plain.ms);
  const peak = Math.max(...agent.peakMb);
  const ratio = a / p;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  const rounds = (v: Variant) => v.ms.map((x) => x.toFixed(0)).join(", ");
  const cpu = (v: Variant) => median(v.cpuMs) - median(plain.cpuMs);
  const user = (v: Variant) => median(v.userMs) - median(plain.userMs);
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load average ${load(loadBefore)} before, ${load(os.loadavg())} after`);
  console.log(`agent printing ${MB} MB of 100-byte lines, ${ROUNDS} rounds; CA log ${(logBytes / 1e6).toFixed(0)} MB:`);
  for (const v of [agent]) {
    const m = median(v.ms);
    console.log(`  ${v.label}: median ${m.toFixed(0)} ms (${(m / p).toFixed(2)}x, ${((MB / m) * 1000).toFixed(0)} MB/s; rounds ${rounds(v)}), peak memory ${Math.max(...v.peakMb).toFixed(0)} MB, capture CPU ${cpu(v).toFixed(0)} ms (user ${user(v).toFixed(0)} ms)`);
  }
  console.log(`  ${plain.label} to a file: median ${p.toFixed(0)} ms (${((MB / p) * 1000).toFixed(0)} MB/s; rounds ${rounds(plain)})`);
  console.log(`  (capture CPU: user + system time of cncopagent and the agent, minus the reference's)`);
  console.log(`  for scale, ${streams.label} (CNCOP_CAPTURE=streams, as on macOS/Windows): median ${median(streams.ms).toFixed(0)} ms (${(median(streams.ms) / p).toFixed(2)}x), peak memory ${Math.max(...streams.peakMb).toFixed(0)} MB`);
  console.log(`  for scale, sed prefixing every line the same way: median ${median(sed.ms).toFixed(0)} ms (${(median(sed.ms) / p).toFixed(2)}x the reference)`);
  const okTime = ratio <= LIMIT_RATIO;
  const okMem = peak <= LIMIT_PEAK_MB;
  console.log(`time: ${ratio.toFixed(2)}x (limit ${LIMIT_RATIO}x): ${okTime ? "PASS" : "MISS"}`);
  console.log(`peak memory: ${peak.toFixed(0)} MB (limit ${LIMIT_PEAK_MB} MB, ${(peak / LIMIT_PEAK_MB).toFixed(2)} of it): ${okMem ? "PASS" : "MISS"}`);
  process.exitCode = okTime && okMem ? 0 : 1;
} finally {
  rmSync(t.root, { recursive: true, force: true });
}
