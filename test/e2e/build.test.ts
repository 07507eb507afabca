/**
 * `bun run build`: dist/cncopagent with every other program beside it as a link to the
 * same executable, so that `cp -a dist/. <root>/Bin/` is a working install whose root is
 * found from the executable's place. Builds dist/ first when it is missing.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, linkSync, readdirSync, rmSync, statSync } from "node:fs";
import nodePath from "node:path";
import { PROGRAM_NAMES } from "../../src/cli.ts";
import { BUN, makeTree, REPO, type Tree } from "../helpers/tree.ts";

// Processes on a busy 2-core machine: room beyond bun's 5 s default, never a sleep.
setDefaultTimeout(30_000);

const DIST = nodePath.join(REPO, "dist");
const MAIN = nodePath.join(DIST, "cncopagent");

beforeAll(() => {
  if (existsSync(MAIN) && PROGRAM_NAMES.every((n) => existsSync(nodePath.join(DIST, n)))) return;
  const r = Bun.spawnSync([BUN, "run", "build"], { cwd: REPO, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`bun run build failed: ${r.stderr.toString()}`);
}, 120_000);

/** A fresh install: a tree whose Bin/ is `cp -a dist/. Bin/`. */
function install(): Tree {
  const t = makeTree();
  for (const n of readdirSync(t.bin)) rmSync(nodePath.join(t.bin, n), { recursive: true, force: true });
  const r = Bun.spawnSync(["cp", "-a", `${DIST}/.`, `${t.bin}/`]);
  if (r.exitCode !== 0) throw new Error(`cp -a failed: ${r.stderr.toString()}`);
  return t;
}

/** Run a program of the install by its path, with neither CNCOP_HOME nor -c. */
async function runInstalled(t: Tree, name: string, args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete env.CNCOP_HOME;
  delete env.CNCOP_PROGRAM;
  const proc = Bun.spawn([nodePath.join(t.bin, name), ...args], { cwd: "/", env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

describe("dist/", () => {
  test("every program is a hard link to the one executable", () => {
    const main = statSync(MAIN);
    expect(main.mode & 0o111).not.toBe(0);
    for (const name of PROGRAM_NAMES) {
      const s = statSync(nodePath.join(DIST, name));
      expect({ name, ino: s.ino }).toEqual({ name, ino: main.ino });
    }
  });
});

describe("cp -a dist/. <root>/Bin/ is a working install", () => {
  // One install for these tests (in this order): dist/ may also hold the cross-compiled targets.
  let t: Tree;
  beforeAll(() => {
    t = install();
  });
  afterAll(() => t.cleanup());

  test("the links stay links: one copy of the executable", () => {
    const main = statSync(nodePath.join(t.bin, "cncopagent"));
    for (const name of PROGRAM_NAMES) expect(statSync(nodePath.join(t.bin, name)).ino).toBe(main.ino);
  });

  test("each name starts its own program; a name not implemented yet says so and exits 2", async () => {
    for (const name of PROGRAM_NAMES) {
      const r = await runInstalled(t, name, ["--no-such-option-anywhere"]);
      expect({ name, mentionsItself: r.stderr.includes(name) }).toEqual({ name, mentionsItself: true });
      expect(r.exitCode).not.toBe(0);
      if (/not implemented/i.test(r.stderr)) expect({ name, exit: r.exitCode }).toEqual({ name, exit: 2 });
      if (name !== "cncopagent") expect(r.stderr).not.toContain("usage: cncopagent");
    }
  });

  test("a name that is no program of the suite says so and exits 2", async () => {
    linkSync(nodePath.join(t.bin, "cncopagent"), nodePath.join(t.bin, "backupagentnosuch"));
    const r = await runInstalled(t, "backupagentnosuch", ["-c", t.configFile, "1"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("backupagentnosuch");
    expect(r.stderr).toContain("not a program");
    expect(t.caLogs()).toEqual([]);
  });

  test("the root is the parent of Bin/: a job runs, its log lands in <root>/Logs", async () => {
    t.addJob({ jobid: 1, jobtitle: "installed", jobtype: "CIFS" });
    // backupagentcifs is a link to the executable: the fake replaces the link, not the executable.
    t.script("backupagentcifs", `echo "$CNCOP_HOME" > "$CNCOP_HOME/agent-home"`);
    const r = await runInstalled(t, "cncopagent", ["installed"]);
    expect(r.stderr).toMatch(/OK/);
    expect(r.exitCode).toBe(0);
    expect(await Bun.file(nodePath.join(t.root, "agent-home")).text()).toBe(`${t.root}\n`);
    expect(t.caLogs().length).toBe(1);
    // The other links (cncopagent itself) are intact after the fake replaced its link.
    expect((await runInstalled(t, "cncopagent", ["--version"])).exitCode).toBe(0);
  });
});

describe("cncopagent --link", () => {
  test("in a Bin/ holding the executable alone, it makes every other program as a hard link; again, all are up to date", async () => {
    const t = makeTree();
    try {
      const exe = nodePath.join(t.bin, "cncopagent");
      Bun.spawnSync(["cp", MAIN, exe]);
      const first = await runInstalled(t, "cncopagent", ["--link"]);
      expect(first.exitCode).toBe(0);
      const others = PROGRAM_NAMES.filter((n) => n !== "cncopagent");
      expect(first.stdout.trim().split("\n")).toEqual([
        ...others.map((n) => `created: ${nodePath.join(t.bin, n)}`),
        `links ready beside ${exe}: ${others.length} created, 0 refreshed, 0 up to date`,
      ]);
      for (const n of others) expect(statSync(nodePath.join(t.bin, n)).ino).toBe(statSync(exe).ino);
      const again = await runInstalled(t, "cncopagent", ["--link"]);
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toContain(`links ready beside ${exe}: 0 created, 0 refreshed, ${others.length} up to date`);
      expect((await runInstalled(t, "w", ["--version"])).stdout).toMatch(/^w \d/);
    } finally {
      t.cleanup();
    }
  });
});
