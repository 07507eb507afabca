/** `cncopagent --link` (src/install/links.ts) on this machine's file system: create, keep, refresh, refuse. */
import { describe, expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { SUITE_PROGRAMS } from "../../src/cli/program-names.ts";
import { PROGRAMS } from "../../src/cli.ts";
import { describeLinks, isSuiteLauncher, linkPrograms } from "../../src/install/links.ts";

function folder(): { dir: string; exe: string; done: () => void } {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-links-"));
  const exe = nodePath.join(dir, "cncopagent");
  writeFileSync(exe, "the executable");
  return { dir, exe, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("linkPrograms", () => {
  test("the suite's names are the programs src/cli.ts can start", () => {
    expect(Object.keys(PROGRAMS).sort()).toEqual([...SUITE_PROGRAMS].sort());
  });

  test("creates every other program as a hard link, then finds them up to date", () => {
    const f = folder();
    try {
      const first = linkPrograms({ exe: f.exe, programs: SUITE_PROGRAMS, platform: "linux" });
      expect(first.map((o) => [o.action, nodePath.basename(o.path)])).toEqual(SUITE_PROGRAMS.filter((n) => n !== "cncopagent").map((n) => ["created", n]));
      for (const n of SUITE_PROGRAMS) expect(statSync(nodePath.join(f.dir, n)).ino).toBe(statSync(f.exe).ino);
      const again = linkPrograms({ exe: f.exe, programs: SUITE_PROGRAMS, platform: "linux" });
      expect(new Set(again.map((o) => o.action))).toEqual(new Set(["up to date"]));
      expect(describeLinks(f.exe, again)).toEndWith(`links ready beside ${f.exe}: 0 created, 0 refreshed, 7 up to date\n`);
    } finally {
      f.done();
    }
  });

  test("a stale file or a symbolic link is replaced by the link; a folder in the way fails", () => {
    const f = folder();
    try {
      writeFileSync(nodePath.join(f.dir, "w"), "the previous version");
      symlinkSync("/bin/true", nodePath.join(f.dir, "cncopjobs"));
      mkdirSync(nodePath.join(f.dir, "cncopreporter"));
      const other = nodePath.join(f.dir, "other");
      writeFileSync(other, "x");
      linkSync(other, nodePath.join(f.dir, "backupagentcifs"));
      const out = linkPrograms({ exe: f.exe, programs: SUITE_PROGRAMS, platform: "linux" });
      const by = Object.fromEntries(out.map((o) => [nodePath.basename(o.path), o]));
      expect(by.w).toMatchObject({ action: "refreshed", detail: "was another file of 20 bytes" });
      expect(by.cncopjobs).toMatchObject({ action: "refreshed", detail: "was a symbolic link" });
      expect(by.backupagentcifs?.action).toBe("refreshed");
      expect(by.cncopreporter).toMatchObject({ action: "failed", detail: "a folder of that name is in the way" });
      expect(by.backupagentrsync?.action).toBe("created");
      for (const n of ["w", "cncopjobs", "backupagentcifs"]) expect(statSync(nodePath.join(f.dir, n)).ino).toBe(statSync(f.exe).ino);
      expect(statSync(other).size).toBe(1);
      expect(describeLinks(f.exe, out)).toContain("some links could not be made");
    } finally {
      f.done();
    }
  });

  test("isSuiteLauncher knows an old build's launcher and nothing else", () => {
    const f = folder();
    try {
      const old = nodePath.join(f.dir, "w.cmd");
      writeFileSync(old, '@echo off\r\nsetlocal\r\nset "CNCOP_PROGRAM=w"\r\n"%~dp0cncopagent.exe" %*\r\n');
      const mine = nodePath.join(f.dir, "mine.cmd");
      writeFileSync(mine, "@echo off\r\necho hello\r\n");
      expect([isSuiteLauncher(old), isSuiteLauncher(mine), isSuiteLauncher(nodePath.join(f.dir, "none.cmd"))]).toEqual([true, false, false]);
    } finally {
      f.done();
    }
  });
});
