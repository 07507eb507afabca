/**
 * `npm test`: builds the suite, runs every test against the source, then the end-to-end
 * tests again against the compiled executable (CNCOP_BIN=dist), and closes with one line
 * `N passed, N failed` over both runs. Extra arguments are passed to `bun test`.
 */
import { existsSync } from "node:fs";
import nodePath from "node:path";

const repo = nodePath.dirname(import.meta.dir);
const bun = process.execPath;
const extra = process.argv.slice(2);

async function run(label: string, args: string[], env: Record<string, string> = {}): Promise<{ pass: number; fail: number; code: number }> {
  console.log(`\n=== ${label}: bun ${args.join(" ")} ===`);
  const proc = Bun.spawn([bun, ...args], { cwd: repo, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      out.write(chunk);
      text += dec.decode(chunk, { stream: true });
      if (text.length > 200_000) text = text.slice(-100_000);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  const code = await proc.exited;
  const pass = Number(/^\s*(\d+) pass\s*$/m.exec(text)?.[1] ?? 0);
  let fail = Number(/^\s*(\d+) fail\s*$/m.exec(text)?.[1] ?? 0);
  if (code !== 0 && fail === 0) fail = 1;
  return { pass, fail, code };
}

const build = Bun.spawnSync([bun, "scripts/build.ts"], { cwd: repo, stdout: "inherit", stderr: "inherit" });
if (build.exitCode !== 0 || !existsSync(nodePath.join(repo, "dist", "cncopagent"))) {
  console.log("build failed\n0 passed, 1 failed");
  process.exit(1);
}

const results = [];
results.push(await run("all tests, from source", ["test", "--timeout", "60000", ...extra]));
results.push(await run("end-to-end tests, compiled executable", ["test", "--timeout", "60000", "test/e2e", ...extra], { CNCOP_BIN: "dist" }));
const pass = results.reduce((n, r) => n + r.pass, 0);
const fail = results.reduce((n, r) => n + r.fail, 0);
console.log(`\n${pass} passed, ${fail} failed`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
