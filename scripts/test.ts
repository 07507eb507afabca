/**
 * `npm test`: builds the suite, then runs two passes side by side: every test against the
 * source, and the end-to-end tests against the compiled executable (CNCOP_BIN=dist). Each
 * pass spreads its files over worker processes (`bun test --parallel`): most of a test's
 * time is spent waiting for the programs it starts, so the passes overlap well even on 2
 * cores. The first pass streams its output; the second's follows once the first is done.
 * Closes with one line `N passed, N failed` over both. Extra arguments go to `bun test`.
 * Timings and the reasons for this layout: docs/testing.md.
 */
import { existsSync } from "node:fs";
import nodePath from "node:path";

const repo = nodePath.dirname(import.meta.dir);
const bun = process.execPath;
const extra = process.argv.slice(2);

/** Worker processes per pass. */
const WORKERS_PER_PASS = 2;
/** Tests of the build and the demo do not depend on CNCOP_BIN (they build and run their own executable): the first pass runs them. */
const MODE_FREE_E2E = ["**/build.test.ts", "**/demo.test.ts"];
/**
 * End-to-end files that run once, against the compiled executable that ships, not also from
 * source: the remote agents' (real vsftpd and sshd servers, real files), and the fault and
 * hostile-input suites, whose programs each start many times (their logic is covered from
 * source by the unit tests). This keeps `npm test` under 5 minutes on 2 cores.
 */
const COMPILED_ONLY_E2E = [
  "test/e2e/backup-agents-ftp.test.ts",
  "test/e2e/backup-agents-sftp.test.ts",
  "test/e2e/hostile.test.ts",
  "test/e2e/truthful-runs.test.ts",
  "test/e2e/fs-faults.test.ts",
  "test/e2e/reporter-faults.test.ts",
  "test/e2e/schedule.test.ts",
];
/** The Wine lane's tests (test/wine) run in .ci/wine/lane.sh, against the windows-x64 build under Wine. */
const WINE_LANE = "test/wine/**";

interface Pass {
  readonly label: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
}

interface PassResult {
  readonly pass: number;
  readonly fail: number;
  readonly code: number;
  /** The `(fail) ...` lines of the pass, repeated at the end so a long log's tail names them. */
  readonly failed: readonly string[];
}

const PASSES: readonly Pass[] = [
  { label: "all tests, from source", args: ["test", "--timeout", "60000", `--parallel=${WORKERS_PER_PASS}`, `--path-ignore-patterns=${WINE_LANE}`, ...COMPILED_ONLY_E2E.map((p) => `--path-ignore-patterns=${p}`), ...extra] },
  {
    label: "end-to-end tests, compiled executable",
    args: ["test", "--timeout", "60000", `--parallel=${WORKERS_PER_PASS}`, ...MODE_FREE_E2E.map((p) => `--path-ignore-patterns=${p}`), "test/e2e", ...extra],
    env: { CNCOP_BIN: "dist" },
  },
];

/** Runs one pass; its output goes to `out` as it arrives. */
async function runPass(p: Pass, out: (chunk: Uint8Array) => void): Promise<PassResult> {
  const proc = Bun.spawn([bun, ...p.args], { cwd: repo, env: { ...process.env, ...p.env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let tail = "";
  const failed: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      out(chunk);
      const text = dec.decode(chunk, { stream: true });
      tail += text;
      if (tail.length > 200_000) tail = tail.slice(-100_000);
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) if (/^\(fail\) /.test(l) && failed.length < 200) failed.push(l);
    }
  };
  await Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  const code = await proc.exited;
  const pass = Number(/^\s*(\d+) pass\s*$/m.exec(tail)?.[1] ?? 0);
  let fail = Number(/^\s*(\d+) fail\s*$/m.exec(tail)?.[1] ?? 0);
  if (code !== 0 && fail === 0) fail = 1;
  return { pass, fail, code, failed };
}

const header = (p: Pass) => `\n=== ${p.label}: bun ${p.args.join(" ")} ===\n`;

const build = Bun.spawnSync([bun, "scripts/build.ts"], { cwd: repo, stdout: "inherit", stderr: "inherit" });
if (build.exitCode !== 0 || !existsSync(nodePath.join(repo, "dist", "cncopagent"))) {
  console.log("build failed\n0 passed, 1 failed");
  process.exit(1);
}

const [first, second] = PASSES as [Pass, Pass];
const held: Uint8Array[] = [];
process.stdout.write(header(first));
const results = await Promise.all([runPass(first, (c) => process.stdout.write(c)), runPass(second, (c) => held.push(c))]);
process.stdout.write(header(second));
for (const c of held) process.stdout.write(c);
results.forEach((r, i) => {
  if (r.failed.length === 0 && r.fail === 0) return;
  process.stdout.write(`\nfailed in "${PASSES[i]?.label}" (exit ${r.code}):\n`);
  for (const l of r.failed) process.stdout.write(`  ${l}\n`);
  if (r.failed.length === 0) process.stdout.write("  (no test named: the pass itself failed; see its output above)\n");
});
const pass = results.reduce((n, r) => n + r.pass, 0);
const fail = results.reduce((n, r) => n + r.fail, 0);
console.log(`\n${pass} passed, ${fail} failed`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
