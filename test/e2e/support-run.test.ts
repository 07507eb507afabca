/**
 * Issue 18, as support staff watch a run: a dry run that says what would happen, one line
 * per phase with the same words on a terminal and in plain output, a skipped job that
 * names the process still running, jobs not started after Ctrl-C, a sent email mentioned,
 * and disabled jobs that explain an empty selection.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { agentTree } from "../helpers/agents.ts";
import { collect, FAKE_CONFIG, mark, processGone, readMarker, recordedPids, waitForFileSh, waitForMarker } from "../helpers/fake.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { startSmtp } from "../helpers/smtp.ts";
import { type Tree, waitFor } from "../helpers/tree.ts";

const scratch = makeScratch("file");
const E2E_TIMEOUT_MS = 60_000;

function fake(extra = ""): Tree {
  const t = scratch.tree({ config: FAKE_CONFIG(extra) });
  t.script("pre.sh", "echo preparing");
  t.script("post.sh", "echo done");
  return t;
}

/** Runs a program under a pseudo-terminal (util-linux `script`); what the terminal showed. */
async function onTerminal(t: Tree, program: string, args: string[]): Promise<{ out: string; code: number }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const proc = Bun.spawn(["script", "-qec", t.argv(program, args).map(quote).join(" "), "/dev/null"], {
    cwd: t.root,
    env: { ...process.env, CNCOP_HOME: t.root, TERM: "xterm", NO_COLOR: "1" },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  proc.stdin.end();
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { out: out.replace(/\r\n/g, "\n"), code };
}

describe("a dry run says it is one and what would happen", () => {
  test.concurrent("the agent's command and its own summary, the commands that would run, on the terminal", async () => {
    const t = scratch.track(agentTree());
    t.script("pre.sh", "exit 0");
    const src = nodePath.join(t.root, "data");
    mkdirSync(src);
    writeFileSync(nodePath.join(src, "a.txt"), "four");
    t.addJob({ jobtitle: "Demo files", jobtype: "CIFS", source: src, destination: nodePath.join(t.root, "backup"), prerun: "pre.sh --dump", postsuccess: "pre.sh ok" });
    const r = await t.run("cncopagent", ["-n", "Demo files"]);
    expect(r.exitCode).toBe(0);
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe("cncopagent: dry run: agents get -n; no pre/post command, no email, no log pruning");
    expect(r.stderr).toContain(`job 1 'Demo files': dry run: would run prerun: ${t.bin}/pre.sh --dump\n`);
    expect(r.stderr).toMatch(/job 1 'Demo files': dry run: runs \S+backupagentcifs -c \S+cncop3\.ini -n 1\n/);
    expect(r.stderr).toMatch(/job 1 'Demo files': backupagentcifs: dry run: 1 file\(s\) in 1 folder\(s\): would copy 1 \(4 bytes\)/);
    expect(r.stderr).toContain(`job 1 'Demo files': dry run: would run postsuccess: ${t.bin}/pre.sh ok\n`);
    expect(r.stderr).not.toContain("preparing");
  }, E2E_TIMEOUT_MS);
});

describe("one line per phase, the same words everywhere", () => {
  test.concurrent("prerun, attempt N of M, waiting before the re-run, post command: plain and on a terminal", async () => {
    const t = fake();
    t.script("fakeagent", `${mark("tries")}; [ "$(wc -l < "$CNCOP_HOME/marks/tries")" -ge 2 ] && exit 0; exit 75`);
    t.addJob({ jobtitle: "Flaky", jobtype: "FAKE", retrydelay: 1, maxretries: 2, prerun: "pre.sh", postsuccess: "post.sh" });
    const plain = await t.run("cncopagent", ["Flaky"]);
    expect(plain.exitCode).toBe(0);
    const said = plain.stderr.split("\n").filter((l) => l !== "").map((l) => l.replace(/\d+(\.\d+)? (ms|s)$/, "T"));
    expect(said).toEqual([
      expect.stringMatching(/^job 1 'Flaky': started, session \S+$/),
      `job 1 'Flaky': prerun: ${t.bin}/pre.sh`,
      "job 1 'Flaky': attempt 1 of 3",
      "job 1 'Flaky': waiting 1 s before re-run 1",
      "job 1 'Flaky': attempt 2 of 3",
      `job 1 'Flaky': postsuccess: ${t.bin}/post.sh`,
      "job 1 'Flaky': OK (completed on attempt 2) after T",
    ]);
    writeFileSync(nodePath.join(t.root, "marks", "tries"), "");
    const tty = await onTerminal(t, "cncopagent", ["Flaky"]);
    expect(tty.code).toBe(0);
    expect(tty.out).toContain("\x1b[2K"); // the live line
    expect(tty.out).toContain("attempt 2 of 3");
    expect(tty.out).toContain("waiting 1 s before re-run 1");
    expect(tty.out).toContain(`job 1 'Flaky': prerun: ${t.bin}/pre.sh\n`);
    expect(tty.out).toMatch(/✔ job 1 'Flaky': OK \(completed on attempt 2\) after \d/);
  }, E2E_TIMEOUT_MS);

  test.concurrent("a skipped job is never 'started', and names the process that still runs", async () => {
    const t = fake();
    const go = nodePath.join(t.root, "release");
    t.script("fakeagent", `${mark("agent", "$$")}; ${waitForFileSh(go)}`);
    t.addJob({ jobtitle: "Long", jobtype: "FAKE" });
    const first = t.spawn("cncopagent", ["Long"]);
    const [agentPid] = await waitForMarker(t, "agent");
    await waitFor(() => recordedPids(t, 1).includes(Number(agentPid)), 15_000, "the lock record to list the agent");
    // The dispatcher dies (SIGKILL, no clean-up); its agent lives on.
    first.kill("SIGKILL");
    await first.exited;
    const second = await t.run("cncopagent", ["Long"]);
    writeFileSync(go, "");
    expect(second.exitCode).toBe(3);
    expect(second.stderr).not.toContain(": started");
    expect(second.stderr).toMatch(new RegExp(`^job 1 'Long' is already running since .* as session \\S+ \\(pid ${agentPid} still running; its cncopagent, pid ${first.pid}, has ended\\), skipped\n$`));
    await waitFor(() => processGone(Number(agentPid)), 15_000, "the agent to end");
  }, E2E_TIMEOUT_MS);

  test.concurrent("after Ctrl-C the jobs not started are said on the terminal, not only in the log", async () => {
    const t = fake();
    t.script("fakeagent", `${mark("agent", "$$")}; ${waitForFileSh(nodePath.join(t.root, "never"))}`);
    t.addJob({ jobtitle: "First", jobtype: "FAKE" });
    t.addJob({ jobtitle: "Second", jobtype: "FAKE" });
    const proc = t.spawn("cncopagent", ["First", "Second"], { env: { CNCOP_KILL_GRACE_MS: "400" } });
    await waitForMarker(t, "agent");
    proc.kill("SIGINT");
    const r = await collect(proc);
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain("job 2 'Second': not started: cncopagent was interrupted by SIGINT\n");
    expect(readMarker(t, "agent")).toHaveLength(1);
  }, E2E_TIMEOUT_MS);

  test.concurrent("a completion email that went is mentioned", async () => {
    const server = await startSmtp({ mode: "plain" });
    scratch.defer(() => server.close());
    const t = fake(`\n[mail]\nmail_server = localhost\nmail_port = ${server.port}\nmail_security = none`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "Mailed", jobtype: "FAKE" });
    const r = await t.run("cncopagent", ["--email", "ops@example.com", "Mailed"]);
    expect(r.exitCode).toBe(0);
    expect(server.messages).toHaveLength(1);
    expect(r.stderr).toMatch(/job 1 'Mailed': OK \(completed\) after .*\njob 1 'Mailed': email sent to ops@example\.com\n/);
  }, E2E_TIMEOUT_MS);

  test.concurrent("-t TYPE (or -a) whose jobs are all disabled says they are disabled", async () => {
    const t = fake();
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "Off one", jobtype: "FAKE", enabled: 0 });
    t.addJob({ jobtitle: "Off two", jobtype: "FAKE", enabled: 0 });
    const r = await t.run("cncopagent", ["-t", "fake"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("cncopagent: nothing to run: the 2 jobs that match are disabled (cncopjobs enable JOB turns one on; a job named on the command line runs even when disabled)\n");
  }, E2E_TIMEOUT_MS);
});
