/**
 * backupagentrsync end to end with the real rsync: local paths, an rsync:// daemon on
 * loopback with a password, unreachable and busy servers, a missing rsync, and the
 * exit-status table through a stand-in rsync that exits with each status.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { RSYNC_EXIT_TABLE } from "../../src/backup-agents/rsync/exit-codes.ts";
import { STOP_GRACE_MS } from "../../src/backup-agents/rsync/rsync-agent.ts";
import { parseProcStat } from "../../src/process/proc-info.ts";
import { agentArgs, agentTree, asUnprivileged, dailyLog, logLines, openUp, runAgent, spawnAgent, treeDiff } from "../helpers/agents.ts";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { makeSource, removeAll, tempDir, write } from "../helpers/fixtures.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { type Daemon, freePort, RSYNC_PASSWORD, startBusyDaemon, startDaemon } from "../helpers/rsync-daemon.ts";

const RSYNC = "backupagentrsync";
const finish = (tree: Tree) => logLines(dailyLog(tree, "RSYNC")).filter((l) => l.startsWith("FINISH ")).at(-1) ?? "";

const scratch = makeScratch();

function setup() {
  const tree = scratch.track(agentTree());
  const src = scratch.dir("rsrc");
  const destParent = scratch.dir("rdest");
  return { tree, src, destParent, dest: nodePath.join(destParent, "backup") };
}

/** Every secret-bearing place: the logs, the reports, the agent's output. */
function everythingWritten(tree: Tree, out: string): string {
  const logs = readdirSync(nodePath.join(tree.root, "Spool", "Logs")).map((n) => readFileSync(nodePath.join(tree.root, "Spool", "Logs", n), "utf8"));
  return [out, ...logs, ...tree.reports().map((r) => JSON.stringify(r.body))].join("\n");
}

describe("backupagentrsync with local paths", () => {
  test("copies the tree byte for byte with times; the second run transfers nothing", async () => {
    const { tree, src, dest } = setup();
    makeSource(src);
    const jobid = tree.addJob({ jobtitle: "rsync local", jobtype: "RSYNC", source: src, destination: dest });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    expect(treeDiff(src, dest)).toEqual([]);
    expect(finish(tree)).toMatch(new RegExp(`^FINISH job ${jobid} 'rsync local' session \\S+ state OK files 7 bytes ${14 + 14 + 10 + 9000 + 3 * 1024 * 1024 + 17 + 14} duration \\d+(\\.\\d+)?s$`));
    const js = tree.reports("JS-")[0]!.body;
    expect(js).toMatchObject({ type: "jobstatistics", agent: RSYNC, state: "OK", files_transferred: 7, files_total: 9, details: { rsync_exitcode: 0, source_kind: "local", destination_kind: "local" } });
    expect(tree.reports("JF-")[0]!.body).toMatchObject({ type: "jobfinished", status: "OK", jobid });

    const again = await runAgent(tree, RSYNC, agentArgs(tree, jobid));
    expect(again.exitCode).toBe(0);
    expect(finish(tree)).toMatch(/ state OK files 0 bytes 0 /);
  });

  test("delete and exclude settings; a dry run lists and changes nothing", async () => {
    const { tree, src, dest } = setup();
    write(src, "keep.txt", "keep\n");
    write(src, "skip.tmp", "skip\n");
    write(dest, "stale.txt", "stale\n");
    const jobid = tree.addJob({ jobtitle: "rsync delete", jobtype: "RSYNC", source: src, destination: dest, settings: JSON.stringify({ delete: true, exclude: ["*.tmp"] }) });
    const dry = await runAgent(tree, RSYNC, agentArgs(tree, jobid, ["-n"]));
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain("keep.txt");
    expect(dry.stdout).toContain("*deleting   stale.txt");
    expect(existsSync(nodePath.join(dest, "stale.txt"))).toBe(true);
    expect(existsSync(nodePath.join(dest, "keep.txt"))).toBe(false);
    expect(tree.reports()).toEqual([]);
    expect(logLines(dailyLog(tree, "RSYNC")).some((l) => / --delete '--exclude=\*\.tmp' .*--dry-run/.test(l))).toBe(true);

    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    expect(readdirSync(dest).sort()).toEqual(["keep.txt"]);
    expect(tree.reports("JS-")[0]!.body).toMatchObject({ files_deleted: 1 });
  });

  test("an unreadable file: rsync exits 23, the rest is copied, ERROR naming the file", async () => {
    const { tree, src, destParent, dest } = setup();
    write(src, "a.txt", "a\n");
    write(src, "secret.txt", "no\n");
    openUp([tree.root, src, destParent]);
    chmodSync(nodePath.join(src, "secret.txt"), 0o000);
    const jobid = tree.addJob({ jobtitle: "unreadable", jobtype: "RSYNC", source: src, destination: dest });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid), { wrap: asUnprivileged() });
    expect(r.exitCode).toBe(1);
    expect(readFileSync(nodePath.join(dest, "a.txt"), "utf8")).toBe("a\n");
    expect(String(tree.reports("JF-")[0]!.body.reason)).toMatch(/^rsync exit status 23 \(partial transfer due to error\): .*secret\.txt.*Permission denied/);
    expect(tree.reports("JS-")[0]!.body.details).toMatchObject({ rsync_exitcode: 23 });
  });

  test("rsync missing: ERROR with how to install it", async () => {
    const { tree, src, dest } = setup();
    write(src, "a.txt", "a");
    const byPath = tree.addJob({ jobtitle: "no rsync on PATH", jobtype: "RSYNC", source: src, destination: dest });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, byPath), { env: { PATH: tree.root } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/rsync was not found \(rsync on PATH\): install it \(Debian\/Ubuntu: apt-get install rsync/);
    expect(tree.reports("JF-")[0]!.body.reason).toMatch(/apt-get install rsync/);
    const bySetting = tree.addJob({ jobtitle: "bad rsync path", jobtype: "RSYNC", source: src, destination: dest, settings: JSON.stringify({ rsync: "/nowhere/rsync" }) });
    const r2 = await runAgent(tree, RSYNC, agentArgs(tree, bySetting));
    expect(r2.exitCode).toBe(1);
    expect(r2.stderr).toContain("rsync was not found (/nowhere/rsync)");
  });
});

