/**
 * `bun run build`: one self-contained executable for this machine in dist/, and every
 * other program of the suite beside it as a hard link to it (`cp -a dist/. <root>/Bin/`
 * is a working install). `--all` cross-compiles windows-x64 (Bun's baseline target: no
 * AVX2 needed), linux-arm64 and darwin-arm64 into dist/<target>/; `--target=<name>` builds
 * one of them. Windows gets `cncopagent.exe` alone: a zip cannot carry hard links, and a
 * `.cmd` launcher would let cmd.exe re-parse every argument (`&`, `%`, `^`) and ask
 * "Terminate batch job?" on Ctrl-C; `cncopagent --link` makes the `<program>.exe` links
 * once installed (docs/windows.md).
 */
import { linkSync, mkdirSync, rmSync } from "node:fs";
import nodePath from "node:path";
import { PROGRAM_NAMES } from "../src/cli.ts";

const repo = nodePath.dirname(import.meta.dir);
const dist = nodePath.join(repo, "dist");
const entry = nodePath.join(repo, "src", "cli.ts");
const MAIN = "cncopagent";

async function compile(target: string | undefined, outfile: string): Promise<void> {
  // Bytecode: start-up without parsing the bundle (--version in ~20 ms instead of ~45 ms of CPU).
  const args = ["build", "--compile", "--minify", "--sourcemap=none", "--bytecode", "--format=esm", entry, "--outfile", outfile];
  // ssh2's optional native helpers (cpu-features, sshcrypto.node) are left out: Bun does
  // not load them anyway (ssh2 falls back to its JavaScript and WebAssembly code), and a
  // Linux .node file must not end up inside a Windows or macOS build.
  args.push("--external", "cpu-features", "--external", "*.node");
  if (target) args.push(`--target=${target}`);
  // Precompiled bytecode for this machine's build: start-up drops from ~50 ms to ~15 ms,
  // paid by every agent attempt and every program call.
  else args.push("--bytecode", "--format=esm");
  const r = Bun.spawnSync([process.execPath, ...args], { cwd: repo, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`bun build failed for ${target ?? "this machine"}`);
}

function linkAll(dir: string, exe: string): void {
  for (const name of PROGRAM_NAMES) {
    if (name === MAIN) continue;
    const to = nodePath.join(dir, name);
    rmSync(to, { force: true });
    linkSync(exe, to);
  }
}

async function buildHost(): Promise<void> {
  mkdirSync(dist, { recursive: true });
  const exe = nodePath.join(dist, MAIN);
  rmSync(exe, { force: true });
  await compile(undefined, exe);
  linkAll(dist, exe);
  console.log(`built ${exe} and links: ${PROGRAM_NAMES.filter((n) => n !== MAIN).join(", ")}`);
}

const TARGETS = [
  { name: "windows-x64", target: "bun-windows-x64-baseline", windows: true },
  { name: "linux-arm64", target: "bun-linux-arm64", windows: false },
  { name: "darwin-arm64", target: "bun-darwin-arm64", windows: false },
] as const;

async function buildCross(only?: string): Promise<void> {
  for (const t of TARGETS) {
    if (only && t.name !== only) continue;
    const dir = nodePath.join(dist, t.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const exe = nodePath.join(dir, t.windows ? `${MAIN}.exe` : MAIN);
    await compile(t.target, exe);
    if (!t.windows) linkAll(dir, exe);
    console.log(`built ${exe}`);
  }
}

if (import.meta.main) {
  const all = process.argv.includes("--all");
  const only = process.argv.find((a) => a.startsWith("--target="))?.slice("--target=".length);
  if (only) await buildCross(only);
  else {
    await buildHost();
    if (all) await buildCross();
  }
}
