/**
 * The remote agents on Windows (Wine), run by cncopagent.exe against servers on this
 * machine's 127.0.0.1 (Wine programs share the host's loopback). backupagentftp.exe and
 * vsftpd: a plain FTP job mirrors a tree (unicode names, spaces, a subfolder, an empty and a
 * 3 MB file) with its modification times and fetches nothing the second time; an FTPS job
 * (AUTH TLS, settings.ca_file) on a server that requires the control connection's TLS
 * session to be resumed on every data connection; a refused connection is a RE-RUN.
 * backupagentsftp.exe and OpenSSH's sshd: the same tree with a key login (private_key and
 * known_hosts as Windows paths) and no second fetch; a password login; a changed host key
 * is ERROR with the fingerprint, nothing fetched.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { treeDiff } from "../helpers/agents.ts";
import { UNICODE_DIR, UNICODE_FILE, write, writePatterned } from "../helpers/fixtures.ts";
import { freePort } from "../helpers/rsync-daemon.ts";
import { startSshd, startVsftpd, TEST_PASSWORD, TEST_USER, wholeSeconds, type Sshd, type Vsftpd } from "../helpers/remote-servers.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { finalStates, makeWinTree, winPath, type WinTree } from "./helpers.ts";

const scratch = makeScratch("file");
let ftpd: Vsftpd;
let sshd: Sshd;
/** A known_hosts file listing sshd's host key (Linux path). */
let knownHosts: string;

beforeAll(async () => {
  const sshDir = scratch.dir("win-sshd");
  chmodSync(sshDir, 0o755);
  // vsftpd's default: a data connection must resume the control connection's TLS session.
  [ftpd, sshd] = await Promise.all([startVsftpd(scratch.dir("win-ftpd"), { tls: "explicit", requireSslReuse: true }), startSshd(sshDir)]);
  scratch.defer(() => ftpd.stop());
  scratch.defer(() => sshd.stop());
  knownHosts = nodePath.join(sshDir, "known_hosts");
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
}, 30_000);

/** The source tree, served by vsftpd or sshd (which may read it as the test user): whole-second times. */
function makeRemoteSource(): string {
  const src = scratch.dir("win-remote-src");
  chmodSync(src, 0o755);
  write(src, `${UNICODE_DIR}/${UNICODE_FILE}`, "unicode names\n");
  write(src, "with space/a b.txt", "spaces\r\n");
  write(src, "sub/deeper/c.txt", "in a subfolder\n", 1_600_000_000);
  write(src, "empty.dat", "");
  writePatterned(nodePath.join(src, "big.bin"), 3 * 1024 * 1024 + 17);
  wholeSeconds(src);
  return src;
}

/** A job in `t` from `url` into a Windows path inside the tree; FTP and FTPS log in as the test user. */
function remoteJob(t: WinTree, jobtype: string, url: string, settings: object = {}): { id: number; dest: string } {
  const dest = nodePath.join(t.root, "Backup", jobtype.toLowerCase());
  const login = jobtype === "SFTP" ? {} : { user: TEST_USER, password: TEST_PASSWORD };
  const settingsText = JSON.stringify({ ...login, ...settings });
  const id = t.addJob({ jobtitle: `${jobtype} job`, jobtype, source: url, destination: winPath(dest), maxretries: 0, retrydelay: 0, settings: settingsText });
  return { id, dest };
}

/** The agent's log lines (Spool\Logs\<FTP|SFTP>-<date>.log), without timestamps and CRs. */
function agentLogLines(t: WinTree, kind = "FTP"): string[] {
  const dir = nodePath.join(t.root, "Spool", "Logs");
  return readdirSync(dir)
    .filter((n) => new RegExp(`^${kind}-\\d{8}\\.log$`).test(n))
    .sort()
    .flatMap((n) => readFileSync(nodePath.join(dir, n), "utf8").split(/\r?\n/))
    .filter((l) => l !== "")
    .map((l) => l.replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} /, ""));
}
const finishes = (t: WinTree, kind = "FTP") => agentLogLines(t, kind).filter((l) => l.startsWith("FINISH "));
const url = (path: string, port = ftpd.port) => `ftp://127.0.0.1:${port}${path}`;

