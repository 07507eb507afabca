/**
 * backupagentcifs when things go wrong: unreadable entries, files that change or vanish
 * while being read, interruption, a full destination, a missing source, bad settings
 * and command lines. Slow copies use settings.bwlimit so the test can act mid-copy.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { agentArgs, agentTree, asUnprivileged, dailyLog, logLines, onSmallDisk, openUp, runAgent, spawnAgent, treeDiff } from "../helpers/agents.ts";
import { waitFor } from "../helpers/tree.ts";
import { write, writePatterned } from "../helpers/fixtures.ts";
import { makeScratch } from "../helpers/scratch.ts";

const CIFS = "backupagentcifs";
const TEMP_RE = /^\.cncop-[0-9a-f]{12}\.tmp$/;
/** 512 KiB at 128 KiB/s: about four seconds of copying to act in. */
const SLOW = { bwlimit: 128 };
const SLOW_SIZE = 512 * 1024;
const SLOW_TEST_MS = 40_000;

const scratch = makeScratch();

function setup(settings: object = {}) {
  const tree = scratch.track(agentTree());
  const src = scratch.dir("src");
  const destParent = scratch.dir("dest");
  const dest = nodePath.join(destParent, "backup");
  const jobid = tree.addJob({ jobtitle: "Failures", jobtype: "CIFS", source: src, destination: dest, settings: JSON.stringify(settings) });
  return { tree, src, dest, destParent, jobid };
}

function setSettings(dbFile: string, jobid: number, settings: object): void {
  const db = new Database(dbFile);
  db.query("UPDATE BackupJob SET settings = ? WHERE jobid = ?").run(JSON.stringify(settings), jobid);
  db.close();
}

const finish = (log: string) => logLines(log).filter((l) => l.startsWith("FINISH ")).at(-1) ?? "";
const temps = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => TEMP_RE.test(n)) : []);

