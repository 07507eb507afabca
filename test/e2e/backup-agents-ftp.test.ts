/**
 * backupagentftp against real vsftpd servers on 127.0.0.1 (started here, as root): plain
 * FTP, FTPS with explicit TLS (AUTH TLS) and implicit TLS, incremental runs, -n, excludes,
 * deletions kept, unicode and deep trees, every finish state, a connection dropped
 * mid-transfer (RE-RUN, the next run continues the file), secrets kept out of the logs.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { agentArgs, agentTree, dailyLog, logLines, onSmallDisk, runAgent, spawnAgent, treeDiff } from "../helpers/agents.ts";
import { makeSource, UNICODE_DIR, UNICODE_FILE, write, writePatterned } from "../helpers/fixtures.ts";
import { freePort } from "../helpers/rsync-daemon.ts";
import { startSilentServer, startVsftpd, TEST_PASSWORD, TEST_USER, wholeSeconds, type Vsftpd } from "../helpers/remote-servers.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { waitFor } from "../helpers/tree.ts";

const FTP = "backupagentftp";
const scratch = makeScratch("file");
const LINKS = (rel: string) => rel === "link-to-plain" || rel === "link-to-docs";
const PART_RE = /^\.cncop-[0-9a-f]{12}\.part$/;

let plain: Vsftpd; // plain FTP and explicit TLS
let implicit: Vsftpd;
let plainOnly: Vsftpd;
let slow: Vsftpd;
let slow2: Vsftpd;
let single: Vsftpd;
let misnamed: Vsftpd; // explicit TLS, its certificate issued for 10.9.9.9, not 127.0.0.1

beforeAll(async () => {
  const dir = scratch.dir("ftpd");
  const other = scratch.dir("ftpd-misnamed");
  const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=10.9.9.9", "-addext", "subjectAltName=IP:10.9.9.9", "-keyout", nodePath.join(other, "ftp-key.pem"), "-out", nodePath.join(other, "ftp-cert.pem")], { stdout: "pipe", stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`openssl: ${made.stderr.toString()}`);
  [plain, implicit, plainOnly, slow, slow2, single, misnamed] = await Promise.all([
    startVsftpd(dir, { tls: "explicit" }),
    startVsftpd(dir, { tls: "implicit" }),
    startVsftpd(dir, { tls: "none" }),
    startVsftpd(dir, { tls: "explicit", maxRate: 256 * 1024 }),
    startVsftpd(dir, { tls: "none", maxRate: 256 * 1024 }),
    startVsftpd(dir, { tls: "none", maxPerIp: 1 }),
    startVsftpd(other, { tls: "explicit" }),
  ]);
  for (const s of [plain, implicit, plainOnly, slow, slow2, single, misnamed]) scratch.defer(() => s.stop());
}, 30_000);

function setup(jobtype: string, source: (src: string) => string, settings: object = {}) {
  const tree = scratch.track(agentTree());
  const src = scratch.dir("ftp-src");
  chmodSync(src, 0o755);
  const dest = nodePath.join(scratch.dir("ftp-dest"), "backup");
  const jobid = tree.addJob({ jobtitle: `ftp ${Math.random()}`, jobtype, source: source(src), destination: dest, settings: JSON.stringify({ user: TEST_USER, password: TEST_PASSWORD, ...settings }) });
  return { tree, src, dest, jobid };
}

const url = (s: Vsftpd, path: string, scheme = "ftp") => `${scheme}://127.0.0.1:${s.port}${path}`;
const finish = (log: string) => logLines(log).filter((l) => l.startsWith("FINISH ")).at(-1) ?? "";
const noSecret = (...texts: string[]) => {
  for (const t of texts) expect(t).not.toContain(TEST_PASSWORD);
};

describe("backupagentftp", () => {
  test.concurrent("FTP: mirrors a tree (unicode, spaces, deep, empty, links), then fetches only what changed, keeps what the server deleted", async () => {
    const { tree, src, dest, jobid } = setup("FTP", (s) => url(plain, s));
    makeSource(src);
    write(src, "with space/a b.txt", "spaces\n");
    wholeSeconds(src);
    const r1 = await runAgent(tree, FTP, agentArgs(tree, jobid));
    expect(r1.stderr).toBe("");
    expect(r1.exitCode).toBe(0);
    expect(treeDiff(src, dest, LINKS)).toEqual([]);
    expect(readFileSync(nodePath.join(dest, "link-to-plain"), "utf8")).toBe("hello, backup\n");
    expect(existsSync(nodePath.join(dest, "link-to-docs"))).toBe(false);
    expect(readFileSync(nodePath.join(dest, UNICODE_DIR, UNICODE_FILE), "utf8")).toBe("unicode names\n");
    const log1 = dailyLog(tree, "FTP");
    expect(finish(log1)).toMatch(/^FINISH .* state OK files 9 /);
    noSecret(log1, r1.stdout, r1.stderr);
    const js = tree.reports("JS-");
    expect(js.length).toBe(1);
    expect(tree.reports("JF-").map((r) => r.body.status)).toEqual(["OK"]);

    // Nothing changed: nothing fetched.
    const r2 = await runAgent(tree, FTP, agentArgs(tree, jobid, ["-d"]));
    expect(r2.exitCode).toBe(0);
    expect(finish(dailyLog(tree, "FTP"))).toMatch(/^FINISH .* state OK files 0 bytes 0 /);
    expect(logLines(dailyLog(tree, "FTP")).some((l) => l === "DEBUG unchanged docs/medium.bin")).toBe(true);

    // One changed (same size, other time), one deleted, one new: -n lists, then the run fetches.
    write(src, "plain.txt", "HELLO, BACKUP\n", 1_700_000_000);
    rmSync(nodePath.join(src, "old.txt"));
    write(src, "new file.txt", "new\n", 1_700_000_001);
    const dry = await runAgent(tree, FTP, agentArgs(tree, jobid, ["-n"]));
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout.split("\n").filter((l) => l.startsWith("would ")).sort()).toEqual(["would fetch link-to-plain (14 bytes)", "would fetch new file.txt (4 bytes)", "would fetch plain.txt (14 bytes)"]);
    expect(readFileSync(nodePath.join(dest, "plain.txt"), "utf8")).toBe("hello, backup\n");
    const r3 = await runAgent(tree, FTP, agentArgs(tree, jobid));
    expect(r3.exitCode).toBe(0);
    expect(readFileSync(nodePath.join(dest, "plain.txt"), "utf8")).toBe("HELLO, BACKUP\n");
    expect(statSync(nodePath.join(dest, "plain.txt")).mtimeMs).toBe(1_700_000_000_000);
    expect(existsSync(nodePath.join(dest, "old.txt"))).toBe(true);
    expect(finish(dailyLog(tree, "FTP"))).toMatch(/^FINISH .* state OK files 3 bytes 32 /);
  }, 60_000);

  test.concurrent("FTP: excludes, and settings.delete removes what the server no longer has", async () => {
    const { tree, src, dest, jobid } = setup("FTP", (s) => url(plain, s), { exclude: ["*.tmp", "cache/"], delete: true, parallel: 2 });
    write(src, "keep.txt", "k\n");
    write(src, "skip.tmp", "t\n");
    write(src, "cache/x.txt", "c\n");
    write(dest, "gone.txt", "old\n");
    write(dest, "local.tmp", "excluded: kept\n");
    const r = await runAgent(tree, FTP, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    expect(readdirSync(dest).sort()).toEqual(["keep.txt", "local.tmp"]);
  }, 60_000);

  test.concurrent("FTPS: explicit TLS with settings.ca_file, and implicit TLS on an ftps:// URL", async () => {
    const a = setup("FTPS", (s) => url(plain, s), { ca_file: plain.certFile });
    const b = setup("FTPS", (s) => url(implicit, s, "ftps"), { ca_file: implicit.certFile });
    for (const x of [a, b]) writePatterned(nodePath.join(x.src, "data.bin"), 300_000);
    const [ra, rb] = await Promise.all([runAgent(a.tree, FTP, agentArgs(a.tree, a.jobid)), runAgent(b.tree, FTP, agentArgs(b.tree, b.jobid))]);
    expect([ra.exitCode, rb.exitCode]).toEqual([0, 0]);
    expect(treeDiff(a.src, a.dest, () => false).filter((d) => !d.includes("modification time"))).toEqual([]);
    expect(treeDiff(b.src, b.dest, () => false).filter((d) => !d.includes("modification time"))).toEqual([]);
    expect(logLines(dailyLog(a.tree, "FTP")).some((l) => l.includes("explicit TLS (AUTH TLS)"))).toBe(true);
    expect(logLines(dailyLog(b.tree, "FTP")).some((l) => l.includes("implicit TLS"))).toBe(true);
  }, 60_000);

  test.concurrent("FTPS: an untrusted certificate, one for another address, and a server without TLS are ERROR, never plain", async () => {
    const a = setup("FTPS", (s) => url(plain, s));
    const b = setup("FTPS", (s) => url(plainOnly, s));
    // Trusted (its own CA file), but issued for 10.9.9.9: the job connects to 127.0.0.1.
    const c = setup("FTPS", (s) => url(misnamed, s), { ca_file: misnamed.certFile });
    write(a.src, "x.txt", "x\n");
    write(b.src, "x.txt", "x\n");
    write(c.src, "x.txt", "x\n");
    const [ra, rb, rc] = await Promise.all([a, b, c].map((x) => runAgent(x.tree, FTP, agentArgs(x.tree, x.jobid))));
    expect(rc!.exitCode).toBe(1);
    expect(rc!.stderr).toMatch(/TLS certificate is not valid \(ERR_TLS_CERT_ALTNAME_INVALID: .*127\.0\.0\.1.*10\.9\.9\.9/);
    expect(existsSync(nodePath.join(c.dest, "x.txt"))).toBe(false);
    expect(ra!.exitCode).toBe(1);
    expect(ra!.stderr).toMatch(/TLS certificate is not valid \(DEPTH_ZERO_SELF_SIGNED_CERT/);
    expect(rb!.exitCode).toBe(1);
    expect(rb!.stderr).toMatch(/refused AUTH TLS .*never falls back to plain FTP/);
    expect(existsSync(nodePath.join(b.dest, "x.txt"))).toBe(false);
    expect(a.tree.reports("JF-").map((r) => [r.body.status, String(r.body.reason).includes("certificate")])).toEqual([["ERROR", true]]);
  }, 60_000);

  test.concurrent("login refused, missing path, an unreadable file: ERROR; connection refused: RE-RUN; the password never shown", async () => {
    const bad = setup("FTP", (s) => url(plain, s), { password: "wrong-Secret-1" });
    const missing = setup("FTP", (s) => url(plain, `${s}/no such folder`));
    const port = await freePort();
    const refused2 = setup("FTP", (s) => `ftp://127.0.0.1:${port}${s}`);
    const unreadable = setup("FTP", (s) => url(plain, s));
    const broken = setup("FTP", (s) => url(plain, s), { password: "Se\ncret-7\r\nSITE x" });
    write(unreadable.src, "a.txt", "a\n");
    chmodSync(write(unreadable.src, "b-secret.txt", "no\n"), 0o600);
    write(unreadable.src, "c.txt", "c\n");
    const [rb, rm, rr, ru, rk] = await Promise.all([bad, missing, refused2, unreadable, broken].map((x) => runAgent(x.tree, FTP, agentArgs(x.tree, x.jobid))));
    // A line break in the password: refused by the settings check before connecting (the
    // client refuses to send one too: test/unit/ftp-client.test.ts); the password never shown.
    expect(rk!.exitCode).toBe(1);
    expect(rk!.stderr).toContain("settings.password is not valid: expected a non-empty string on one line (the value is not shown)");
    for (const text of [rk!.stderr, rk!.stdout, dailyLog(broken.tree, "FTP")]) expect(text).not.toContain("cret-7");
    expect(ru!.exitCode).toBe(1);
    expect(ru!.stderr).toMatch(/b-secret\.txt: the server refuses to send it \(550/);
    expect(readdirSync(unreadable.dest).sort()).toEqual(["a.txt", "c.txt"]);
    expect(rb!.exitCode).toBe(1);
    expect(rb!.stderr).toMatch(/login refused for user "cncoptest" \(530/);
    const logB = dailyLog(bad.tree, "FTP");
    expect(logB).not.toContain("wrong-Secret-1");
    expect(logB).toContain("password set");
    expect(rm!.exitCode).toBe(1);
    expect(rm!.stderr).toMatch(/the source folder .*no such folder does not exist/);
    expect(rr!.exitCode).toBe(75);
    expect(rr!.stderr).toMatch(/ECONNREFUSED/);
    expect(refused2.tree.reports("JF-")).toEqual([]);
    expect(refused2.tree.reports("JS-").length).toBe(1);
  }, 60_000);

  test.concurrent("a busy server (421) and a silent one (timeout) are RE-RUN", async () => {
    const busy = setup("FTP", (s) => url(single, s));
    const silent = startSilentServer();
    scratch.defer(() => silent.stop());
    const mute = setup("FTP", (s) => `ftp://127.0.0.1:${silent.port}${s}`, { timeout: 1 });
    // The one session the busy server allows, held open while the agent tries.
    const banner = Promise.withResolvers<void>();
    const holder = await Bun.connect({ hostname: "127.0.0.1", port: single.port, socket: { data: () => banner.resolve() } });
    scratch.defer(() => holder.end());
    await banner.promise;
    const [rb, rm] = await Promise.all([busy, mute].map((x) => runAgent(x.tree, FTP, agentArgs(x.tree, x.jobid))));
    expect(rb!.exitCode).toBe(75);
    expect(rb!.stderr).toMatch(/the server is busy or closing \(421 /);
    expect(rm!.exitCode).toBe(75);
    expect(rm!.stderr).toMatch(/timed out/i);
  }, 60_000);

  test.concurrent("a connection dropped mid-transfer is RE-RUN; the next run continues the file (REST) and completes", async () => {
    const { tree, src, dest, jobid } = setup("FTP", (s) => url(slow, s));
    const size = 1536 * 1024;
    writePatterned(nodePath.join(src, "big.bin"), size);
    wholeSeconds(src);
    const proc = spawnAgent(tree, FTP, agentArgs(tree, jobid));
    const partSize = () => {
      const p = existsSync(dest) ? readdirSync(dest).find((n) => PART_RE.test(n)) : undefined;
      return p ? statSync(nodePath.join(dest, p)).size : 0;
    };
    await waitFor(() => partSize() >= 300 * 1024, 40_000, "part of big.bin");
    slow.dropSessions();
    expect(await proc.exited).toBe(75);
    const kept = partSize();
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(size);
    const db = new (await import("bun:sqlite")).Database(tree.dbFile);
    db.query("UPDATE BackupJob SET source = ? WHERE jobid = ?").run(url(plain, src), jobid);
    db.close();
    const r = await runAgent(tree, FTP, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    expect(treeDiff(src, dest)).toEqual([]);
    expect(logLines(dailyLog(tree, "FTP")).some((l) => l.startsWith(`INFO resuming big.bin at byte ${kept} of ${size}`))).toBe(true);
  }, 60_000);

  test.concurrent("a file that grows while it is fetched is RE-RUN, the rest fetched; the re-run fetches it", async () => {
    const { tree, src, dest, jobid } = setup("FTP", (s) => url(slow2, s), { parallel: 1 });
    write(src, "a-small.txt", "small\n");
    writePatterned(nodePath.join(src, "b-growing.log"), 512 * 1024);
    utimesSync(nodePath.join(src, "b-growing.log"), 1_600_000_000, 1_600_000_000);
    const proc = spawnAgent(tree, FTP, agentArgs(tree, jobid));
    await waitFor(() => existsSync(dest) && readdirSync(dest).some((n) => PART_RE.test(n)) && existsSync(nodePath.join(dest, "a-small.txt")), 40_000, "the fetch of b-growing.log");
    appendFileSync(nodePath.join(src, "b-growing.log"), "more lines\n".repeat(1000));
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain("changed on the server while being fetched");
    expect(await proc.exited).toBe(75);
    expect(logLines(dailyLog(tree, "FTP")).some((l) => /^WARN b-growing\.log changed on the server while being fetched/.test(l))).toBe(true);
    expect(existsSync(nodePath.join(dest, "b-growing.log"))).toBe(false);
    writeFileSync(nodePath.join(src, "c.txt"), "c\n");
  }, 60_000);

  test.concurrent("a full destination is ERROR", async () => {
    const { tree, src, dest, jobid } = setup("FTP", (s) => url(plain, s));
    writePatterned(nodePath.join(src, "big.bin"), 2 * 1024 * 1024);
    const r = await runAgent(tree, FTP, agentArgs(tree, jobid), { wrap: onSmallDisk(nodePath.dirname(dest), "1m") });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the destination is full \(no space left on the device\)/);
  }, 60_000);
});