describe("backupagentrsync over a remote shell (host:path)", () => {
  /** A stand-in for ssh: drops the host and runs the remote command here, as sshd would there. */
  function fakeSsh(tree: Tree, body = 'shift\nexec "$@"'): string {
    const p = nodePath.join(tree.root, "fake-ssh");
    writeFileSync(p, `#!/bin/sh\necho "$@" >> "$0.calls"\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  }

  test("pulls host:path through settings.ssh with rsync's remote-shell protocol", async () => {
    const { tree, src, dest } = setup();
    makeSource(src);
    const ssh = fakeSsh(tree);
    const jobid = tree.addJob({ jobtitle: "over ssh", jobtype: "RSYNC", source: `nas:${src}`, destination: dest, settings: JSON.stringify({ ssh }) });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    expect(treeDiff(src, dest)).toEqual([]);
    expect(readFileSync(`${ssh}.calls`, "utf8")).toMatch(/^nas rsync --server --sender /);
    expect(tree.reports("JS-")[0]!.body.details).toMatchObject({ source_kind: "ssh", destination_kind: "local" });
    expect(logLines(dailyLog(tree, "RSYNC")).some((l) => l.includes(" --rsh ") && l.includes(" --timeout=600 "))).toBe(true);
  });

  test("ssh cannot reach the host: RE-RUN; a refused key: ERROR", async () => {
    const { tree, src, dest } = setup();
    const unreachable = fakeSsh(tree, 'echo "ssh: connect to host nas port 22: Connection refused" >&2\nexit 255');
    const a = tree.addJob({ jobtitle: "unreachable", jobtype: "RSYNC", source: `nas:${src}`, destination: dest, settings: JSON.stringify({ ssh: unreachable }) });
    expect((await runAgent(tree, RSYNC, agentArgs(tree, a))).exitCode).toBe(75);
    const refused = nodePath.join(tree.root, "refused-ssh");
    writeFileSync(refused, '#!/bin/sh\necho "backup@nas: Permission denied (publickey)." >&2\nexit 255\n');
    chmodSync(refused, 0o755);
    const b = tree.addJob({ jobtitle: "refused", jobtype: "RSYNC", source: `nas:${src}`, destination: dest, settings: JSON.stringify({ ssh: refused }) });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, b));
    expect(r.exitCode).toBe(1);
    expect(String(tree.reports("JF-").find((x) => x.body.jobid === b)!.body.reason)).toContain("Permission denied (publickey)");
  });
});

describe("backupagentrsync with an rsync:// daemon on loopback", () => {
  let daemon: Daemon;
  let base: string;
  let pushDir: string;
  let pullDir: string;
  beforeAll(async () => {
    base = tempDir("rsyncd");
    pushDir = nodePath.join(base, "push");
    pullDir = nodePath.join(base, "pull");
    mkdirSync(pushDir, { recursive: true });
    makeSource(pullDir);
    daemon = await startDaemon(nodePath.join(base, "conf"), pushDir, pullDir);
  });
  afterAll(async () => {
    await daemon?.stop();
    removeAll(base);
  });

  test("push with the password: it goes through RSYNC_PASSWORD, never on a command line, log or report", async () => {
    const { tree, src } = setup();
    makeSource(src);
    const jobid = tree.addJob({ jobtitle: "push", jobtype: "RSYNC", source: src, destination: daemon.url("backup", "pushed"), settings: JSON.stringify({ password: RSYNC_PASSWORD }) });
    const r = await runAgent(tree, RSYNC, ["-d", ...agentArgs(tree, jobid)]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(treeDiff(src, nodePath.join(pushDir, "pushed"))).toEqual([]);
    expect(logLines(dailyLog(tree, "RSYNC")).some((l) => l.startsWith("INFO run: ") && l.endsWith("(password in RSYNC_PASSWORD)"))).toBe(true);
    expect(everythingWritten(tree, r.stdout + r.stderr)).not.toContain(RSYNC_PASSWORD);
    expect(tree.reports("JS-")[0]!.body.details).toMatchObject({ destination_kind: "daemon", rsync_exitcode: 0 });
  });

  test("pull from a read-only module", async () => {
    const { tree, dest } = setup();
    const jobid = tree.addJob({ jobtitle: "pull", jobtype: "RSYNC", source: daemon.url("data"), destination: dest, settings: JSON.stringify({ password: RSYNC_PASSWORD }) });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    expect(treeDiff(pullDir, dest)).toEqual([]);
  });

  test("a wrong password is an ERROR (rsync exit 5), not a re-run", async () => {
    const { tree, src } = setup();
    write(src, "a.txt", "a");
    const jobid = tree.addJob({ jobtitle: "wrong password", jobtype: "RSYNC", source: src, destination: daemon.url("backup"), settings: JSON.stringify({ password: "not-the-password" }) });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(1);
    expect(finish(tree)).toMatch(/ state ERROR /);
    expect(String(tree.reports("JF-")[0]!.body.reason)).toMatch(/^rsync exit status 5 \(error starting the client-server protocol\): @ERROR: auth failed/);
    expect(everythingWritten(tree, r.stdout + r.stderr)).not.toContain("not-the-password");
  });

  test("nothing listening: RE-RUN (exit 10), a JS- but no JF-", async () => {
    const { tree, src } = setup();
    write(src, "a.txt", "a");
    const port = await freePort();
    const jobid = tree.addJob({ jobtitle: "refused", jobtype: "RSYNC", source: src, destination: `rsync://backup@127.0.0.1:${port}/backup`, settings: JSON.stringify({ password: RSYNC_PASSWORD }) });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(75);
    expect(finish(tree)).toMatch(/ state RE-RUN files 0 bytes 0 /);
    expect(tree.reports("JF-")).toEqual([]);
    expect(tree.reports("JS-")[0]!.body).toMatchObject({ state: "RE-RUN", details: { rsync_exitcode: 10 } });
  });

  test("a daemon at its connection limit is busy: RE-RUN", async () => {
    const { tree, src } = setup();
    write(src, "a.txt", "a");
    const busy = await startBusyDaemon();
    scratch.defer(() => busy.stop());
    const jobid = tree.addJob({ jobtitle: "busy", jobtype: "RSYNC", source: src, destination: `rsync://backup@127.0.0.1:${busy.port}/backup`, settings: JSON.stringify({ password: RSYNC_PASSWORD }) });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(75);
    expect(logLines(dailyLog(tree, "RSYNC")).some((l) => l.startsWith("WARN re-run requested: rsync exit status 5 (the rsync daemon is busy"))).toBe(true);
  });
});

