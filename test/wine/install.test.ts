/**
 * A Windows install as an administrator makes it: cncopagent.exe alone in Bin\, then
 * `cncopagent --link`; jobs added with cncopjobs; a CIFS job that really copies a folder;
 * `w` over the logs it leaves.
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { makeScratch } from "../helpers/scratch.ts";
import { FAKE_AGENT, finalStates, makeWinTree, winPath, type WinTree } from "./helpers.ts";

const scratch = makeScratch("file");
const tree = (o?: Parameters<typeof makeWinTree>[0]): WinTree => scratch.track(makeWinTree(o));
const OTHERS = ["cncopreporter", "cncopjobs", "w", "backupagentcifs", "backupagentrsync", "backupagentftp", "backupagentsftp"];

describe("cncopagent --link", () => {
  test.concurrent("makes every <program>.exe beside cncopagent.exe, refreshes stale ones, removes old launchers, and is idempotent", async () => {
    const t = tree({ links: false });
    // What an upgrade over an older build leaves: a launcher and an old copy of a program.
    writeFileSync(nodePath.join(t.bin, "w.cmd"), '@echo off\r\nsetlocal\r\nset "CNCOP_PROGRAM=w"\r\n"%~dp0cncopagent.exe" %*\r\n');
    writeFileSync(nodePath.join(t.bin, "mine.cmd"), "@echo off\r\necho not ours\r\n");
    copyFileSync(FAKE_AGENT, nodePath.join(t.bin, "cncopjobs.exe"));
    const first = await t.run("cncopagent", ["--link"]);
    expect(first.exitCode).toBe(0);
    const lines = first.stdout.trim().split(/\r?\n/);
    expect(lines).toContain(`created: ${t.winBin}\\w.exe`);
    expect(lines).toContain(`refreshed: ${t.winBin}\\cncopjobs.exe (was another file of ${statSync(FAKE_AGENT).size} bytes)`);
    expect(lines).toContain(`removed launcher: ${t.winBin}\\w.cmd`);
    expect(lines.at(-1)).toBe(`links ready beside ${t.winBin}\\cncopagent.exe: 4 created, 1 refreshed, 0 up to date, 1 old launcher(s) removed`);
    const ino = statSync(nodePath.join(t.bin, "cncopagent.exe")).ino;
    for (const n of OTHERS) expect({ n, ino: statSync(nodePath.join(t.bin, `${n}.exe`)).ino }).toEqual({ n, ino });
    expect(readdirSync(t.bin).sort()).toEqual(["backupagentcifs.exe", "backupagentrsync.exe", "cncopagent.exe", "cncopjobs.exe", "cncopreporter.exe", "mine.cmd", "w.exe"]);

    const again = await t.run("cncopagent", ["--link"]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout.trim().split(/\r?\n/)).toEqual([...OTHERS.map((n) => `up to date: ${t.winBin}\\${n}.exe`), `links ready beside ${t.winBin}\\cncopagent.exe: 0 created, 0 refreshed, 7 up to date`]);

    // The links start their own programs; --link with a job is a usage error.
    const jobs = await t.run("cncopjobs", ["--version"]);
    expect(jobs.stdout.trim()).toMatch(/^cncopjobs \d/);
    const bad = await t.run("cncopagent", ["--link", "-a"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--link takes no other option and no job");
  });
});

describe("a CIFS job on Windows", () => {
  test.concurrent("added with cncopjobs, listed, shown, run by cncopagent: the folder is copied, the job ends OK, w summarises, pages (.cmd pager) and follows", async () => {
    const t = tree({ tag: "cifs & co " });
    const src = scratch.dir("win-src");
    const dst = nodePath.join(scratch.dir("win-dst"), "backup of files");
    const files: Record<string, string> = { "a.txt": "alpha\r\n", "sub dir/b & c.txt": "beta", "sub dir/deeper/Ünï ✓.bin": "\u0000\u0001binary" };
    for (const [rel, body] of Object.entries(files)) {
      mkdirSync(nodePath.dirname(nodePath.join(src, rel)), { recursive: true });
      writeFileSync(nodePath.join(src, rel), body);
    }
    const add = await t.run("cncopjobs", ["add", "--title", "Files & more", "--type", "cifs", "--source", winPath(src), "--destination", winPath(dst), "--maxretries", "0"]);
    expect(add.stderr).toContain("job 1 'Files & more' added (CIFS)");
    expect(add.exitCode).toBe(0);

    const list = await t.run("cncopjobs", ["list"]);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(/^\s*1\s+Files & more\s+CIFS\s+yes\s+0\s+never/m);
    const show = await t.run("cncopjobs", ["show", "files & MORE", "--json"]);
    expect(JSON.parse(show.stdout)).toMatchObject({ jobid: 1, jobtitle: "Files & more", jobtype: "CIFS", source: winPath(src), destination: winPath(dst) });

    const run = await t.run("cncopagent", ["Files & more"]);
    expect({ code: run.exitCode, stderr: run.stderr }).toMatchObject({ code: 0 });
    expect(finalStates(run)).toEqual({ 1: "OK" });
    for (const [rel, body] of Object.entries(files)) expect({ rel, body: readFileSync(nodePath.join(dst, rel), "utf8") }).toEqual({ rel, body });
    const jf = t.reports("JF-");
    expect(jf.map((r) => [r.body.jobid, r.body.status])).toEqual([[1, "OK"]]);
    expect(t.caLogText()).toContain(`attempt 1: run: '${t.winBin}\\backupagentcifs.exe' -c '${t.winConfig}' 1`);

    const [prefixes, summary] = await Promise.all([t.run("w", []), t.run("w", ["cifs"])]);
    expect(prefixes.exitCode).toBe(0);
    expect(prefixes.stdout).toMatch(/^\s*CA\b/m);
    expect(prefixes.stdout).toMatch(/^\s*CIFS\b/m);
    expect(summary.exitCode).toBe(0);
    expect(summary.stdout).toContain("Files & more");
    expect(summary.stdout).toMatch(/\bOK\b/);

    // w -p with a .cmd pager: started through cmd.exe (Bun cannot start a .cmd itself), the log's path intact.
    t.fake("fakeagent.exe");
    t.batch("pager.cmd", ["@echo off", '"%~dp0fakeagent.exe" %*']);
    const paged = await t.run("w", ["-p", "CIFS"], { env: { PAGER: `"${t.winBin}\\pager.cmd"` } });
    expect({ code: paged.exitCode, stderr: paged.stderr }).toMatchObject({ code: 0 });
    const pagerCall = t.calls().find((c) => c.program.toLowerCase().endsWith("\\fakeagent.exe"));
    expect(pagerCall?.argv).toHaveLength(1);
    expect(pagerCall!.argv[0]).toMatch(/\\Spool\\Logs\\CIFS-\d{8}\.log$/);
    expect(pagerCall!.argv[0]!.toLowerCase().startsWith(t.winRoot.toLowerCase())).toBe(true);

    // w -f CA follows the newest CA log: a line appended is shown.
    const follow = t.spawn("w", ["-f", "CA"]);
    scratch.defer(() => follow.kill("SIGKILL"));
    const logs = readdirSync(nodePath.join(t.root, "Logs")).filter((n) => n.startsWith("CA-"));
    const chunks: string[] = [];
    const reader = (async () => {
      const dec = new TextDecoder();
      for await (const c of follow.stdout) {
        chunks.push(dec.decode(c, { stream: true }));
        if (chunks.join("").includes("appended by the test")) break;
      }
    })();
    const until = Date.now() + 60_000;
    while (!chunks.join("").includes("cncopagent finished") && Date.now() < until) await Bun.sleep(50);
    writeFileSync(nodePath.join(t.root, "Logs", logs.at(-1)!), `${readFileSync(nodePath.join(t.root, "Logs", logs.at(-1)!), "utf8")}2026-11-30 12:00:00 appended by the test\r\n`);
    await Promise.race([reader, Bun.sleep(60_000)]);
    follow.kill("SIGKILL");
    expect(chunks.join("")).toContain("appended by the test");
    expect(existsSync(nodePath.join(t.root, "Spool", "Logs"))).toBe(true);
  });
});
