/**
 * w -p (the pager: $PAGER, then less, vim, more, or a clear message) and colour on a real
 * terminal (a pseudo-terminal made by util-linux `script`): consola's colours, on a
 * terminal only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { makeTree, type Tree } from "../helpers/tree.ts";

let tree: Tree;
let cifs = "";
const ca: string[] = [];
let fakeBin = "";

function fake(dir: string, name: string, body: string): void {
  const p = nodePath.join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
}

beforeAll(() => {
  tree = makeTree();
  const spool = nodePath.join(tree.root, "Spool", "Logs");
  const logs = nodePath.join(tree.root, "Logs");
  mkdirSync(spool, { recursive: true });
  mkdirSync(logs, { recursive: true });
  cifs = nodePath.join(spool, "CIFS-20200105.log");
  writeFileSync(
    cifs,
    "2020-01-05 01:00:00 START job 1 'A' session S1 attempt 1\n2020-01-05 01:00:01 ERROR no share\n2020-01-05 01:00:02 FINISH job 1 'A' session S1 state ERROR files 0 bytes 0 duration 2s\n" +
      "2020-01-05 02:00:00 START job 2 'B' session S2 attempt 1\n2020-01-05 02:00:02 FINISH job 2 'B' session S2 state OK files 1 bytes 1 duration 2s\n",
  );
  writeFileSync(nodePath.join(spool, "CIFS-20200104.log"), "2020-01-04 01:00:00 INFO the day before\n");
  for (const [name, text] of [
    ["CA-20-01-05_0100.log", "2020-01-05 01:00:00 first invocation\n"],
    ["CA-20-01-05_0100-001.log", "2020-01-05 01:00:30 second invocation\n"],
    ["CA-20-01-04_2300.log", "2020-01-04 23:00:00 the day before\n"],
  ] as const) {
    writeFileSync(nodePath.join(logs, name), text);
    ca.push(nodePath.join(logs, name));
  }
  fakeBin = mkdtempSync(nodePath.join(os.tmpdir(), "w-pagers-"));
});
afterAll(() => {
  tree.cleanup();
  rmSync(fakeBin, { recursive: true, force: true });
});

describe("the pager", () => {
  test("PAGER=cat shows the day's log as it is", async () => {
    const r = await tree.run("w", ["-p", "CIFS"], { env: { PAGER: "cat" } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(readFileSync(cifs, "utf8"));
    const older = await tree.run("w", ["-p", "--daysago", "1", "CIFS"], { env: { PAGER: "cat" } });
    expect(older.stdout).toBe("2020-01-04 01:00:00 INFO the day before\n");
  });

  test("CA: the day's CA logs, newest first; -p alone means CA; PAGER is split like a command line", async () => {
    const r = await tree.run("w", ["-p"], { env: { PAGER: "cat -n" } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("     1\t2020-01-05 01:00:30 second invocation\n     2\t2020-01-05 01:00:00 first invocation\n");
  });

  test("without PAGER: less with options that suit a log", async () => {
    const dir = nodePath.join(fakeBin, "less-vim-more");
    mkdirSync(dir);
    for (const name of ["less", "vim", "more"]) fake(dir, name, `echo "${name} $*"`);
    const r = await tree.run("w", ["-p", "cifs"], { env: { PATH: dir, PAGER: "" } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`less -R -S +G ${cifs}\n`);
  });

  test("then vim, then more; a PAGER that is not found is said and skipped", async () => {
    const dir = nodePath.join(fakeBin, "vim-more");
    mkdirSync(dir);
    for (const name of ["vim", "more"]) fake(dir, name, `echo "${name} $*"`);
    const vim = await tree.run("w", ["-p", "CIFS"], { env: { PATH: dir, PAGER: "" } });
    expect(vim.stdout).toBe(`vim -R -n + ${cifs}\n`);
    const only = nodePath.join(fakeBin, "more");
    mkdirSync(only);
    fake(only, "more", 'echo "more $*"');
    const more = await tree.run("w", ["-p", "CIFS"], { env: { PATH: only, PAGER: "mypager --fancy" } });
    expect(more.exitCode).toBe(0);
    expect(more.stdout).toBe(`more ${cifs}\n`);
    expect(more.stderr).toContain('w: PAGER="mypager --fancy": mypager not found; trying less, vim, more');
  });

  test("no pager at all: a clear message naming the log, exit 2", async () => {
    const empty = nodePath.join(fakeBin, "empty");
    mkdirSync(empty);
    const r = await tree.run("w", ["-p", "CIFS"], { env: { PATH: empty, PAGER: "" } });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`w: no pager found: set PAGER (e.g. PAGER=less), or install less, vim or more. The log: ${cifs}\n`);
  });

  test("Ctrl-C while the pager runs belongs to the pager: w waits for it", async () => {
    const dir = nodePath.join(fakeBin, "interrupting");
    mkdirSync(dir);
    fake(dir, "ipager", 'kill -INT $PPID; i=0; while [ $i -lt 20 ]; do i=$((i+1)); done; echo "pager still ran to its end"');
    const r = await tree.run("w", ["-p", "CIFS"], { env: { PATH: `${dir}:/usr/bin:/bin`, PAGER: "ipager" } });
    expect(r.stdout).toBe("pager still ran to its end\n");
    expect(r.exitCode).toBe(0);
  });

  test("a pager that fails: exit 1, said on stderr", async () => {
    const r = await tree.run("w", ["-p", "CIFS"], { env: { PAGER: "false" } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/w: the pager \S*false exited with status 1/);
  });
});

describe("colour on a terminal", () => {
  /** The environment of the tests with `changes`; undefined removes a variable (an inherited NO_COLOR). */
  const envWith = (changes: Record<string, string | undefined>) => ({ ...process.env, CNCOP_HOME: tree.root, TERM: "xterm", ...changes });

  /** Runs w under a pseudo-terminal; returns what the terminal showed. */
  async function onTerminal(args: string[], env: Record<string, string | undefined>): Promise<string> {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = tree.argv("w", args).map(quote).join(" ");
    const proc = Bun.spawn(["script", "-qec", cmd, "/dev/null"], {
      cwd: tree.root,
      env: envWith(env),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    proc.stdin.end();
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    return out.replace(/\r\n/g, "\n");
  }

  test("final states green or red, error lines red", async () => {
    const out = await onTerminal(["CIFS"], { NO_COLOR: undefined });
    expect(out).toContain("\x1b[31mERROR       \x1b[39mjob 1 'A', session S1");
    expect(out).toContain("\x1b[31mERROR no share\x1b[39m");
    expect(out).toContain("\x1b[32mOK          \x1b[39mjob 2 'B', session S2");
  });

  test.each(["1", ""])("NO_COLOR=%p (set, even empty): plain even on a terminal", async (value) => {
    const out = await onTerminal(["CIFS"], { NO_COLOR: value });
    expect(out).toContain("ERROR       job 1 'A', session S1");
    expect(out).not.toContain("\x1b[");
  });

  test("without a terminal: plain, FORCE_COLOR or not", async () => {
    for (const force of [undefined, "1"]) {
      const proc = Bun.spawn(tree.argv("w", ["CIFS"]), { cwd: tree.root, env: envWith({ NO_COLOR: undefined, FORCE_COLOR: force }), stdout: "pipe", stderr: "pipe" });
      const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      expect(code).toBe(0);
      expect(stdout).toContain("ERROR       job 1 'A', session S1");
      expect(stdout).not.toContain("\x1b[");
    }
  });

  test("a warning on the terminal: the level word in consola's yellow, the data escaped", async () => {
    const bad = nodePath.join(fakeBin, "bad-config.ini");
    writeFileSync(bad, "[defaults\x1b]0;t\x07\n");
    const out = await onTerminal(["-c", bad, "CIFS"], { NO_COLOR: undefined, CNCOP_HOME: tree.root });
    expect(out).toMatch(/w: \x1b\[33mwarning:\x1b\[39m \S*bad-config\.ini, line 1: "\[defaults\\x1b\]0;t\\x07" is not a valid section header/);
  });
});
