/**
 * backupagentftp.exe on Windows (Wine), run by cncopagent.exe against vsftpd on this
 * machine's 127.0.0.1 (Wine programs share the host's loopback): a plain FTP job mirrors a
 * tree (unicode names, spaces, a subfolder, an empty and a 3 MB file) with its modification
 * times and fetches nothing the second time; an FTPS job (AUTH TLS, settings.ca_file) on a
 * server that requires the control connection's TLS session to be resumed on every data
 * connection; a refused connection is a RE-RUN.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readdirSync, readFileSync } from "node:fs";
import nodePath from "node:path";
import { treeDiff } from "../helpers/agents.ts";
import { UNICODE_DIR, UNICODE_FILE, write, writePatterned } from "../helpers/fixtures.ts";
import { freePort } from "../helpers/rsync-daemon.ts";
import { startVsftpd, TEST_PASSWORD, TEST_USER, wholeSeconds, type Vsftpd } from "../helpers/remote-servers.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { finalStates, makeWinTree, winPath, type WinTree } from "./helpers.ts";

const scratch = makeScratch("file");
let ftpd: Vsftpd;

beforeAll(async () => {
  // vsftpd's default: a data connection must resume the control connection's TLS session.
  ftpd = await startVsftpd(scratch.dir("win-ftpd"), { tls: "explicit", requireSslReuse: true });
  scratch.defer(() => ftpd.stop());
}, 30_000);

/** The source tree, served by vsftpd (which reads it as the test user): whole-second times. */
function makeFtpSource(): string {
  const src = scratch.dir("win-ftp-src");
  chmodSync(src, 0o755);
  write(src, `${UNICODE_DIR}/${UNICODE_FILE}`, "unicode names\n");
  write(src, "with space/a b.txt", "spaces\r\n");
  write(src, "sub/deeper/c.txt", "in a subfolder\n", 1_600_000_000);
  write(src, "empty.dat", "");
  writePatterned(nodePath.join(src, "big.bin"), 3 * 1024 * 1024 + 17);
  wholeSeconds(src);
  return src;
}

/** An FTP or FTPS job in `t` from `url` into a Windows path inside the tree. */
function ftpJob(t: WinTree, jobtype: string, url: string, settings: object = {}): { id: number; dest: string } {
  const dest = nodePath.join(t.root, "Backup", jobtype.toLowerCase());
  const settingsText = JSON.stringify({ user: TEST_USER, password: TEST_PASSWORD, ...settings });
  const id = t.addJob({ jobtitle: `${jobtype} job`, jobtype, source: url, destination: winPath(dest), maxretries: 0, retrydelay: 0, settings: settingsText });
  return { id, dest };
}

/** The agent's log lines (Spool\Logs\FTP-<date>.log), without timestamps and CRs. */
function ftpLogLines(t: WinTree): string[] {
  const dir = nodePath.join(t.root, "Spool", "Logs");
  return readdirSync(dir)
    .filter((n) => /^FTP-\d{8}\.log$/.test(n))
    .sort()
    .flatMap((n) => readFileSync(nodePath.join(dir, n), "utf8").split(/\r?\n/))
    .filter((l) => l !== "")
    .map((l) => l.replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} /, ""));
}
const finishes = (t: WinTree) => ftpLogLines(t).filter((l) => l.startsWith("FINISH "));
const url = (path: string, port = ftpd.port) => `ftp://127.0.0.1:${port}${path}`;

describe("backupagentftp on Windows", () => {
  test.concurrent("FTP: a tree mirrored with its times by cncopagent; the second run fetches nothing", async () => {
    const t = scratch.track(makeWinTree({ tag: "ftp " }));
    const src = makeFtpSource();
    const { id, dest } = ftpJob(t, "FTP", url(src));
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
    expect(ftpLogLines(t)).toContain("INFO 5 file(s) in 5 folder(s): fetched 0 (0 bytes), 5 unchanged, 0 deleted, 0 failed, 0 vanished or changed, 0 excluded, 0 skipped");
    expect(t.reports("JF-").map((r) => [r.body.jobid, r.body.status])).toEqual([
      [id, "OK"],
      [id, "OK"],
    ]);
    expect(treeDiff(src, dest)).toEqual([]);
  });

  test.concurrent("FTPS: explicit TLS with settings.ca_file, the TLS session resumed on every data connection", async () => {
    const t = scratch.track(makeWinTree({ tag: "ftps " }));
    const src = makeFtpSource();
    const { id, dest } = ftpJob(t, "FTPS", url(src), { ca_file: winPath(ftpd.certFile) });
    const r = await t.run("cncopagent", [String(id)]);
    expect({ code: r.exitCode, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(finalStates(r)).toEqual({ [id]: "OK" });
    expect(treeDiff(src, dest)).toEqual([]);
    expect(ftpLogLines(t)).toContain(`INFO FTPS, explicit TLS (AUTH TLS); certificate checked against ${winPath(ftpd.certFile)}`);
    expect(finishes(t).at(-1)).toMatch(/^FINISH .* state OK files 5 bytes 3145782 /);
  });

  // Under Wine 8, Bun's Windows sockets (Bun.connect and node:net alike) take a refused
  // loopback connection for an open one, though Wine's own Winsock reports WSAECONNREFUSED
  // (connect, select + SO_ERROR, ConnectEx): the agent then hears nothing from the
  // "server" and its bounded wait ends the attempt. Either way the verdict is RE-RUN.
  test.concurrent("a refused connection is RE-RUN (exit 75): with maxretries 0 the job ends ERROR saying so", async () => {
    const t = scratch.track(makeWinTree({ tag: "ftp-refused " }));
    const port = await freePort();
    const { id } = ftpJob(t, "FTP", url("/tmp", port), { timeout: 2 });
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