describe("rsync exit statuses map to states (a stand-in rsync exits with each)", () => {
  const cases: [number, string, number][] = [
    ...RSYNC_EXIT_TABLE.map((r): [number, string, number] => [r.code, "", r.state === "OK" ? 0 : r.state === "RE-RUN" ? 75 : 1]),
    [99, "", 1],
    [255, "ssh: connect to host backup.example.com port 22: Connection refused", 75],
    [255, "Permission denied (publickey).", 1],
    [5, "@ERROR: max connections (3) reached -- try again later", 75],
  ];
  test.each(cases)("rsync exit %d %p: agent exit %d", async (code, stderr, expected) => {
    const { tree, src } = setup();
    const fake = nodePath.join(tree.root, "fake-rsync");
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > "$0.argv"\nprintf '%s' "$RSYNC_PASSWORD" > "$0.password"\n[ -n "$FAKE_STDERR" ] && echo "$FAKE_STDERR" >&2\nexit "$FAKE_CODE"\n`);
    chmodSync(fake, 0o755);
    const jobid = tree.addJob({ jobtitle: "table", jobtype: "RSYNC", source: src, destination: `rsync://backup@backup.example.com/mod`, settings: JSON.stringify({ rsync: fake, password: RSYNC_PASSWORD }) });
    const r = await runAgent(tree, RSYNC, agentArgs(tree, jobid), { env: { FAKE_CODE: String(code), FAKE_STDERR: stderr } });
    expect(r.exitCode).toBe(expected);
    const state = expected === 0 ? "OK" : expected === 75 ? "RE-RUN" : "ERROR";
    expect(finish(tree)).toMatch(new RegExp(` state ${state} `));
    expect(tree.reports("JS-")[0]!.body.details).toMatchObject({ rsync_exitcode: code });
    expect(tree.reports("JF-")).toHaveLength(state === "RE-RUN" ? 0 : 1);
    if (code === 24) expect(logLines(dailyLog(tree, "RSYNC"))).toContain("WARN rsync exit status 24 (partial transfer due to vanished source files): treated as OK");
    const argv = readFileSync(`${fake}.argv`, "utf8").trimEnd().split("\n");
    expect(argv).not.toContain(RSYNC_PASSWORD);
    expect(argv.join(" ")).not.toContain(RSYNC_PASSWORD);
    expect(argv.slice(-3)).toEqual(["--", `${src}/`, "rsync://backup@backup.example.com/mod"]);
    expect(readFileSync(`${fake}.password`, "utf8")).toBe(RSYNC_PASSWORD);
    rmSync(fake);
  });
});

