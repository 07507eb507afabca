/**
 * `npm run bench`: runs every bench/*.bench.ts one after another (never in parallel: the
 * figures are side-by-side ratios on a shared, noisy machine). `npm run bench -- prune`
 * runs only the benchmarks whose file name contains "prune".
 */
import { readdirSync } from "node:fs";
import nodePath from "node:path";

const dir = import.meta.dir;
const filter = process.argv[2];
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts") && (!filter || f.includes(filter)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const r = Bun.spawnSync([process.execPath, nodePath.join(dir, f)], { stdout: "inherit", stderr: "inherit", cwd: nodePath.dirname(dir) });
  if (r.exitCode !== 0) failed++;
}
console.log(`\n${files.length - failed} benchmark(s) ran, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
