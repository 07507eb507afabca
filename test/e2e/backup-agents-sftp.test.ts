/**
 * backupagentsftp against a real OpenSSH sshd on 127.0.0.1 (started here, as root, with
 * its own host key and config; /etc/ssh is never touched): key and password logins, a
 * key with a passphrase, incremental runs, every finish state, an unknown and a changed
 * host key (ERROR with the fingerprint), a connection cut mid-transfer (RE-RUN, the next
 * run continues the file), a file changed while read, secrets kept out of the logs.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { agentArgs, agentTree, dailyLog, logLines, onSmallDisk, runAgent, spawnAgent, treeDiff } from "../helpers/agents.ts";
import { makeSource, UNICODE_DIR, UNICODE_FILE, write, writePatterned } from "../helpers/fixtures.ts";
import { freePort } from "../helpers/rsync-daemon.ts";
import { KEY_PASSPHRASE, startProxy, startSilentServer, startSshd, TEST_PASSWORD, TEST_USER, wholeSeconds, type Sshd } from "../helpers/remote-servers.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { partName } from "../../src/backup-agents/remote/local-side.ts";
import { waitFor } from "../helpers/tree.ts";

const SFTP = "backupagentsftp";
const scratch = makeScratch("file");
const LINKS = (rel: string) => rel === "link-to-plain" || rel === "link-to-docs";
const finish = (log: string) => logLines(log).filter((l) => l.startsWith("FINISH ")).at(-1) ?? "";

let sshd: Sshd;
let kbd: Sshd;
let knownHosts: string;

beforeAll(async () => {
  const dir = scratch.dir("sshd");
  chmodSync(dir, 0o755);
  [sshd, kbd] = await Promise.all([startSshd(dir), startSshd(dir, { keyboardOnly: true })]);
  scratch.defer(() => sshd.stop());
  scratch.defer(() => kbd.stop());
  knownHosts = nodePath.join(dir, "known_hosts");
  writeFileSync(knownHosts, `# test\n${sshd.knownHostsLine}\n${kbd.knownHostsLine}\n`);
}, 30_000);

function setup(settings: object, user = "root", port?: number) {
  const tree = scratch.track(agentTree());
  const src = scratch.dir("sftp-src");
  chmodSync(src, 0o755);
  const dest = nodePath.join(scratch.dir("sftp-dest"), "backup");
  const jobid = tree.addJob({ jobtitle: `sftp ${Math.random()}`, jobtype: "SFTP", source: `sftp://${user}@127.0.0.1:${port ?? sshd.port}${src}`, destination: dest, settings: JSON.stringify({ known_hosts: knownHosts, ...settings }) });
  return { tree, src, dest, jobid };
}

describe("backupagentsftp", () => {
  test.concurrent("key login: mirrors a tree (unicode, deep, empty, a file link), then fetches nothing when nothing changed", async () => {
    const { tree, src, dest, jobid } = setup({ private_key: sshd.rootKey });
    makeSource(src);
    write(src, "with space/a b.txt", "spaces\n");
    wholeSeconds(src);
    const r1 = await runAgent(tree, SFTP, agentArgs(tree, jobid));
    expect(r1.stderr).toBe("");
    expect(r1.exitCode).toBe(0);
    expect(treeDiff(src, dest, LINKS)).toEqual([]);
    expect(readFileSync(nodePath.join(dest, "link-to-plain"), "utf8")).toBe("hello, backup\n");
    expect(readFileSync(nodePath.join(dest, UNICODE_DIR, UNICODE_FILE), "utf8")).toBe("unicode names\n");
    expect(finish(dailyLog(tree, "SFTP"))).toMatch(/ state OK files 9 /);
    expect(tree.reports("JF-").map((r) => r.body.status)).toEqual(["OK"]);
    const r2 = await runAgent(tree, SFTP, agentArgs(tree, jobid, ["-n"]));
    expect(r2.exitCode).toBe(0);
    expect(r2.stdout.split("\n").filter((l) => l.startsWith("would "))).toEqual([]);
    write(src, "docs/report.md", "changed\n", 1_700_000_000);
    const r3 = await runAgent(tree, SFTP, agentArgs(tree, jobid));
    expect(r3.exitCode).toBe(0);
    expect(finish(dailyLog(tree, "SFTP"))).toMatch(/ state OK files 1 bytes 8 /);
    expect(statSync(nodePath.join(dest, "docs/report.md")).mtimeMs).toBe(1_700_000_000_000);
  }, 60_000);

  test.concurrent("password login (also keyboard-interactive), and a key with a passphrase; secrets never in a log or an output", async () => {
    const a = setup({ password: TEST_PASSWORD }, TEST_USER);
    const b = setup({ private_key: sshd.rootKeyWithPassphrase, passphrase: KEY_PASSPHRASE });
    const c = setup({ password: TEST_PASSWORD }, TEST_USER, kbd.port);
    for (const x of [a, b, c]) write(x.src, "f.txt", "data\n");
    const [ra, rb, rc] = await Promise.all([a, b, c].map((x) => runAgent(x.tree, SFTP, agentArgs(x.tree, x.jobid))));
    expect([ra!.exitCode, rb!.exitCode, rc!.exitCode]).toEqual([0, 0, 0]);
    for (const [x, r] of [[a, ra!], [b, rb!], [c, rc!]] as const) {
      expect(readFileSync(nodePath.join(x.dest, "f.txt"), "utf8")).toBe("data\n");
      const all = dailyLog(x.tree, "SFTP") + r.stdout + r.stderr + JSON.stringify(x.tree.reports());
      expect(all).not.toContain(TEST_PASSWORD);
      expect(all).not.toContain(KEY_PASSPHRASE);
    }
  }, 60_000);

  test.concurrent("cncopagent runs an SFTP job through backupagentsftp; cncopjobs -t x lists both remote agents as present", async () => {
    const { tree, src, dest, jobid } = setup({ private_key: sshd.rootKey });
    write(src, "f.txt", "via cncopagent\n");
    const r = await tree.run("cncopagent", [String(jobid)]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(nodePath.join(dest, "f.txt"), "utf8")).toBe("via cncopagent\n");
    expect(tree.reports("JF-").map((x) => [x.body.status, x.body.jobtype])).toEqual([["OK", "SFTP"]]);
    const types = await tree.run("cncopjobs", ["-t", "x"]);
    expect(types.stdout).toMatch(/^FTP\s+FTP Server Backup\s+backupagentftp\s+FTP\s+yes\s+built-in$/m);
    expect(types.stdout).toMatch(/^FTPS\s+FTP over TLS Backup\s+backupagentftp\s+FTP\s+yes\s+built-in$/m);
    expect(types.stdout).toMatch(/^SFTP\s+FTP over SSH Backup\s+backupagentsftp\s+SFTP\s+yes\s+built-in$/m);
  }, 60_000);

  test.concurrent("login refused, wrong passphrase, missing path, a full disk: ERROR; connection refused, a silent server: RE-RUN", async () => {
    const bad = setup({ password: "not-the-Password-9" }, TEST_USER);
    const pp = setup({ private_key: sshd.rootKeyWithPassphrase, passphrase: "wrong passphrase" });
    const missing = setup({ private_key: sshd.rootKey });
    const port = await freePort();
    const refused = setup({ private_key: sshd.rootKey }, "root", port);
    const silent = startSilentServer();
    scratch.defer(() => silent.stop());
    const mute = setup({ private_key: sshd.rootKey, timeout: 1 }, "root", silent.port);
    const db = new (await import("bun:sqlite")).Database(missing.tree.dbFile);
    db.query("UPDATE BackupJob SET source = source || '/nothing here'").run();
    db.close();
    const full = setup({ private_key: sshd.rootKey });
    writePatterned(nodePath.join(full.src, "big.bin"), 2 * 1024 * 1024);
    const [rb, rp, rm, rr, rt] = await Promise.all([bad, pp, missing, refused, mute].map((x) => runAgent(x.tree, SFTP, agentArgs(x.tree, x.jobid))));
    const rf = await runAgent(full.tree, SFTP, agentArgs(full.tree, full.jobid), { wrap: onSmallDisk(nodePath.dirname(full.dest), "1m") });
    expect(rf.exitCode).toBe(1);
    expect(rf.stderr).toMatch(/the destination is full \(no space left on the device\)/);
    expect(rt!.exitCode).toBe(75);
    expect(rt!.stderr).toMatch(/timed out/);
    expect(rb!.exitCode).toBe(1);
    expect(rb!.stderr).toMatch(/login refused for user "cncoptest"/);
    expect(dailyLog(bad.tree, "SFTP")).not.toContain("not-the-Password-9");
    expect(rp!.exitCode).toBe(1);
    expect(rp!.stderr).toMatch(/private key cannot be used/);
    expect(rp!.stderr).not.toContain("wrong passphrase");
    expect(rm!.exitCode).toBe(1);
    expect(rm!.stderr).toMatch(/the source folder .*nothing here does not exist/);
    expect(rr!.exitCode).toBe(75);
    expect(rr!.stderr).toMatch(/ECONNREFUSED/);
  }, 60_000);

  test.concurrent("an unknown host key and a changed one are ERROR, with the fingerprint; nothing is fetched", async () => {
    const dir = scratch.dir("kh");
    const unknown = nodePath.join(dir, "unknown");
    const changed = nodePath.join(dir, "changed");
    writeFileSync(unknown, "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n");
    writeFileSync(changed, `${sshd.otherHostKeyLine}\n`);
    const a = setup({ private_key: sshd.rootKey, known_hosts: unknown });
    const b = setup({ private_key: sshd.rootKey, known_hosts: changed });
    for (const x of [a, b]) write(x.src, "f.txt", "data\n");
    const [ra, rb] = await Promise.all([a, b].map((x) => runAgent(x.tree, SFTP, agentArgs(x.tree, x.jobid))));
    const fp = /ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}/;
    expect(ra!.exitCode).toBe(1);
    expect(ra!.stderr).toMatch(/the host key of \[127\.0\.0\.1\]:\d+ is unknown: ssh-ed25519 SHA256:/);
    expect(ra!.stderr).toMatch(fp);
    expect(rb!.exitCode).toBe(1);
    expect(rb!.stderr).toMatch(/HOST KEY MISMATCH: \[127\.0\.0\.1\]:\d+ presented ssh-ed25519 SHA256:\S+, but .* lists another key for it \(line 1: ssh-ed25519 SHA256:/);
    expect(existsSync(nodePath.join(a.dest, "f.txt")) || existsSync(nodePath.join(b.dest, "f.txt"))).toBe(false);
  }, 60_000);

  test.concurrent("a connection cut mid-transfer is RE-RUN; the next run continues the file and completes", async () => {
    const proxy = await startProxy(sshd.port, { cutAfter: 3 * 1024 * 1024 });
    scratch.defer(() => proxy.stop());
    const kh = nodePath.join(scratch.dir("kh"), "known_hosts");
    writeFileSync(kh, `${sshd.knownHostsLine}\n${sshd.knownHostsLine.replace(`:${sshd.port} `, `:${proxy.port} `)}\n`);
    const { tree, src, dest, jobid } = setup({ private_key: sshd.rootKey, known_hosts: kh }, "root", proxy.port);
    const size = 8 * 1024 * 1024 + 5;
    writePatterned(nodePath.join(src, "big.bin"), size);
    write(src, "small.txt", "s\n");
    wholeSeconds(src);
    const r1 = await runAgent(tree, SFTP, agentArgs(tree, jobid));
    expect(r1.exitCode).toBe(75);
    expect(proxy.cuts).toBeGreaterThan(0);
    const part = nodePath.join(dest, partName("big.bin"));
    expect(existsSync(part)).toBe(true);
    const kept = statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    const db = new (await import("bun:sqlite")).Database(tree.dbFile);
    db.query("UPDATE BackupJob SET source = ? WHERE jobid = ?").run(`sftp://root@127.0.0.1:${sshd.port}${src}`, jobid);
    db.close();
    const r2 = await runAgent(tree, SFTP, agentArgs(tree, jobid));
    expect(r2.exitCode).toBe(0);
    expect(treeDiff(src, dest)).toEqual([]);
    expect(logLines(dailyLog(tree, "SFTP")).some((l) => l.startsWith(`INFO resuming big.bin at byte ${kept} of ${size}`))).toBe(true);
  }, 60_000);

  test.concurrent("a file changed while it is read is RE-RUN; the rest is fetched", async () => {
    const proxy = await startProxy(sshd.port, { holdAfter: 1024 * 1024 });
    scratch.defer(() => proxy.stop());
    const kh = nodePath.join(scratch.dir("kh"), "known_hosts");
    writeFileSync(kh, `${sshd.knownHostsLine.replace(`:${sshd.port} `, `:${proxy.port} `)}\n`);
    const { tree, src, dest, jobid } = setup({ private_key: sshd.rootKey, known_hosts: kh, parallel: 1 }, "root", proxy.port);
    write(src, "a.txt", "a\n");
    writePatterned(nodePath.join(src, "b.log"), 4 * 1024 * 1024);
    utimesSync(nodePath.join(src, "b.log"), 1_600_000_000, 1_600_000_000);
    const proc = spawnAgent(tree, SFTP, agentArgs(tree, jobid));
    await waitFor(() => proxy.holding || proc.exitCode !== null, 40_000, "the transfer to stall");
    appendFileSync(nodePath.join(src, "b.log"), "more\n");
    proxy.release();
    const stderr = await new Response(proc.stderr).text();
    expect(await proc.exited).toBe(75);
    expect(stderr).toMatch(/b\.log changed on the server while being fetched/);
    expect(readFileSync(nodePath.join(dest, "a.txt"), "utf8")).toBe("a\n");
    expect(existsSync(nodePath.join(dest, "b.log"))).toBe(false);
  }, 60_000);
});
