/**
 * w's summary of a big CA log: throughput and peak memory, with `grep -c` reading the
 * same file in the same run as the reference. The limit: a 1 GB log is streamed,
 * never loaded whole; we hold w to a peak RSS of MAX_RSS_MIB, whatever the log's size.
 *
 *   bun bench/watcher.bench.ts            (1024 MiB log; W_BENCH_MIB=256 for a quicker run)
 *   CNCOP_BIN=dist bun bench/watcher.bench.ts   (the compiled binary)
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";

const REPO = nodePath.resolve(import.meta.dir, "..");
const SIZE_MIB = Number(process.env.W_BENCH_MIB ?? 1024);
const MAX_RSS_MIB = 128;

function w(args: string[]): string[] {
  const bin = process.env.CNCOP_BIN;
  return bin ? [nodePath.join(nodePath.resolve(REPO, bin), "w"), ...args] : [process.execPath, nodePath.join(REPO, "src", "cli.ts"), "w", ...args];
}

function writeLog(path: string, mib: number): { bytes: number; runs: number } {
  const fd = openSync(path, "w");
  const noise = Array.from({ length: 2000 }, (_, k) => `2020-02-02 02:00:01 [backupagentcifs#1 stdout] copied /data/projects/${k % 97}/reports/file-${k}.dat 12345 bytes\n`).join("");
  let bytes = writeSync(fd, "2020-02-02 02:00:00 cncopagent 0.1.0 started: pid 1, host bench, root /r, config /r/Config/cncop3.ini, arguments: -a\n");
  let runs = 0;
  while (bytes < mib * 1024 * 1024) {
    runs++;
    const failed = runs % 10 === 0;
    bytes += writeSync(
      fd,
      `2020-02-02 02:00:00 job ${runs} 'Job ${runs}' (CIFS): session S${runs}\n` +
        `2020-02-02 02:00:00 job ${runs} 'Job ${runs}': attempt 1: run: /r/Bin/backupagentcifs -c /r/Config/cncop3.ini ${runs}\n` +
        noise +
        (failed ? `2020-02-02 02:00:01 [backupagentcifs#1 stderr] cannot open \\\\server\\share: access denied\n` : "") +
        `2020-02-02 02:00:02 job ${runs} 'Job ${runs}': attempt 1: backupagentcifs exited with status ${failed ? 1 : 0} after 2.0 s: ${failed ? "ERROR" : "OK"}\n` +
        `2020-02-02 02:00:02 job ${runs} 'Job ${runs}' final state: ${failed ? "ERROR (agent exited with status 1)" : "OK (completed)"} after 2.0 s, 1 attempt(s)\n`,
    );
  }
  bytes += writeSync(fd, "2020-02-02 02:00:03 cncopagent finished: exit status 1\n");
  closeSync(fd);
  return { bytes, runs };
}

/** GNU time reports the child's own peak RSS; Bun's resourceUsage() also counts the forked parent's pages. */
const GNU_TIME = Bun.which("time", { PATH: "/usr/bin:/bin" });

async function timed(argv: string[], env: Record<string, string>): Promise<{ ms: number; rssMiB: number; out: string; code: number }> {
  const full = GNU_TIME ? [GNU_TIME, "-f", "maxrss-kib %M", ...argv] : argv;
  const t0 = performance.now();
  const proc = Bun.spawn(full, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const ms = performance.now() - t0;
  const kib = /maxrss-kib (\d+)\s*$/.exec(err);
  if (err.replace(/maxrss-kib \d+\s*$/, "").trim() !== "") process.stderr.write(err);
  const rssMiB = kib ? Number(kib[1]) / 1024 : (proc.resourceUsage()?.maxRSS ?? 0) / 1024 / 1024;
  return { ms, rssMiB, out, code };
}

const root = mkdtempSync(nodePath.join(os.tmpdir(), "w-bench-"));
try {
  mkdirSync(nodePath.join(root, "Logs"));
  const log = nodePath.join(root, "Logs", "CA-20-02-02_0200.log");
  const { bytes, runs } = writeLog(log, SIZE_MIB);
  const mib = bytes / 1024 / 1024;
  // Warm the page cache for both readers alike.
  await timed(["grep", "-c", "final state", log], {});
  const ref = await timed(["grep", "-c", "final state", log], {});
  const got = await timed(w(["CA"]), { CNCOP_HOME: root, NO_COLOR: "1" });
  if (got.code !== 0 || !got.out.includes(`${runs} runs:`)) throw new Error(`w failed (exit ${got.code}):\n${got.out.slice(0, 2000)}`);
  if (Number(ref.out.trim()) !== runs) throw new Error(`reference counted ${ref.out.trim()} runs, expected ${runs}`);
  console.log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}; log ${mib.toFixed(0)} MiB, ${runs} runs; peak RSS by ${GNU_TIME ? "GNU time" : "Bun resourceUsage (an upper bound)"}`);
  console.log(`w CA:             ${(got.ms / 1000).toFixed(2)} s, ${(mib / (got.ms / 1000)).toFixed(0)} MiB/s, peak RSS ${got.rssMiB.toFixed(0)} MiB`);
  console.log(`grep -c (ref.):   ${(ref.ms / 1000).toFixed(2)} s, ${(mib / (ref.ms / 1000)).toFixed(0)} MiB/s, peak RSS ${ref.rssMiB.toFixed(0)} MiB`);
  console.log(`time ratio w/grep: ${(got.ms / ref.ms).toFixed(1)}x`);
  console.log(
    `memory: w peak RSS ${got.rssMiB.toFixed(0)} MiB for a ${mib.toFixed(0)} MiB log; limit ${MAX_RSS_MIB} MiB whatever the size: ratio ${(got.rssMiB / MAX_RSS_MIB).toFixed(2)} ${got.rssMiB <= MAX_RSS_MIB ? "(within)" : "(OVER)"}`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