describe("backupagentftp on Windows", () => {
  test.concurrent("FTP: a tree mirrored with its times by cncopagent; the second run fetches nothing", async () => {
    const t = scratch.track(makeWinTree({ tag: "ftp " }));
    const src = makeRemoteSource();
    const { id, dest } = remoteJob(t, "FTP", url(src));
    const first = await t.run("cncopagent", [String(id)]);
    expect({ code: first.exitCode, stderr: first.stderr }).toMatchObject({ code: 0 });
    expect(finalStates(first)).toEqual({ [id]: "OK" });
    expect(treeDiff(src, dest)).toEqual([]);
    expect(readFileSync(nodePath.join(dest, UNICODE_DIR, UNICODE_FILE), "utf8")).toBe("unicode names\n");
    expect(finishes(t).at(-1)).toMatch(/^FINISH .* state OK files 5 bytes 3145782 /);
    expect(t.caLogText()).toContain(`attempt 1: run: '${t.winBin}\\backupagentftp.exe' -c '${t.winConfig}' ${id}`);

    const second = await t.run("cncopagent", [String(id)]);
    expect(second.exitCode).toBe(0);
    expect(finalStates(second)).toEqual({ [id]: "OK" });
    expect(finishes(t)).toHaveLength(2);
    expect(finishes(t).at(-1)).toMatch(/^FINISH .* state OK files 0 bytes 0 /);
    expect(agentLogLines(t)).toContain("INFO 5 file(s) in 5 folder(s): fetched 0 (0 bytes), 5 unchanged, 0 deleted, 0 failed, 0 vanished or changed, 0 excluded, 0 skipped");
    expect(t.reports("JF-").map((r) => [r.body.jobid, r.body.status])).toEqual([
      [id, "OK"],
      [id, "OK"],
    ]);
    expect(treeDiff(src, dest)).toEqual([]);
  });

  test.concurrent("FTPS: explicit TLS with settings.ca_file, the TLS session resumed on every data connection", async () => {
    const t = scratch.track(makeWinTree({ tag: "ftps " }));
    const src = makeRemoteSource();
    const { id, dest } = remoteJob(t, "FTPS", url(src), { ca_file: winPath(ftpd.certFile) });
    const r = await t.run("cncopagent", [String(id)]);
    expect({ code: r.exitCode, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(finalStates(r)).toEqual({ [id]: "OK" });
    expect(treeDiff(src, dest)).toEqual([]);
    expect(agentLogLines(t)).toContain(`INFO FTPS, explicit TLS (AUTH TLS); certificate checked against ${winPath(ftpd.certFile)}`);
    expect(finishes(t).at(-1)).toMatch(/^FINISH .* state OK files 5 bytes 3145782 /);
  });

  // Under Wine 8, Bun's Windows sockets (Bun.connect and node:net alike) take a refused
  // loopback connection for an open one, though Wine's own Winsock reports WSAECONNREFUSED
  // (connect, select + SO_ERROR, ConnectEx): the agent then hears nothing from the
  // "server" and its bounded wait ends the attempt. Either way the verdict is RE-RUN.
  test.concurrent("a refused connection is RE-RUN (exit 75): with maxretries 0 the job ends ERROR saying so", async () => {
    const t = scratch.track(makeWinTree({ tag: "ftp-refused " }));
    const port = await freePort();
    const { id } = remoteJob(t, "FTP", url("/tmp", port), { timeout: 2 });
    const r = await t.run("cncopagent", [String(id)]);
    expect(r.exitCode).toBe(1);
    expect(finalStates(r)).toEqual({ [id]: "ERROR" });
    expect(finishes(t).at(-1)).toMatch(/^FINISH .* state RE-RUN /);
    expect(t.caLogText()).toMatch(/\[backupagentftp#1 stderr\] WARN re-run requested: connecting to ftp:\/\/cncoptest@127\.0\.0\.1:\d+: (the connection failed \(ECONNREFUSED\)|timed out: .*the server sent nothing for 2 s)/);
    const jf = t.reports("JF-").map((x) => x.body);
    expect(jf).toEqual([expect.objectContaining({ jobid: id, status: "ERROR", reason: expect.stringContaining("agent asked for a re-run but maxretries is 0") })]);
    expect((jf[0]!.attempts as { exitcode: number }[]).map((a) => a.exitcode)).toEqual([75]);
  });
});

const sftpUrl = (user: string, path: string) => `sftp://${user}@127.0.0.1:${sshd.port}${path}`;

describe("backupagentsftp on Windows", () => {
  test.concurrent("SFTP, key login (private_key, known_hosts as Windows paths): a tree mirrored with its times; the second run fetches nothing", async () => {
    const t = scratch.track(makeWinTree({ tag: "sftp " }));
    const src = makeRemoteSource();
    const { id, dest } = remoteJob(t, "SFTP", sftpUrl("root", src), { private_key: winPath(sshd.rootKey), known_hosts: winPath(knownHosts) });
    const first = await t.run("cncopagent", [String(id)]);
    expect({ code: first.exitCode, stderr: first.stderr }).toMatchObject({ code: 0 });
    expect(finalStates(first)).toEqual({ [id]: "OK" });
    expect(treeDiff(src, dest)).toEqual([]);
    expect(readFileSync(nodePath.join(dest, UNICODE_DIR, UNICODE_FILE), "utf8")).toBe("unicode names\n");
    expect(finishes(t, "SFTP").at(-1)).toMatch(/^FINISH .* state OK files 5 bytes 3145782 /);
    expect(t.caLogText()).toContain(`attempt 1: run: '${t.winBin}\\backupagentsftp.exe' -c '${t.winConfig}' ${id}`);

    const second = await t.run("cncopagent", [String(id)]);
    expect(second.exitCode).toBe(0);
    expect(finalStates(second)).toEqual({ [id]: "OK" });
    expect(finishes(t, "SFTP")).toHaveLength(2);
    expect(finishes(t, "SFTP").at(-1)).toMatch(/^FINISH .* state OK files 0 bytes 0 /);
    expect(t.reports("JF-").map((r) => [r.body.jobid, r.body.status])).toEqual([
      [id, "OK"],
      [id, "OK"],
    ]);
    expect(treeDiff(src, dest)).toEqual([]);
  });

  test.concurrent("SFTP, password login as the test user", async () => {
    const t = scratch.track(makeWinTree({ tag: "sftp-pw " }));
    const src = scratch.dir("win-sftp-pw");
    chmodSync(src, 0o755);
    write(src, "f.txt", "by password\n");
    const { id, dest } = remoteJob(t, "SFTP", sftpUrl(TEST_USER, src), { password: TEST_PASSWORD, known_hosts: winPath(knownHosts) });
    const r = await t.run("cncopagent", [String(id)]);
    expect({ code: r.exitCode, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(finalStates(r)).toEqual({ [id]: "OK" });
    expect(readFileSync(nodePath.join(dest, "f.txt"), "utf8")).toBe("by password\n");
    expect(t.caLogText() + agentLogLines(t, "SFTP").join("\n")).not.toContain(TEST_PASSWORD);
  });

  test.concurrent("SFTP, a changed host key: ERROR with the fingerprint, nothing fetched", async () => {
    const t = scratch.track(makeWinTree({ tag: "sftp-hostkey " }));
    const src = scratch.dir("win-sftp-hk");
    chmodSync(src, 0o755);
    write(src, "f.txt", "data\n");
    const changed = nodePath.join(scratch.dir("win-sftp-kh"), "known_hosts");
    writeFileSync(changed, `${sshd.otherHostKeyLine}\n`);
    const { id, dest } = remoteJob(t, "SFTP", sftpUrl("root", src), { private_key: winPath(sshd.rootKey), known_hosts: winPath(changed) });
    const r = await t.run("cncopagent", [String(id)]);
    expect(r.exitCode).toBe(1);
    expect(finalStates(r)).toEqual({ [id]: "ERROR" });
    const mismatch = /HOST KEY MISMATCH: \[127\.0\.0\.1\]:\d+ presented ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}, but .* lists another key for it \(line 1: ssh-ed25519 SHA256:/;
    expect(t.caLogText()).toMatch(new RegExp(`\\[backupagentsftp#1 stderr\\] .*${mismatch.source}`));
    expect(t.caLogText()).toContain(`, but ${winPath(changed)} lists another key for it`);
    expect(agentLogLines(t, "SFTP").join("\n")).toMatch(mismatch);
    expect(finishes(t, "SFTP").at(-1)).toMatch(/^FINISH .* state ERROR /);
    expect(existsSync(nodePath.join(dest, "f.txt"))).toBe(false);
  });
});
