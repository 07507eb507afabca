/**
 * The demo as a new user runs it: `npm run demo` in a fresh copy of the repository (the
 * files a clone has: tracked and not ignored; no dist/, no demo/). node_modules is linked
 * from this checkout, as `npm install` would have made it, since the tests use no network.
 * A second run is incremental.
 */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { treeDiff } from "../helpers/agents.ts";
import { REPO } from "../helpers/tree.ts";

const clone = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-clone-"));
afterAll(() => rmSync(clone, { recursive: true, force: true }));

function freshCopy(): void {
  const ls = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO });
  expect(ls.exitCode).toBe(0);
  for (const rel of ls.stdout.toString().split("\0").filter((f) => f !== "" && existsSync(nodePath.join(REPO, f)))) {
    mkdirSync(nodePath.dirname(nodePath.join(clone, rel)), { recursive: true });
    copyFileSync(nodePath.join(REPO, rel), nodePath.join(clone, rel));
  }
  symlinkSync(nodePath.join(REPO, "node_modules"), nodePath.join(clone, "node_modules"));
}

async function npmRunDemo(): Promise<{ exitCode: number; out: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CNCOP_")) env[k] = v;
  const proc = Bun.spawn(["npm", "run", "--silent", "demo"], { cwd: clone, env: { ...env, NO_COLOR: "1" }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, out: stdout + stderr };
}

test("npm run demo in a fresh clone: builds, installs ./demo, runs both jobs; again: incremental", async () => {
  freshCopy();
  expect(existsSync(nodePath.join(clone, "dist"))).toBe(false);
  const first = await npmRunDemo();
  expect(first.exitCode).toBe(0);
  const demo = nodePath.join(clone, "demo");
  expect(readdirSync(nodePath.join(demo, "Bin")).sort()).toEqual(["backupagentcifs", "backupagentftp", "backupagentrsync", "backupagentsftp", "cncopagent", "cncopjobs", "cncopreporter", "w"]);
  expect(first.out).toContain("First run of the demo: cncopagent exited with status 0.");
  expect(first.out).toMatch(/1 'Demo files' \(CIFS\): OK: 6 file\(s\) copied \(\d+ bytes\), 0 unchanged/);
  expect(first.out).toMatch(/2 'Demo rsync' \(RSYNC\): OK: 6 file\(s\) copied/);
  expect(first.out).toContain("demo/Bin/cncopagent -a");
  expect(first.out).toMatch(/demo\/Logs\/CA-\d{2}-\d{2}-\d{2}_\d{4}\.log/);
  const data = nodePath.join(demo, "SampleData");
  expect(treeDiff(data, nodePath.join(demo, "Backups", "files"), (rel) => rel.endsWith(".tmp"))).toEqual([]);
  expect(treeDiff(data, nodePath.join(demo, "Backups", "rsync"), (rel) => rel.endsWith(".tmp"))).toEqual([]);
  expect(existsSync(nodePath.join(demo, "Backups", "files", "scratch.tmp"))).toBe(false);
  expect(readdirSync(nodePath.join(demo, "Spool", "Messages")).filter((n) => n.startsWith("JF-"))).toHaveLength(2);

  const second = await npmRunDemo();
  expect(second.exitCode).toBe(0);
  expect(second.out).toContain("Incremental run of the demo: cncopagent exited with status 0.");
  expect(second.out).toMatch(/1 'Demo files' \(CIFS\): OK: 1 file\(s\) copied \(\d+ bytes\), 5 unchanged/);
  expect(second.out).toMatch(/2 'Demo rsync' \(RSYNC\): OK: 1 file\(s\) copied \(\d+ bytes\), 5 unchanged/);
  expect(treeDiff(data, nodePath.join(demo, "Backups", "files"), (rel) => rel.endsWith(".tmp"))).toEqual([]);

  // Where rsync is not installed, the demo has the file-system job only, and says so.
  const alone = Bun.spawn([process.execPath, "scripts/demo.ts", "--no-build", "without-rsync"], { cwd: clone, env: { HOME: process.env.HOME ?? "/", PATH: "/nonexistent" }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(alone.stdout).text(), new Response(alone.stderr).text(), alone.exited]);
  expect(code).toBe(0);
  expect(out + err).toContain("rsync is not installed: the demo has no rsync job");
  expect(out).toMatch(/1 'Demo files' \(CIFS\): OK: 6 file\(s\) copied/);
  expect(out).not.toContain("Demo rsync");
}, 120_000);