describe("backupagentcifs failures", () => {
  test("unreadable file and folder: logged, the rest copied, the run ends ERROR with a JF-", async () => {
    const { tree, src, dest, destParent, jobid } = setup();
    write(src, "a.txt", "a\n");
    write(src, "secret.txt", "no\n");
    write(src, "locked/inside.txt", "no\n");
    write(src, "z.txt", "z\n");
    openUp([tree.root, src, destParent]);
    chmodSync(nodePath.join(src, "secret.txt"), 0o000);
    chmodSync(nodePath.join(src, "locked"), 0o000);
    const r = await runAgent(tree, CIFS, agentArgs(tree, jobid), { wrap: asUnprivileged() });
    chmodSync(nodePath.join(src, "locked"), 0o755);
    expect(r.exitCode).toBe(1);
    expect(readFileSync(nodePath.join(dest, "a.txt"), "utf8")).toBe("a\n");
    expect(readFileSync(nodePath.join(dest, "z.txt"), "utf8")).toBe("z\n");
    expect(existsSync(nodePath.join(dest, "secret.txt"))).toBe(false);
    const lines = logLines(dailyLog(tree, "CIFS"));
    expect(lines.some((l) => /^ERROR cannot read secret\.txt: .*EACCES/.test(l))).toBe(true);
    expect(lines.some((l) => /^ERROR cannot list folder locked: .*EACCES/.test(l))).toBe(true);
    expect(finish(dailyLog(tree, "CIFS"))).toMatch(/ state ERROR files 2 bytes 4 /);
    expect(r.stderr).toContain("cannot read secret.txt");
    const jf = tree.reports("JF-");
    expect(jf).toHaveLength(1);
    expect(jf[0]!.body).toMatchObject({ status: "ERROR" });
    expect(String(jf[0]!.body.reason)).toContain("2 entries could not be copied");
    expect(tree.reports("JS-")[0]!.body).toMatchObject({ state: "ERROR", files_failed: 2, files_transferred: 2 });
  });

  test("a file changing while read: RE-RUN, no JF-, the good copy stays, no temporary file is left", async () => {
    const { tree, src, dest, jobid } = setup(SLOW);
    writePatterned(nodePath.join(src, "growing.log"), SLOW_SIZE, 1);
    write(src, "other.txt", "other\n");
    const first = tree.addJob({ jobtitle: "fast", jobtype: "CIFS", source: src, destination: dest });
    expect((await runAgent(tree, CIFS, agentArgs(tree, first))).exitCode).toBe(0);
    const good = readFileSync(nodePath.join(dest, "growing.log"));
    writePatterned(nodePath.join(src, "growing.log"), SLOW_SIZE, 2);

    const proc = spawnAgent(tree, CIFS, agentArgs(tree, jobid));
    await waitFor(() => temps(dest).length > 0, 20_000, "the temporary copy of growing.log");
    appendFileSync(nodePath.join(src, "growing.log"), "one more line\n");
    expect(await proc.exited).toBe(75);
    expect(readFileSync(nodePath.join(dest, "growing.log")).equals(good)).toBe(true);
    expect(temps(dest)).toEqual([]);
    const lines = logLines(dailyLog(tree, "CIFS"));
    expect(lines.some((l) => l.startsWith("WARN growing.log changed while being read (its size went from"))).toBe(true);
    expect(finish(dailyLog(tree, "CIFS"))).toMatch(/ state RE-RUN files 0 bytes 0 /);
    expect(tree.reports("JF-").filter((r) => r.body.jobid === jobid)).toEqual([]);
    expect(tree.reports("JS-").find((r) => r.body.jobid === jobid)!.body).toMatchObject({ state: "RE-RUN", details: { changed: 1 } });

    // The re-run (attempt 2 of the same session, now without the limit) copies it and
    // writes the JF- for both attempts.
    setSettings(tree.dbFile, jobid, {});
    const session = /session (\S+)/.exec(finish(dailyLog(tree, "CIFS")))![1]!;
    const again = await runAgent(tree, CIFS, agentArgs(tree, jobid), { env: { CNCOP_SESSION: session, CNCOP_ATTEMPT: "2", CNCOP_JOBID: String(jobid) } });
    expect(again.exitCode).toBe(0);
    expect(treeDiff(src, dest)).toEqual([]);
    const jf = tree.reports("JF-").filter((r) => r.body.jobid === jobid);
    expect(jf).toHaveLength(1);
    expect(jf[0]!.body.session).toBe(session);
    expect((jf[0]!.body.attempts as { exitcode: number }[]).map((a) => a.exitcode)).toEqual([75, 0]);
    expect(jf[0]!.body.started).toBe((jf[0]!.body.attempts as { started: string }[])[0]!.started);
  }, SLOW_TEST_MS);

  test("a file vanishing after it was listed: the rest is copied, RE-RUN", async () => {
    const { tree, src, dest, jobid } = setup(SLOW);
    writePatterned(nodePath.join(src, "a-slow.bin"), SLOW_SIZE);
    write(src, "b-vanishes.txt", "b\n");
    write(src, "c-stays.txt", "c\n");
    const proc = spawnAgent(tree, CIFS, agentArgs(tree, jobid));
    await waitFor(() => temps(dest).length > 0, 20_000, "the temporary copy of a-slow.bin");
    rmSync(nodePath.join(src, "b-vanishes.txt"));
    expect(await proc.exited).toBe(75);
    expect(treeDiff(src, dest)).toEqual([]);
    expect(logLines(dailyLog(tree, "CIFS"))).toContain("WARN b-vanishes.txt vanished while being copied (deleted at the source after it was listed)");
  }, SLOW_TEST_MS);

  test("killed mid-copy: the old copy is intact; the next run removes the leftover and copies", async () => {
    const { tree, src, dest, jobid } = setup(SLOW);
    writePatterned(nodePath.join(src, "data.bin"), SLOW_SIZE, 1);
    const fast = tree.addJob({ jobtitle: "fast", jobtype: "CIFS", source: src, destination: dest });
    expect((await runAgent(tree, CIFS, agentArgs(tree, fast))).exitCode).toBe(0);
    const good = readFileSync(nodePath.join(dest, "data.bin"));
    writePatterned(nodePath.join(src, "data.bin"), SLOW_SIZE, 2);
    const proc = spawnAgent(tree, CIFS, agentArgs(tree, jobid));
    await waitFor(() => temps(dest).length > 0, 20_000, "the temporary copy");
    proc.kill("SIGKILL");
    await proc.exited;
    expect(readFileSync(nodePath.join(dest, "data.bin")).equals(good)).toBe(true);
    expect(temps(dest)).toHaveLength(1);
    expect((await runAgent(tree, CIFS, agentArgs(tree, fast))).exitCode).toBe(0);
    expect(temps(dest)).toEqual([]);
    expect(treeDiff(src, dest)).toEqual([]);
    expect(tree.reports("JS-").at(-1)!.body.details).toMatchObject({ leftovers_removed: 1 });
  }, SLOW_TEST_MS);

  test("SIGTERM mid-copy: stops, cleans up, FINISH ERROR, no JF- (cncopagent writes it)", async () => {
    const { tree, src, dest, jobid } = setup(SLOW);
    writePatterned(nodePath.join(src, "data.bin"), SLOW_SIZE);
    const proc = spawnAgent(tree, CIFS, agentArgs(tree, jobid));
    await waitFor(() => temps(dest).length > 0, 20_000, "the temporary copy");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(1);
    expect(temps(dest)).toEqual([]);
    expect(existsSync(nodePath.join(dest, "data.bin"))).toBe(false);
    expect(finish(dailyLog(tree, "CIFS"))).toMatch(/ state ERROR /);
    expect(logLines(dailyLog(tree, "CIFS"))).toContain("WARN SIGTERM received: stopping");
    expect(tree.reports("JF-")).toEqual([]);
    expect(tree.reports("JS-")[0]!.body).toMatchObject({ state: "ERROR", reason: "interrupted by SIGTERM" });
  }, SLOW_TEST_MS);

  test("destination full: ERROR, and what fitted is there", async () => {
    const { tree, src, dest, jobid } = setup();
    write(src, "a-small.txt", "small\n");
    writePatterned(nodePath.join(src, "b-big.bin"), 3 * 1024 * 1024);
    write(src, "c-small.txt", "small\n");
    mkdirSync(dest, { recursive: true });
    const r = await runAgent(tree, CIFS, agentArgs(tree, jobid), { wrap: onSmallDisk(dest, "1m") });
    expect(r.stderr).not.toContain("mount:");
    expect(r.exitCode).toBe(1);
    const lines = logLines(dailyLog(tree, "CIFS"));
    expect(lines.some((l) => l.startsWith("ERROR the destination is full (no space left on the device) while writing b-big.bin"))).toBe(true);
    expect(finish(dailyLog(tree, "CIFS"))).toMatch(/ state ERROR files 1 bytes 6 /);
    expect(tree.reports("JF-")[0]!.body).toMatchObject({ status: "ERROR" });
  });

  const early: [string, (src: string, dest: string) => { source?: string | null; destination?: string; settings?: string }, RegExp][] = [
    ["source missing", (s) => ({ source: nodePath.join(s, "nope") }), /the source .*nope does not exist/],
    ["source is a file", (s) => ({ source: write(s, "f.txt", "x") }), /is not a folder/],
    ["no source", () => ({ source: null }), /the job has no source/],
    ["destination inside the source", (s) => ({ destination: nodePath.join(s, "backup") }), /overlap/],
    ["source inside the destination", (s) => ({ destination: nodePath.dirname(s) }), /overlap/],
    ["UNC source on POSIX", () => ({ source: "\\\\server\\share\\data" }), /UNC path, which works only on Windows: mount the share/],
    ["settings of the wrong type", () => ({ settings: JSON.stringify({ delete: "yes" }) }), /settings\.delete = "yes" is not valid: expected true or false/],
    ["settings not JSON", () => ({ settings: "{delete" }), /invalid job definition: settings is not valid JSON/],
    ["empty exclude pattern", () => ({ settings: JSON.stringify({ exclude: ["/"] }) }), /exclude pattern "\/" matches nothing/],
  ];
  test.each(early)("%s: ERROR with a clear reason, JF- written", async (_name, change, reason) => {
    const { tree, src, dest } = setup();
    write(src, "x.txt", "x");
    const jobid = tree.addJob({ jobtitle: "bad", jobtype: "CIFS", source: src, destination: dest, ...change(src, dest) });
    const r = await runAgent(tree, CIFS, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(reason);
    expect(logLines(dailyLog(tree, "CIFS")).some((l) => l.startsWith("ERROR ") && reason.test(l))).toBe(true);
    expect(finish(dailyLog(tree, "CIFS"))).toMatch(/ state ERROR files 0 bytes 0 /);
    expect(String(tree.reports("JF-")[0]!.body.reason)).toMatch(reason);
  });

  const usage: [string, (cfg: string) => string[], RegExp][] = [
    ["no jobid", (c) => ["-c", c], /a jobid is required/],
    ["two jobids", (c) => ["-c", c, "1", "2"], /exactly one jobid/],
    ["a jobid that is not a number", (c) => ["-c", c, "abc"], /jobid "abc" is not a whole number/],
    ["an unknown option", (c) => ["-x", "-c", c, "1"], /unknown option -x/],
    ["-c without its value", () => ["1", "-c"], /option -c needs a value/],
    ["an unknown job", (c) => ["-c", c, "999"], /job 999 is not in .*backupjobs\.db/],
  ];
  test.each(usage)("command line: %s exits 1 (ERROR) with a message", async (_name, args, message) => {
    const tree = scratch.track(agentTree());
    const r = await runAgent(tree, CIFS, args(tree.configFile));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(tree.reports()).toEqual([]);
  });

  test("an unreadable job database: with cncopagent's identity the run still ends with a JF-; without, one ERROR line", async () => {
    const tree = scratch.track(agentTree());
    writeFileSync(tree.dbFile, "this is not a database, just text that is long enough to be read as a header\n".repeat(20));
    const env = { CNCOP_JOBID: "7", CNCOP_JOBTITLE: "Nightly", CNCOP_JOBTYPE: "CIFS", CNCOP_SESSION: "s-123", CNCOP_ATTEMPT: "1" };
    const r = await runAgent(tree, CIFS, ["-c", tree.configFile, "7"], { env });
    expect(r.exitCode).toBe(1);
    const jf = tree.reports("JF-");
    expect(jf).toHaveLength(1);
    expect(jf[0]!.body).toMatchObject({ jobid: 7, jobtitle: "Nightly", jobtype: "CIFS", session: "s-123", status: "ERROR" });
    expect(String(jf[0]!.body.reason)).toMatch(/^cannot read the job: Job database .* is not a valid SQLite database/);
    expect(finish(dailyLog(tree, "CIFS"))).toMatch(/^FINISH job 7 'Nightly' session s-123 state ERROR /);

    const alone = await runAgent(tree, CIFS, ["-c", tree.configFile, "8"]);
    expect(alone.exitCode).toBe(1);
    expect(tree.reports("JF-")).toHaveLength(1);
    expect(logLines(dailyLog(tree, "CIFS")).at(-1)).toMatch(/^ERROR backupagentcifs: Job database .* is not a valid SQLite database/);
  });

  test("--help and --version exit 0", async () => {
    const tree = scratch.track(agentTree());
    const help = await runAgent(tree, CIFS, ["--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("usage: backupagentcifs [-?] [-d] -c CONFIG [-n] jobid");
    const version = await runAgent(tree, CIFS, ["--version"]);
    expect(version.stdout).toMatch(/^backupagentcifs \d+\.\d+\.\d+/);
    writeFileSync(nodePath.join(tree.root, "unused"), "");
  });
});
