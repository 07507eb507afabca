/**
 * Benchmark: draining a backlog of 10,000 reports to a loopback server that answers at
 * once, against the reference of sending the same files one by one with curl in a shell
 * loop, measured side by side in this run. The limit: at least 10x faster.
 *
 *   bun bench/reporter-drain.bench.ts [--reports N] [--curl-reports M]
 *
 * Runs the reporter from source, or the compiled one when CNCOP_BIN=dist is set. The curl
 * loop takes about 2 minutes for 10,000 reports on 2 cores; `--curl-reports M` times it on
 * M files only and scales its time to N (said so in the output).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";

const REQUIRED_RATIO = 10;
const arg = process.argv.indexOf("--reports");
const COUNT = arg !== -1 ? Number(process.argv[arg + 1]) : 10_000;
const curlArg = process.argv.indexOf("--curl-reports");
const CURL_COUNT = curlArg !== -1 ? Math.min(COUNT, Number(process.argv[curlArg + 1])) : COUNT;
const KEY = "bench-key-0123456789";
const REPO = nodePath.resolve(import.meta.dir, "..");
const BIN = process.env.CNCOP_BIN ? nodePath.resolve(REPO, process.env.CNCOP_BIN) : undefined;

function writeReports(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const prefix = i % 10 === 0 ? "JS-" : i % 37 === 0 ? "JE-" : "JF-";
    const name = `${prefix}${String(i).padStart(6, "0")}-${crypto.randomUUID()}.json`;
    const report = {
      type: prefix === "JE-" ? "jobexception" : "jobfinished",
      jobid: 1 + (i % 200),
      jobtitle: `Job ${1 + (i % 200)}`,
      jobtype: "RSYNC",
      session: crypto.randomUUID(),
      hostname: "bench-host",
      time: new Date(now - (n - i) * 60_000).toISOString(),
      status: "OK",
      reason: "completed",
      attempts: [{ started: new Date(now - 3_600_000).toISOString(), finished: new Date(now).toISOString(), exitcode: 0, signal: null }],
    };
    const p = nodePath.join(dir, name);
    writeFileSync(p, `${JSON.stringify(report, null, 2)}\n`);
    const t = new Date(now - (n - i) * 60_000);
    utimesSync(p, t, t);
  }
}

const jsonCount = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".json")).length;

async function main(): Promise<void> {
  const tmp = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-bench-reporter-"));
  let received = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      await req.arrayBuffer();
      received++;
      return new Response('{"ok":true}', { status: 200, headers: { "Content-Type": "application/json" } });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  try {
    // cncopreporter on an install tree.
    const root = nodePath.join(tmp, "root");
    mkdirSync(nodePath.join(root, "Config"), { recursive: true });
    writeFileSync(nodePath.join(root, "Config", "cncop3.ini"), `[network]\nurl = ${url}\napi_key = "${KEY}"\n`);
    const messages = nodePath.join(root, "Spool", "Messages");
    writeReports(messages, COUNT);
    const argv = BIN ? [nodePath.join(BIN, "cncopreporter")] : [process.execPath, nodePath.join(REPO, "src", "cli.ts"), "cncopreporter"];
    const t0 = performance.now();
    const proc = Bun.spawn([...argv, "-c", nodePath.join(root, "Config", "cncop3.ini")], { env: { ...process.env, CNCOP_HOME: root }, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const reporterMs = performance.now() - t0;
    if (code !== 0 || jsonCount(messages) !== 0 || received !== COUNT) {
      throw new Error(`cncopreporter did not drain the spool: exit ${code}, ${jsonCount(messages)} left, ${received} received\n${out}${err}`);
    }

    // Reference: curl, one process per report, in a shell loop.
    received = 0;
    const curlDir = nodePath.join(tmp, "curl");
    writeReports(curlDir, CURL_COUNT);
    const loop = `for f in "$1"/*.json; do curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $2" --data-binary @"$f" "$3/submit_jobresults"; done`;
    const t1 = performance.now();
    const sh = Bun.spawn(["sh", "-c", loop, "sh", curlDir, KEY, url], { stdout: "ignore", stderr: "inherit" });
    await sh.exited;
    const curlMeasuredMs = performance.now() - t1;
    if (received !== CURL_COUNT) throw new Error(`the curl loop delivered ${received} of ${CURL_COUNT}`);
    const curlMs = (curlMeasuredMs * COUNT) / CURL_COUNT;

    const ratio = curlMs / reporterMs;
    const perSec = (ms: number) => Math.round((COUNT / ms) * 1000);
    console.log(`reporter-drain: ${COUNT} reports to a loopback server (${os.cpus().length} cores, ${BIN ? "compiled" : "from source"})`);
    console.log(`  cncopreporter:   ${(reporterMs / 1000).toFixed(2)} s  (${perSec(reporterMs)} reports/s, files deleted, one process)`);
    const scaled = CURL_COUNT === COUNT ? "" : `, timed on ${CURL_COUNT} reports (${(curlMeasuredMs / 1000).toFixed(2)} s) and scaled to ${COUNT}`;
    console.log(`  curl shell loop: ${(curlMs / 1000).toFixed(2)} s  (${perSec(curlMs)} reports/s, one curl per report${scaled})`);
    console.log(`  ratio: ${ratio.toFixed(1)}x faster; required: at least ${REQUIRED_RATIO}x -> ${ratio >= REQUIRED_RATIO ? "PASS" : "FAIL"}`);
    if (ratio < REQUIRED_RATIO) process.exitCode = 1;
  } finally {
    server.stop(true);
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
