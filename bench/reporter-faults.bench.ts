/**
 * Benchmark (issue 17): the compiled suite under two faults, each beside its reference in
 * the same run.
 *
 *  1. Memory: cncopreporter with a 1 GB report at the head of the spool (moved aside, never
 *     read), and with the largest report it sends (just under the 32 MiB limit, checked and
 *     sent as streams), each before 100 small reports; reference: the 100 small reports
 *     alone. Limit: peak memory under 100 MB.
 *  2. A report server that never answers: `cncopagent -a` over 50 jobs with `[network] url`
 *     pointing at a server that accepts connections and never answers; reference: the same
 *     run without a url. Limit: within 2x of the reference.
 *
 *   bun bench/reporter-faults.bench.ts [--jobs N] [--timeout S]
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import net from "node:net";
import nodePath from "node:path";
import { ensureDist, makeBenchRoot, MAIN } from "./common.ts";

const MEMORY_LIMIT_MB = 100;
const TIME_RATIO_LIMIT = 2;
const argOf = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i !== -1 ? Number(process.argv[i + 1]) : def;
};
const JOBS = argOf("--jobs", 50);
const TIMEOUT_S = argOf("--timeout", 5);

/** Peak resident memory of a child (VmHWM), polled while it runs. */
async function runMeasured(argv: string[], env: Record<string, string>): Promise<{ ms: number; peakMb: number; code: number; out: string }> {
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  let peakKb = 0;
  const timer = setInterval(async () => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(await Bun.file(`/proc/${proc.pid}/status`).text());
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {}
  }, 5);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearInterval(timer);
  return { ms: performance.now() - t0, peakMb: peakKb / 1024, code, out: out + err };
}

function smallReports(messages: string, n: number): void {
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const p = nodePath.join(messages, `JF-${String(i).padStart(4, "0")}-${crypto.randomUUID()}.json`);
    writeFileSync(p, `${JSON.stringify({ type: "jobfinished", jobid: 1 + (i % 20), jobtitle: `Job ${i}`, status: "OK", session: crypto.randomUUID() }, null, 2)}\n`);
    const t = new Date(now - (n - i) * 1000);
    utimesSync(p, t, t);
  }
}

/** A JSON object of `size` bytes, written in 1 MiB pieces (never whole in memory). */
function writeBigReport(path: string, size: number): void {
  const fd = openSync(path, "w");
  const head = '{"type":"jobstats","jobid":1,"pad":[';
  const item = `"${"x".repeat(1022)}",`; // 1025 bytes
  const block = Buffer.from(item.repeat(1024));
  let written = writeSync(fd, head);
  while (written + block.length + 64 < size) written += writeSync(fd, block);
  const tail = Buffer.from(`"${"y".repeat(Math.max(0, size - written - 5))}"]}\n`);
  writeSync(fd, tail);
  closeSync(fd);
  const t = new Date(Date.now() - 3600_000);
  utimesSync(path, t, t);
}

async function memory(port: number): Promise<boolean> {
  const cases: [string, number][] = [
    ["100 small reports (reference)", 0],
    ["a 1 GB report + 100 small", 1024 * 1024 * 1024],
    ["a 31.9 MiB report + 100 small", 32 * 1024 * 1024 - 100 * 1024],
  ];
  let ok = true;
  let refMb = 0;
  console.log(`\n1. cncopreporter, peak memory (limit ${MEMORY_LIMIT_MB} MB)`);
  for (const [label, big] of cases) {
    const r = makeBenchRoot("reporter-faults", []);
    writeFileSync(r.config, `[defaults]\ndays_of_logs = 0\n[network]\nurl = http://127.0.0.1:${port}\ntimeout = 60\n`);
    const messages = nodePath.join(r.root, "Spool", "Messages");
    mkdirSync(messages, { recursive: true });
    smallReports(messages, 100);
    if (big > 0) writeBigReport(nodePath.join(messages, "JS-0000-big.json"), big);
    const m = await runMeasured([nodePath.join(r.bin, "cncopagent"), "-c", r.config], { CNCOP_HOME: r.root, CNCOP_PROGRAM: "cncopreporter" });
    const left = readdirSync(messages).filter((n) => n.endsWith(".json")).length;
    const badDir = nodePath.join(messages, "bad");
    const bad = existsSync(badDir) ? readdirSync(badDir).length : 0;
    if (label.startsWith("100")) refMb = m.peakMb;
    const pass = m.code === 0 && left === 0 && m.peakMb < MEMORY_LIMIT_MB;
    ok &&= pass;
    console.log(
      `   ${label.padEnd(32)} ${m.ms.toFixed(0).padStart(6)} ms  peak ${m.peakMb.toFixed(1).padStart(6)} MB  (${(m.peakMb / (refMb || m.peakMb)).toFixed(2)}x the reference)  left ${left}, bad/ ${bad}  ${pass ? "pass" : "FAIL"}`,
    );
    if (!pass) console.log(m.out);
    rmSync(r.root, { recursive: true, force: true });
  }
  return ok;
}

