/**
 * w -f end to end: the newest log's last lines, new lines as they are written, a partial
 * last line, truncation, rotation, a newer file (a new day; a new cncopagent invocation),
 * no colour into a pipe, and a clean stop on SIGINT.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { makeTree, waitFor, type Tree } from "../helpers/tree.ts";

/**
 * A running program whose output is collected as it arrives. `env` changes the tests'
 * environment; undefined removes a variable (the NO_COLOR the tree's helper sets).
 */
function watchProc(tree: Tree, args: string[], env: Record<string, string | undefined> = {}) {
  const proc = Bun.spawn(tree.argv("w", args), { cwd: tree.root, env: { ...process.env, CNCOP_HOME: tree.root, NO_COLOR: "1", ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const seen = { out: "", err: "" };
  const pump = async (stream: ReadableStream<Uint8Array>, key: "out" | "err") => {
    const dec = new TextDecoder();
    for await (const chunk of stream) seen[key] += dec.decode(chunk, { stream: true });
  };
  const done = Promise.all([pump(proc.stdout, "out"), pump(proc.stderr, "err")]);
  return {
    proc,
    seen,
    until: (what: string | RegExp, where: "out" | "err" = "out", ms = 20_000) =>
      waitFor(() => (typeof what === "string" ? seen[where].includes(what) : what.test(seen[where])), ms, `w to print ${what}\n--- stdout so far:\n${seen.out}\n--- stderr:\n${seen.err}`),
    async stop(): Promise<number> {
      proc.kill("SIGINT");
      const code = await proc.exited;
      await done;
      return code;
    },
  };
}

describe("following an agent's daily log", () => {
  let tree: Tree;
  let logs = "";
  const line = (d: string, t: string, text: string) => `${d} ${t} ${text}\n`;
  beforeAll(() => {
    tree = makeTree();
    logs = nodePath.join(tree.root, "Spool", "Logs");
    mkdirSync(logs, { recursive: true });
    // An older file of another prefix and an older day: neither is followed.
    writeFileSync(nodePath.join(logs, "RSYNC-20300101.log"), line("2030-01-01", "00:00:00", "INFO not this prefix"));
    writeFileSync(nodePath.join(logs, "CIFS-20191231.log"), line("2019-12-31", "00:00:00", "INFO an older day"));
    writeFileSync(nodePath.join(logs, "CIFS-20200105.log"), Array.from({ length: 12 }, (_, i) => line("2020-01-05", `09:00:${String(i).padStart(2, "0")}`, `INFO existing ${i}`)).join(""));
  });
  afterAll(() => tree.cleanup());

  test("last lines, appended lines, a partial line, truncation, rotation, a new day, SIGINT", async () => {
    const file = nodePath.join(logs, "CIFS-20200105.log");
    const w = watchProc(tree, ["-f", "cifs"]);
    await w.until("INFO existing 11\n");
    expect(w.seen.out).toStartWith(`==> ${file} <==\n2020-01-05 09:00:02 INFO existing 2\n`);
    expect(w.seen.out).not.toContain("existing 1\n");
    expect(w.seen.out).not.toContain("older day");

    appendFileSync(file, line("2020-01-05", "10:00:00", "START job 1 'Files' session S1 attempt 1"));
    await w.until("START job 1 'Files' session S1 attempt 1\n");

    // A line written in two pieces is printed once, whole.
    appendFileSync(file, "2020-01-05 10:00:01 ERROR first half");
    appendFileSync(file, ` and second half\n${line("2020-01-05", "10:00:02", "INFO after the partial line")}`);
    await w.until("INFO after the partial line\n");
    expect(w.seen.out).toContain("2020-01-05 10:00:01 ERROR first half and second half\n");
    expect(w.seen.out).not.toContain("first half\n");

    // Truncated in place: read again from its start.
    truncateSync(file, 0);
    appendFileSync(file, line("2020-01-05", "11:00:00", "INFO after truncation"));
    await w.until("INFO after truncation\n");
    await w.until(`${file} was truncated`, "err");

    // Rotated: renamed away and a new file of the same name created.
    appendFileSync(file, line("2020-01-05", "11:30:00", "INFO last line before rotation"));
    await w.until("last line before rotation\n");
    renameSync(file, `${file}.1`);
    writeFileSync(file, line("2020-01-05", "11:31:00", "INFO first line after rotation"));
    await w.until("INFO first line after rotation\n");
    await w.until("was replaced (rotated)", "err");

    // A new day: the newer file is followed from its start.
    const next = nodePath.join(logs, "CIFS-20200106.log");
    writeFileSync(next, line("2020-01-06", "00:00:01", "START job 2 'Next day' session S2 attempt 1"));
    await w.until(`==> ${next} <==\n2020-01-06 00:00:01 START job 2 'Next day' session S2 attempt 1\n`);
    appendFileSync(next, line("2020-01-06", "00:00:09", "FINISH job 2 'Next day' session S2 state OK files 1 bytes 1 duration 8s"));
    await w.until("state OK files 1 bytes 1 duration 8s\n");
    // The old day's file is no longer followed.
    appendFileSync(file, line("2020-01-05", "23:59:59", "INFO late line of the old day"));
    appendFileSync(next, line("2020-01-06", "00:00:10", "INFO marker"));
    await w.until("INFO marker\n");
    expect(w.seen.out).not.toContain("late line of the old day");

    expect(await w.stop()).toBe(0);
    // No colour without a terminal.
    expect(w.seen.out).not.toContain("\x1b[");
  }, 60_000);

  test("an unknown prefix without logs is refused; a known one is waited for", async () => {
    const bad = await tree.run("w", ["-f", "NOPE"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("no NOPE logs (NOPE-YYYYMMDD.log)");
    const w = watchProc(tree, ["-f", "WIMG"]);
    await w.until(`waiting for the first WIMG log in ${logs}`, "err");
    writeFileSync(nodePath.join(logs, "WIMG-20200101.log"), line("2020-01-01", "01:00:00", "ERROR disk gone"));
    await w.until("2020-01-01 01:00:00 ERROR disk gone\n");
    expect(await w.stop()).toBe(0);
  }, 60_000);
});

describe("following cncopagent's log", () => {
  let tree: Tree;
  beforeAll(() => {
    tree = makeTree();
    tree.addJob({ jobid: 1, jobtitle: "Slow files", jobtype: "CIFS" });
    tree.addJob({ jobid: 2, jobtitle: "Broken", jobtype: "RSYNC" });
    tree.script("backupagentcifs", 'echo "step one"; while [ ! -e "$CNCOP_HOME/go" ]; do sleep 0.05; done; echo "step two"; exit 0');
    tree.script("backupagentrsync", 'echo "rsync: connection refused" >&2; exit 1');
  });
  afterAll(() => tree.cleanup());

  test("w -f (CA) waits for the first log, shows a running job's lines as they come, then the next invocation's log", async () => {
    // consola's colours forced on, but stdout is a pipe: only a terminal gets colour.
    const w = watchProc(tree, ["-f"], { FORCE_COLOR: "1", NO_COLOR: undefined });
    await w.until(`waiting for the first CA log in ${nodePath.join(tree.root, "Logs")}`, "err");
    const agent = tree.spawn("cncopagent", ["1"]);
    await w.until("[backupagentcifs#1 stdout] step one\n");
    // The job is still running: its end is not in the log yet.
    expect(w.seen.out).not.toContain("final state");
    const first = nodePath.join(tree.root, "Logs", tree.caLogs()[0]!);
    expect(w.seen.out).toContain(`==> ${first} <==`);
    writeFileSync(nodePath.join(tree.root, "go"), "");
    await w.until("[backupagentcifs#1 stdout] step two\n");
    await w.until(/\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d job 1 'Slow files' final state: OK \(completed\) after [^\n]*\n/);
    expect(await agent.exited).toBe(0);

    // A new invocation writes a new CA log: w moves on to it.
    const r = await tree.run("cncopagent", ["2"]);
    expect(r.exitCode).toBe(1);
    await w.until(/\n[^\n]* cncopagent finished: exit status 0 [^\n]*\n[\s\S]*==> [^\n]*CA-[^\n]* <==/);
    await w.until(/\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[backupagentrsync#1 stderr\] rsync: connection refused\n/);
    await w.until(/\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d job 2 'Broken' final state: ERROR \(rsync: connection refused\)[^\n]*\n/);
    const second = tree.caLogs().map((n) => nodePath.join(tree.root, "Logs", n)).find((p) => p !== first)!;
    expect(w.seen.out).toContain(`==> ${second} <==`);
    expect(w.seen.out + w.seen.err).not.toContain("\x1b");
    expect(await w.stop()).toBe(0);
  }, 60_000);
});