describe("stopping rsync when the agent is told to stop", () => {
  const pgrpOf = (pid: number) => parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"))!.pgrp;
  const gone = (pid: number) => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  const cases: [string, string, number, string][] = [
    ["rsync ends on TERM (status 20, as the real one does)", "exit 20", 0, '"rsync_exitcode":20'],
    ["rsync ignores TERM: KILLed after STOP_GRACE_MS", "", STOP_GRACE_MS, '"rsync_signal":"SIGKILL"'],
  ];
  test.each(cases)("%s", async (_what, onTerm, minMs, detail) => {
    const { tree, src, dest } = setup();
    const fake = nodePath.join(tree.root, "slow-rsync");
    writeFileSync(fake, `#!/bin/sh\ntrap '${onTerm}' TERM\necho $$ > "$0.pid.tmp" && mv "$0.pid.tmp" "$0.pid"\nwhile :; do sleep 0.05; done\n`);
    chmodSync(fake, 0o755);
    const jobid = tree.addJob({ jobtitle: "stopped", jobtype: "RSYNC", source: src, destination: dest, settings: JSON.stringify({ rsync: fake }) });
    const agent = spawnAgent(tree, RSYNC, agentArgs(tree, jobid));
    await waitFor(() => existsSync(`${fake}.pid`), 20_000, "the stand-in rsync");
    const rsyncPid = Number(readFileSync(`${fake}.pid`, "utf8"));
    // In the agent's own group: whoever stops the agent's tree stops rsync too.
    expect(pgrpOf(rsyncPid)).toBe(pgrpOf(agent.pid));
    const t0 = Date.now();
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(minMs - 100);
    expect(gone(rsyncPid)).toBe(true);
    expect(finish(tree)).toMatch(/ state ERROR /);
    expect(JSON.stringify(tree.reports("JS-")[0]!.body)).toContain(detail);
    expect(tree.reports("JS-")[0]!.body).toMatchObject({ reason: "interrupted by SIGTERM" });
  }, 60_000);
});
