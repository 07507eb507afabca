/**
 * backupagentcifs end to end on real trees: the copy (byte for byte, with modification
 * times), incremental runs, settings, dry run, large files, the reports and the log.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { agentArgs, agentTree, dailyLog, logLines, runAgent, treeDiff } from "../helpers/agents.ts";
import type { Tree } from "../helpers/tree.ts";
import { makeSource, UNICODE_DIR, UNICODE_FILE, write, writePatterned } from "../helpers/fixtures.ts";
import { makeScratch } from "../helpers/scratch.ts";

const CIFS = "backupagentcifs";
const START_RE = /^START job (\d+) '((?:[^']|'')*)' session (\S+) attempt (\d+)( dry run)?$/;
const FINISH_RE = /^FINISH job (\d+) '((?:[^']|'')*)' session (\S+) state (OK|RE-RUN|ERROR) files (\d+) bytes (\d+) duration (\d+(?:\.\d+)?)s$/;

const scratch = makeScratch();

function setup(settings: object = {}, title = "Bob's files") {
  const tree = scratch.track(agentTree());
  const src = scratch.dir("src");
  const dest = nodePath.join(scratch.dir("dest"), "backup");
  const jobid = tree.addJob({ jobtitle: title, jobtype: "CIFS", source: src, destination: dest, settings: JSON.stringify(settings) });
  return { tree, src, dest, jobid };
}

function finishOf(tree: Tree, n = -1) {
  const lines = logLines(dailyLog(tree, "CIFS")).filter((l) => l.startsWith("FINISH "));
  const m = FINISH_RE.exec(lines.at(n) ?? "");
  if (!m) throw new Error(`no FINISH line in ${dailyLog(tree, "CIFS")}`);
  return { jobid: Number(m[1]), title: m[2]!.replace(/''/g, "'"), session: m[3]!, state: m[4]!, files: Number(m[5]), bytes: Number(m[6]) };
}

describe("backupagentcifs copies trees", () => {
  test("first run: every file at the same path with the same bytes and time; second run copies nothing", async () => {
    const { tree, src, dest, jobid } = setup();
    makeSource(src);
    const r = await runAgent(tree, CIFS, agentArgs(tree, jobid));
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(treeDiff(src, dest)).toEqual([]);
    expect(readlinkSync(nodePath.join(dest, "link-to-plain"))).toBe("plain.txt");
    expect(lstatSync(nodePath.join(dest, "empty.dat")).size).toBe(0);
    expect(readFileSync(nodePath.join(dest, UNICODE_DIR, UNICODE_FILE), "utf8")).toBe("unicode names\n");

    // The log: START, then FINISH with the counts, in the documented format.
    const lines = logLines(dailyLog(tree, "CIFS"));
    const start = START_RE.exec(lines[0]!);
    expect(start?.slice(1, 5)).toEqual([String(jobid), "Bob''s files", start![3]!, "1"]);
    const fin = finishOf(tree);
    // 7 regular files and 2 links.
    expect(fin).toMatchObject({ jobid, title: "Bob's files", session: start![3], state: "OK", files: 9 });
    expect(fin.bytes).toBe(14 + 0 + 14 + 10 + 9000 + (3 * 1024 * 1024 + 17) + 14);

    // The reports: JS with the figures, JF with the state; same session as the log.
    const js = tree.reports("JS-");
    const jf = tree.reports("JF-");
    expect(js).toHaveLength(1);
    expect(jf).toHaveLength(1);
    expect(js[0]!.body).toMatchObject({ type: "jobstatistics", jobid, jobtitle: "Bob's files", jobtype: "CIFS", session: fin.session, agent: CIFS, attempt: 1, state: "OK", files_transferred: 9, files_unchanged: 0, files_total: 9, bytes_transferred: fin.bytes, bytes_total: fin.bytes, files_failed: 0, source: src, destination: dest });
    expect(jf[0]!.body).toMatchObject({ type: "jobfinished", jobid, jobtitle: "Bob's files", jobtype: "CIFS", session: fin.session, status: "OK" });
    const attempts = jf[0]!.body.attempts as { exitcode: number }[];
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.exitcode).toBe(0);
    for (const k of ["hostname", "time", "reason", "started", "finished"]) expect(typeof jf[0]!.body[k]).toBe("string");

    const again = await runAgent(tree, CIFS, agentArgs(tree, jobid));
    expect(again.exitCode).toBe(0);
    expect(finishOf(tree)).toMatchObject({ state: "OK", files: 0, bytes: 0 });
    expect(tree.reports("JS-").map((r) => r.body.files_unchanged)).toContain(9);
    expect(treeDiff(src, dest)).toEqual([]);
  });

  test("incremental: only new and changed files (by size or time) are copied", async () => {
    const { tree, src, dest, jobid } = setup();
    makeSource(src);
    expect((await runAgent(tree, CIFS, agentArgs(tree, jobid))).exitCode).toBe(0);
    write(src, "plain.txt", "hello, backup, changed\n");
    write(src, "docs/report.md", "# REPORT\n".repeat(1000), 1_500_000_000); // same size, other time
    write(src, "new/file.txt", "new\n");
    // Same size and time as the copy: by the documented rule it is unchanged, not re-read.
    const old = lstatSync(nodePath.join(src, "old.txt"));
    writeFileSync(nodePath.join(src, "old.txt"), "FROM 2001\n");
    utimesSync(nodePath.join(src, "old.txt"), old.atime, old.mtime);
    const r = await runAgent(tree, CIFS, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    expect(finishOf(tree)).toMatchObject({ state: "OK", files: 3, bytes: 23 + 9000 + 4 });
    expect(treeDiff(src, dest)).toEqual(["old.txt: content differs"]);
  });

  test("files deleted at the source are kept by default; delete removes them, but never excluded ones", async () => {
    const { tree, src, dest, jobid } = setup();
    makeSource(src);
    write(src, "gone.txt", "soon gone\n");
    write(src, "gone-folder/a/b.txt", "soon gone\n");
    write(dest, "keep.tmp", "excluded at the destination\n");
    expect((await runAgent(tree, CIFS, agentArgs(tree, jobid))).exitCode).toBe(0);
    rmSync(nodePath.join(src, "gone.txt"));
    rmSync(nodePath.join(src, "gone-folder"), { recursive: true });
    expect((await runAgent(tree, CIFS, agentArgs(tree, jobid))).exitCode).toBe(0);
    expect(existsSync(nodePath.join(dest, "gone.txt"))).toBe(true);
    expect(existsSync(nodePath.join(dest, "gone-folder/a/b.txt"))).toBe(true);

    const withDelete = tree.addJob({ jobtitle: "with delete", jobtype: "CIFS", source: src, destination: dest, settings: JSON.stringify({ delete: true, exclude: ["*.tmp"] }) });
    const r = await runAgent(tree, CIFS, agentArgs(tree, withDelete));
    expect(r.exitCode).toBe(0);
    expect(existsSync(nodePath.join(dest, "gone.txt"))).toBe(false);
    expect(existsSync(nodePath.join(dest, "gone-folder"))).toBe(false);
    expect(existsSync(nodePath.join(dest, "keep.tmp"))).toBe(true);
    expect(treeDiff(src, dest, (rel) => rel === "keep.tmp")).toEqual([]);
    const js = tree.reports("JS-").map((x) => x.body).find((b) => b.jobid === withDelete)!;
    expect(js.files_deleted).toBe(2);
  });

  test("exclude patterns: names at any depth, anchored paths, folders only, **", async () => {
    const { tree, src, dest, jobid } = setup({ exclude: ["*.tmp", "cache/", "/top.txt", "logs/**", "Thumbs.db"] });
    const files = ["a.tmp", "sub/b.tmp", "cache/x.bin", "sub/cache/y.bin", "top.txt", "sub/top.txt", "logs/1/2.log", "Thumbs.db", "sub/Thumbs.db", "keep.txt", "sub/cache.txt", "cachefile", "other/cache"];
    for (const rel of files) write(src, rel, rel);
    expect((await runAgent(tree, CIFS, agentArgs(tree, jobid))).exitCode).toBe(0);
    const present = (rel: string) => existsSync(nodePath.join(dest, rel));
    // "cache/" is for folders only: the file other/cache is copied.
    for (const rel of ["keep.txt", "sub/top.txt", "sub/cache.txt", "cachefile", "other/cache"]) expect(present(rel)).toBe(true);
    for (const rel of ["a.tmp", "sub/b.tmp", "cache", "sub/cache", "top.txt", "logs/1", "Thumbs.db", "sub/Thumbs.db"]) expect(present(rel)).toBe(false);
    expect(tree.reports("JS-")[0]!.body.details).toMatchObject({ excluded: 8 });
  });

  test("links are copied as links by default; follow_links copies what they point to", async () => {
    const { tree, src, dest, jobid } = setup({ follow_links: true });
    makeSource(src);
    expect((await runAgent(tree, CIFS, agentArgs(tree, jobid))).exitCode).toBe(0);
    expect(lstatSync(nodePath.join(dest, "link-to-plain")).isFile()).toBe(true);
    expect(readFileSync(nodePath.join(dest, "link-to-plain"), "utf8")).toBe("hello, backup\n");
    expect(lstatSync(nodePath.join(dest, "link-to-docs")).isDirectory()).toBe(true);
    expect(treeDiff(nodePath.join(src, "docs"), nodePath.join(dest, "link-to-docs"))).toEqual([]);
  });

  test("dry run (-n) lists what would be copied and changes nothing; -d adds DEBUG lines", async () => {
    const { tree, src, dest, jobid } = setup();
    write(src, "a.txt", "aaa\n");
    write(src, "sub/b.txt", "bbbb\n");
    const dry = await runAgent(tree, CIFS, agentArgs(tree, jobid, ["-n"]));
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain("would copy a.txt (4 bytes)");
    expect(dry.stdout).toContain("would copy sub/b.txt (5 bytes)");
    expect(existsSync(dest)).toBe(false);
    expect(tree.reports()).toEqual([]);
    expect(logLines(dailyLog(tree, "CIFS"))[0]).toEndWith(" attempt 1 dry run");
    expect(finishOf(tree)).toMatchObject({ state: "OK", files: 2, bytes: 9 });

    const debug = await runAgent(tree, CIFS, ["-d", ...agentArgs(tree, jobid)]);
    expect(debug.exitCode).toBe(0);
    const lines = logLines(dailyLog(tree, "CIFS"));
    expect(lines).toContain("DEBUG copied a.txt (4 bytes), new");
    expect(lines).toContain("DEBUG copied sub/b.txt (5 bytes), new");
    const quiet = await runAgent(tree, CIFS, agentArgs(tree, jobid));
    expect(quiet.exitCode).toBe(0);
    expect(logLines(dailyLog(tree, "CIFS")).filter((l) => l.startsWith("DEBUG unchanged"))).toEqual([]);
  });

  test("a large file is streamed: the agent's memory stays far below the file's size", async () => {
    const { tree, src, dest, jobid } = setup();
    const size = 320 * 1024 * 1024;
    writePatterned(nodePath.join(src, "large.bin"), size, 7);
    const r = await runAgent(tree, CIFS, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    expect(treeDiff(src, dest)).toEqual([]);
    expect(r.maxRssBytes).toBeGreaterThan(0);
    expect(r.maxRssBytes).toBeLessThan(size / 2);
    unlinkSync(nodePath.join(src, "large.bin"));
  }, 40_000);
});

describe("a title made of control characters", () => {
  test("the agent's own output shows it escaped: no line break, no escape sequence reaches a terminal or cncopagent's log", async () => {
    const title = "evil\n2026-01-01 00:00:00 forged line\x1b[2J\x1b]0;owned\x07\r";
    const { tree, src, jobid } = setup({}, title);
    makeSource(src);
    const r = await runAgent(tree, CIFS, agentArgs(tree, jobid));
    expect(r.exitCode).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).not.toContain("\x1b");
    expect(out).not.toContain("\r");
    expect(out).not.toMatch(/\n2026-01-01 00:00:00 forged/);
    expect(r.stdout).toContain("evil\\n2026-01-01 00:00:00 forged line\\x1b[2J\\x1b]0;owned\\x07\\r");
    for (const line of dailyLog(tree, "CIFS").trimEnd().split("\n")) expect(line).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} /);
  });
});