async function hangingServer(port: number): Promise<boolean> {
  console.log(`\n2. cncopagent -a over ${JOBS} jobs, [network] timeout = ${TIMEOUT_S} (limit ${TIME_RATIO_LIMIT}x the run without url)`);
  const jobs = Array.from({ length: JOBS }, (_, i) => ({ id: i + 1, title: `job ${String(i + 1).padStart(3, "0")}` }));
  const results: { label: string; ms: number }[] = [];
  for (const [label, url] of [
    ["no [network] url (reference)", undefined],
    ["a server that never answers", `http://127.0.0.1:${port}`],
  ] as const) {
    const r = makeBenchRoot("reporter-hang", jobs);
    const agent = nodePath.join(r.bin, "backupagentcifs");
    writeFileSync(agent, '#!/bin/sh\nprintf \'{"type":"jobfinished","jobid":%s,"session":"%s","status":"OK","reason":"completed"}\\n\' "$CNCOP_JOBID" "$CNCOP_SESSION" > "$CNCOP_HOME/Spool/Messages/JF-$CNCOP_SESSION.json"\nexit 0\n');
    chmodSync(agent, 0o755);
    writeFileSync(r.config, `[defaults]\ndays_of_logs = 0\n${url ? `[network]\nurl = ${url}\ntimeout = ${TIMEOUT_S}\n` : ""}`);
    const m = await runMeasured([nodePath.join(r.bin, "cncopagent"), "-c", r.config, "-a"], { CNCOP_HOME: r.root });
    const reports = readdirSync(nodePath.join(r.root, "Spool", "Messages")).filter((n) => n.endsWith(".json")).length;
    if (m.code !== 0 || reports !== JOBS) throw new Error(`${label}: exit ${m.code}, ${reports} reports in the spool\n${m.out}`);
    results.push({ label, ms: m.ms });
    rmSync(r.root, { recursive: true, force: true });
  }
  const [ref, hang] = results as [{ label: string; ms: number }, { label: string; ms: number }];
  const ratio = hang.ms / ref.ms;
  const before = ref.ms + JOBS * TIMEOUT_S * 1000;
  console.log(`   ${ref.label.padEnd(32)} ${ref.ms.toFixed(0).padStart(6)} ms`);
  console.log(`   ${hang.label.padEnd(32)} ${hang.ms.toFixed(0).padStart(6)} ms  ${ratio.toFixed(2)}x  ${ratio <= TIME_RATIO_LIMIT ? "pass" : "FAIL"}`);
  console.log(`   (one reporter call per job, as before issue 17, would take about ${(before / 1000).toFixed(0)} s: ${JOBS} x ${TIMEOUT_S} s more)`);
  return ratio <= TIME_RATIO_LIMIT;
}

async function main(): Promise<void> {
  ensureDist();
  console.log(`compiled suite: ${MAIN}`);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 64 * 1024 * 1024,
    async fetch(req) {
      await req.arrayBuffer();
      return new Response("{}", { status: 200 });
    },
  });
  // Accepts connections and never answers (a firewall that lets SYN through, a hung service).
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
  try {
    const a = await memory(server.port as number);
    const b = await hangingServer((silent.address() as net.AddressInfo).port);
    process.exitCode = a && b ? 0 : 1;
  } finally {
    server.stop(true);
    for (const s of sockets) s.destroy();
    silent.close();
  }
}

await main();
