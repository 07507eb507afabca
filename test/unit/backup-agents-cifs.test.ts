/** Pure parts of backupagentcifs: excludes, Windows and POSIX locations, errors, times, settings. */
import { describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { entryStat, fromStats } from "../../src/backup-agents/cifs/entry-stat.ts";
import { CIFS_DEFAULTS, readCifsSettings } from "../../src/backup-agents/cifs/cifs-agent.ts";
import { TEMP_RE, tempName } from "../../src/backup-agents/cifs/copy-file.ts";
import { makeExcluder } from "../../src/backup-agents/cifs/exclude.ts";
import { sameTime } from "../../src/backup-agents/cifs/file-times.ts";
import { classifyFsError, shortFsMessage } from "../../src/backup-agents/cifs/fs-errors.ts";
import { childPath, childRel, fsPath, isWithin, resolveLocation } from "../../src/backup-agents/cifs/locations.ts";

describe("exclude patterns", () => {
  const patterns = ["*.tmp", "cache/", "/Top.txt", "logs/**", "a/*/c.txt", "[Tt]humbs.db"];
  const cases: [string, boolean, boolean][] = [
    ["x.tmp", false, true],
    ["deep/er/x.tmp", false, true],
    ["x.tmp.keep", false, false],
    ["cache", true, true],
    ["sub/cache", true, true],
    ["sub/cache", false, false], // a file named cache: the pattern is for folders
    ["Top.txt", false, true],
    ["sub/Top.txt", false, false], // anchored at the root
    ["logs/a", true, true],
    ["logs/a/b.log", false, true],
    ["a/b/c.txt", false, true],
    ["a/b/x/c.txt", false, false],
    ["thumbs.db", false, true],
    ["sub/Thumbs.db", false, true],
    ["plain.txt", false, false],
  ];
  const posix = makeExcluder(patterns, "linux");
  test.each(cases)("linux: %s (folder %p) excluded: %p", (rel, isDir, excluded) => {
    expect(posix.excluded(rel, rel.split("/").at(-1)!, isDir) !== undefined).toBe(excluded);
  });
  test("case: respected on Linux, ignored on Windows", () => {
    expect(posix.excluded("X.TMP", "X.TMP", false)).toBeUndefined();
    expect(posix.excluded("top.txt", "top.txt", false)).toBeUndefined();
    const win = makeExcluder(patterns, "win32");
    expect(win.excluded("X.TMP", "X.TMP", false)?.pattern).toBe("*.tmp");
    expect(win.excluded("top.txt", "top.txt", false)?.pattern).toBe("/Top.txt");
    expect(win.excluded("Sub/CACHE", "CACHE", true)?.pattern).toBe("cache/");
  });
  test("empty patterns are refused", () => {
    expect(() => makeExcluder(["  "], "linux")).toThrow(/matches nothing/);
    expect(() => makeExcluder(["//"], "linux")).toThrow(/matches nothing/);
  });
});

describe("locations", () => {
  const win: [string, string][] = [
    ["C:\\Data\\Users", "C:\\Data\\Users"],
    ["C:/Data/Users/", "C:\\Data\\Users"],
    ["c:\\", "c:\\"],
    ["\\\\fileserver\\share\\dept", "\\\\fileserver\\share\\dept"],
    ["//fileserver/share/dept/", "\\\\fileserver\\share\\dept"],
    ["\\\\fileserver\\share", "\\\\fileserver\\share\\"],
    ["\\\\?\\UNC\\fileserver\\share\\x", "\\\\fileserver\\share\\x"],
    ["\\\\?\\D:\\very\\long", "D:\\very\\long"],
    ["Backups\\today", "E:\\cncop\\Backups\\today"],
    ["  D:\\spaced  ", "D:\\spaced"],
  ];
  test.each(win)("win32: %p -> %p", (text, location) => expect(resolveLocation(text, "source", "E:\\cncop", "win32")).toBe(location));

  const winBad: [string, RegExp][] = [
    ["C:Data", /relative to the current folder of drive C:/],
    ["\\\\server", /names no share/],
    ["smb://server/share", /write it as a UNC path/],
    ["", /the job has no source/],
  ];
  test.each(winBad)("win32: %p is refused", (text, message) => expect(() => resolveLocation(text, "source", "E:\\cncop", "win32")).toThrow(message));

  const posix: [string, string][] = [
    ["/srv/data/", "/srv/data"],
    ["/", "/"],
    ["data/in", "/opt/cncop/data/in"],
    ["/mnt/share/../share/x", "/mnt/share/x"],
  ];
  test.each(posix)("linux: %p -> %p", (text, location) => expect(resolveLocation(text, "destination", "/opt/cncop", "linux")).toBe(location));
  const posixBad: [string, RegExp][] = [
    ["\\\\server\\share", /UNC path, which works only on Windows: mount the share/],
    ["//server/share", /UNC path/],
    ["smb://server/share", /mount the share first/],
    ["a\nb", /line break/],
  ];
  test.each(posixBad)("linux: %p is refused", (text, message) => expect(() => resolveLocation(text, "source", "/opt/cncop", "linux")).toThrow(message));

  test("file-system paths: \\\\?\\ forms on Windows, unchanged elsewhere", () => {
    expect(fsPath("\\\\fileserver\\share\\dept", "win32")).toBe("\\\\?\\UNC\\fileserver\\share\\dept");
    expect(fsPath("C:\\Data", "win32")).toBe("\\\\?\\C:\\Data");
    expect(fsPath("/srv/data", "linux")).toBe("/srv/data");
    expect(childPath("\\\\?\\UNC\\fs\\share\\dept", "a.txt", "win32")).toBe("\\\\?\\UNC\\fs\\share\\dept\\a.txt");
    expect(childPath("/", "a", "linux")).toBe("/a");
    expect(childPath("C:\\", "a", "win32")).toBe("C:\\a");
    expect(childRel("", "a")).toBe("a");
    expect(childRel("a/b", "c")).toBe("a/b/c");
  });

  const within: [string, string, NodeJS.Platform, boolean][] = [
    ["/a/b", "/a", "linux", true],
    ["/a", "/a", "linux", true],
    ["/ab", "/a", "linux", false],
    ["/a/..b", "/a", "linux", true],
    ["/a", "/a/b", "linux", false],
    ["D:\\Backup\\x", "d:\\backup", "win32", true],
    ["\\\\fs\\share\\dept\\sub", "\\\\FS\\Share\\Dept", "win32", true],
    ["\\\\fs\\share2", "\\\\fs\\share", "win32", false],
    ["E:\\x", "D:\\x", "win32", false],
  ];
  test.each(within)("isWithin(%p, %p) on %s: %p", (inner, outer, platform, expected) => expect(isWithin(inner, outer, platform)).toBe(expected));
});

describe("file-system errors", () => {
  const e = (code: string) => Object.assign(new Error(`${code}: something, open '/x'`), { code });
  const kinds: [string, string][] = [
    ["ENOENT", "vanished"],
    ["EACCES", "failed"],
    ["EPERM", "failed"],
    ["EIO", "failed"],
    ["ENAMETOOLONG", "failed"],
    ["ENOSPC", "full"],
    ["EDQUOT", "full"],
    ["EFBIG", "full"],
    ["EROFS", "full"],
    ["EBUSY", "busy"],
    ["ETIMEDOUT", "network"],
    ["EHOSTDOWN", "network"],
    ["ENETUNREACH", "network"],
    ["ESTALE", "network"],
    ["ECONNRESET", "network"],
  ];
  test.each(kinds)("%s is %s", (code, kind) => expect(classifyFsError(e(code))).toEqual({ kind: kind as never, code }));
  test("messages drop the repeated path", () => {
    expect(shortFsMessage(e("EACCES"))).toBe("something (EACCES)");
    expect(classifyFsError(new Error("no code"))).toEqual({ kind: "failed", code: "UNKNOWN" });
  });
});

describe("modification times", () => {
  const cases: [number, number, number, boolean][] = [
    [1_700_000_000_123.456789, 1_700_000_000_123.456789, 0, true],
    [1_700_000_000_123.456789, 1_700_000_000_123.456, 0, true], // rounding below a microsecond
    [1_700_000_000_123.456789, 1_700_000_000_123.458, 0, false],
    [1_700_000_000_000, 1_700_000_002_000, 2000, true], // FAT: 2 s
    [1_700_000_000_000, 1_700_000_002_000.01, 2000, false],
  ];
  test.each(cases)("sameTime(%p, %p, window %p) = %p", (a, b, w, same) => {
    expect(sameTime(a, b, w)).toBe(same);
    expect(sameTime(b, a, w)).toBe(same);
  });
});

describe("settings and temporary names", () => {
  test("defaults: keep deleted files, do not follow links, no excludes", () => {
    expect(readCifsSettings({}).settings).toEqual(CIFS_DEFAULTS);
    expect(readCifsSettings({ delete: true, exclude: "*.bak", modify_window: 2, bwlimit: 512 }).settings).toEqual({ exclude: ["*.bak"], delete: true, follow_links: false, modify_window: 2, bwlimit: 512 });
    expect(readCifsSettings({ password: "x" }).warnings).toEqual(['unknown setting "password" ignored (known: exclude, delete, follow_links, modify_window, bwlimit)']);
    expect(() => readCifsSettings({ bwlimit: -1 })).toThrow(/settings\.bwlimit/);
  });
  test("temporary names are recognisable and distinct", () => {
    const a = tempName();
    expect(a).toMatch(TEMP_RE);
    expect(tempName()).not.toBe(a);
    expect(TEMP_RE.test(".cncop-notatemp.txt")).toBe(false);
  });
});

describe("entry stats (statx through FFI on Linux, fs elsewhere)", () => {
  test("the same answers as fs.lstatSync / fs.statSync, for every kind of entry", () => {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-stat-"));
    try {
      writeFileSync(nodePath.join(dir, "f"), "12345");
      utimesSync(nodePath.join(dir, "f"), 1_000_000_000.5, 1_000_000_000.25);
      mkdirSync(nodePath.join(dir, "d"));
      symlinkSync("f", nodePath.join(dir, "l"));
      symlinkSync("missing", nodePath.join(dir, "dangling"));
      for (const name of ["f", "d", "l", "dangling", "nothing"]) {
        const p = nodePath.join(dir, name);
        const l = lstatSync(p, { throwIfNoEntry: false });
        expect(entryStat(p)).toEqual(l ? fromStats(l) : undefined);
        const s = statSync(p, { throwIfNoEntry: false });
        expect(entryStat(p, true)).toEqual(s ? fromStats(s) : undefined);
      }
      expect(entryStat(nodePath.join(dir, "f"))).toMatchObject({ kind: "file", size: 5, mtimeMs: 1_000_000_000_250 });
      expect(entryStat(nodePath.join(dir, "l"))?.kind).toBe("link");
      expect(entryStat(nodePath.join(dir, "l"), true)?.kind).toBe("file");
      expect(() => entryStat(nodePath.join(dir, "f", "below"))).toThrow(/ENOTDIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
