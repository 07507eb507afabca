/**
 * Pruning's pure parts, table-driven, and pruneLogs against a virtual file system that
 * injects the races a real one only shows now and then.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { makePaths, type Paths } from "../../src/install/paths.ts";
import {
  DAY_MS,
  MAX_WARNINGS,
  describeFailure,
  isCaLogName,
  isPrunable,
  isSpoolLogName,
  pruneLogs,
  validateDays,
  type PruneDirent,
  type PruneFs,
  type PruneStat,
} from "../../src/logs/prune.ts";

const ROOT = nodePath.resolve("/cncop-root");
const PATHS = makePaths(ROOT);
const NOW = new Date(Date.UTC(2026, 5, 1, 12, 0, 0));
const OLD = NOW.getTime() - 100 * DAY_MS;
const FRESH = NOW.getTime() - DAY_MS;

describe("name patterns", () => {
  const spool: [string, boolean][] = [
    ["RSYNC-20260101.log", true],
    ["RSYNC-20260101.log.3", true],
    ["RSYNC-20260101.log.123", true],
    ["RSYNC-20260101.log.gz", true],
    ["CA-26-01-01_1200.log", true],
    [".log", true],
    ["a b.log", true],
    ["x.log.0", true],
    ["RSYNC-20260101.log.", false],
    ["RSYNC-20260101.log.3a", false],
    ["RSYNC-20260101.log.-3", false],
    ["RSYNC-20260101.log.3.gz", false],
    ["RSYNC-20260101.log.gz.3", false],
    ["RSYNC-20260101.log.bz2", false],
    ["RSYNC-20260101.log.tmp", false],
    ["RSYNC-20260101.logs", false],
    ["RSYNC-20260101.log~", false],
    ["RSYNC-20260101.txt", false],
    ["RSYNC-20260101.gz", false],
    ["log", false],
    ["RSYNC.LOG", false],
    ["RSYNC.log.GZ", false],
    ["x.log\nfoo", false],
    ["x.log.٣", false], // digits means 0-9 only
  ];
  test.each(spool)("Spool/Logs: %p -> %p", (name, want) => {
    expect(isSpoolLogName(name)).toBe(want);
  });

  const ca: [string, boolean][] = [
    ["CA-26-01-01_1200.log", true],
    ["CA-26-01-01_1200-001.log", true],
    ["CA-.log", true],
    ["CA-anything else.log", true],
    ["CA-26-01-01_1200.log.1", false],
    ["CA-26-01-01_1200.log.gz", false],
    ["CAD-20260101.log", false],
    ["xCA-1.log", false],
    ["ca-26-01-01_1200.log", false],
    ["CA-1.txt", false],
    ["RSYNC-20260101.log", false],
  ];
  test.each(ca)("Logs: %p -> %p", (name, want) => {
    expect(isCaLogName(name)).toBe(want);
  });

  const folded: [string, boolean, boolean, boolean, boolean][] = [
    // name, spool ignoring case, CA ignoring case, spool exact case, CA exact case
    ["RSYNC.LOG", true, false, false, false],
    ["RSYNC.Log.GZ", true, false, false, false],
    ["RSYNC.LOG.7", true, false, false, false],
    ["ca-1.LOG", true, true, false, false],
    ["Ca-1.log", true, true, true, false],
    ["CA-1.txt", false, false, false, false],
  ];
  test.each(folded)("ignoring case (Windows) or not: %p -> %p %p / %p %p", (name, spoolI, caI, spool, ca) => {
    expect([isSpoolLogName(name, true), isCaLogName(name, true), isSpoolLogName(name, false), isCaLogName(name, false)]).toEqual([spoolI, caI, spool, ca]);
  });
});

describe("ages", () => {
  const now = NOW.getTime();
  const rows: [number, number, boolean][] = [
    [90, now - 90 * DAY_MS - 1, true],
    [90, now - 90 * DAY_MS, false], // exactly 90 days old: not older than 90 days
    [90, now - 90 * DAY_MS + 1, false],
    [90, now, false],
    [90, now + DAY_MS, false], // modified in the future (clock skew): kept
    [1, now - DAY_MS - 1000, true],
    [1, now - DAY_MS + 1000, false],
    [36_500, 0, false],
    [36_500, now - 36_501 * DAY_MS, true],
  ];
  test.each(rows)("days %p, mtime %p -> expired %p", (days, mtimeMs, want) => {
    expect(isPrunable(mtimeMs, NOW, days)).toBe(want);
  });

  test.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])("days %p is refused", async (days) => {
    expect(() => validateDays(days)).toThrow(RangeError);
    await expect(pruneLogs(PATHS, days, { fs: explodingFs() })).rejects.toThrow(RangeError);
  });
});

describe("formatting", () => {
  test.each([
    ["EACCES", "permission denied (EACCES)"],
    ["EPERM", "permission denied (EPERM)"],
    ["EBUSY", "in use (EBUSY)"],
  ])("describeFailure(%p) says %p", (code, text) => {
    expect(describeFailure(errno(code))).toContain(text);
  });
});

// ---------------------------------------------------------------- virtual file system

interface VNode {
  kind: "file" | "dir" | "link";
  mtimeMs: number;
  size: number;
  nlink?: number;
}

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** A file system of two folders; hooks run inside the calls to inject races. */
class VirtualFs implements PruneFs {
  readonly dirs = new Map<string, Map<string, VNode>>([
    [PATHS.spoolLogs, new Map()],
    [PATHS.logs, new Map()],
  ]);
  readonly calls: string[] = [];
  afterReaddir?: (dir: string) => void;
  beforeLstat?: (path: string) => void;
  beforeUnlink?: (path: string) => void;
  readdirError?: Error;

  add(dir: string, name: string, node: Partial<VNode> & { mtimeMs: number }): void {
    this.dirs.get(dir)!.set(name, { kind: "file", size: 10, ...node });
  }
  node(path: string): VNode | undefined {
    return this.dirs.get(nodePath.dirname(path))?.get(nodePath.basename(path));
  }
  has(dir: string, name: string): boolean {
    return this.dirs.get(dir)!.has(name);
  }
  readdir(dir: string): readonly PruneDirent[] {
    this.calls.push(`readdir ${dir}`);
    if (this.readdirError && dir === PATHS.spoolLogs) throw this.readdirError;
    const entries = this.dirs.get(dir);
    if (!entries) throw errno("ENOENT");
    const list = [...entries].map(([name, n]) => ({ name, isDirectory: () => n.kind === "dir", isSymbolicLink: () => n.kind === "link" }));
    this.afterReaddir?.(dir);
    return list;
  }
  lstat(path: string): PruneStat | undefined {
    this.calls.push(`lstat ${path}`);
    this.beforeLstat?.(path);
    const n = this.node(path);
    if (!n) return undefined;
    return { mtimeMs: n.mtimeMs, size: n.size, nlink: n.nlink ?? 1, isFile: () => n.kind === "file" };
  }
  unlink(path: string): void {
    this.calls.push(`unlink ${path}`);
    this.beforeUnlink?.(path);
    const n = this.node(path);
    if (!n) throw errno("ENOENT");
    if (n.kind === "dir") throw errno("EISDIR");
    this.dirs.get(nodePath.dirname(path))!.delete(nodePath.basename(path));
  }
}

function explodingFs(): PruneFs {
  const boom = () => {
    throw new Error("no file system call expected");
  };
  return { readdir: boom, lstat: boom, unlink: boom };
}

async function prune(fs: PruneFs, days = 90, extra: { keep?: Set<string>; signal?: AbortSignal; paths?: Paths } = {}) {
  const lines: string[] = [];
  const result = await pruneLogs(extra.paths ?? PATHS, days, { fs, now: NOW, log: (l) => lines.push(l), caseInsensitive: false, ...extra });
  return { result, lines };
}

describe("pruneLogs", () => {
  test("deletes expired matching regular files, counts files and bytes, logs one summary", async () => {
    const fs = new VirtualFs();
    fs.add(PATHS.spoolLogs, "A.log", { mtimeMs: OLD, size: 100 });
    fs.add(PATHS.spoolLogs, "A.log.1", { mtimeMs: OLD, size: 200 });
    fs.add(PATHS.spoolLogs, "A.log.gz", { mtimeMs: OLD, size: 300 });
    fs.add(PATHS.spoolLogs, "B.log", { mtimeMs: FRESH });
    fs.add(PATHS.spoolLogs, "A.txt", { mtimeMs: OLD });
    fs.add(PATHS.spoolLogs, "dir.log", { mtimeMs: OLD, kind: "dir" });
    fs.add(PATHS.spoolLogs, "link.log", { mtimeMs: OLD, kind: "link" });
    fs.add(PATHS.logs, "CA-26-01-01_1200.log", { mtimeMs: OLD, size: 1000 });
    fs.add(PATHS.logs, "other.log", { mtimeMs: OLD });
    const { result, lines } = await prune(fs);
    expect(result).toEqual({ deleted: 4, bytes: 1600, failed: 0, errors: [], interrupted: false });
    expect([...fs.dirs.get(PATHS.spoolLogs)!.keys()].sort()).toEqual(["A.txt", "B.log", "dir.log", "link.log"]);
    expect([...fs.dirs.get(PATHS.logs)!.keys()]).toEqual(["other.log"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pruned 4 log file\(s\) older than 90 days \(modified before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\): 1600 bytes \(1\.6 KiB\) freed in \d+ ms$/);
    // Names that cannot match, folders and links cost no lstat.
    expect(fs.calls.filter((c) => c.startsWith("lstat")).map((c) => nodePath.basename(c)).sort()).toEqual(["A.log", "A.log.1", "A.log.gz", "B.log", "CA-26-01-01_1200.log"]);
  });

  test("days = 0 touches nothing and logs nothing", async () => {
    const { result, lines } = await prune(explodingFs(), 0);
    expect(result).toEqual({ deleted: 0, bytes: 0, failed: 0, errors: [], interrupted: false });
    expect(lines).toEqual([]);
  });

  test("files in keep are never deleted (paths are normalised)", async () => {
    const fs = new VirtualFs();
    fs.add(PATHS.logs, "CA-26-06-01_1200.log", { mtimeMs: OLD });
    fs.add(PATHS.spoolLogs, "CAD-20260601.log", { mtimeMs: OLD });
    fs.add(PATHS.spoolLogs, "X.log", { mtimeMs: OLD });
    const keep = new Set([`${PATHS.logs}${nodePath.sep}.${nodePath.sep}CA-26-06-01_1200.log`, nodePath.join(PATHS.spoolLogs, "CAD-20260601.log")]);
    const { result } = await prune(fs, 90, { keep });
    expect(result.deleted).toBe(1);
    expect(fs.has(PATHS.logs, "CA-26-06-01_1200.log")).toBe(true);
    expect(fs.has(PATHS.spoolLogs, "CAD-20260601.log")).toBe(true);
    expect(fs.has(PATHS.spoolLogs, "X.log")).toBe(false);
  });

  test("a file written after the listing is fresh at the check before unlink, and stays", async () => {
    const fs = new VirtualFs();
    fs.add(PATHS.spoolLogs, "BUSY.log", { mtimeMs: OLD });
    fs.add(PATHS.spoolLogs, "IDLE.log", { mtimeMs: OLD });
    fs.afterReaddir = () => {
      fs.node(nodePath.join(PATHS.spoolLogs, "BUSY.log"))!.mtimeMs = NOW.getTime();
    };
    const { result } = await prune(fs);
    expect(result.deleted).toBe(1);
    expect(fs.has(PATHS.spoolLogs, "BUSY.log")).toBe(true);
    expect(fs.has(PATHS.spoolLogs, "IDLE.log")).toBe(false);
  });

  test("a file replaced by a link or a folder after the listing is left alone", async () => {
    const fs = new VirtualFs();
    fs.add(PATHS.spoolLogs, "L.log", { mtimeMs: OLD });
    fs.add(PATHS.spoolLogs, "D.log", { mtimeMs: OLD });
    fs.afterReaddir = () => {
      fs.node(nodePath.join(PATHS.spoolLogs, "L.log"))!.kind = "link";
      fs.node(nodePath.join(PATHS.spoolLogs, "D.log"))!.kind = "dir";
    };
    const { result, lines } = await prune(fs);
    expect(result).toMatchObject({ deleted: 0, failed: 0, errors: [] });
    expect(fs.calls.filter((c) => c.startsWith("unlink"))).toEqual([]);
    expect(lines).toHaveLength(1);
  });

  test("files vanishing between listing and lstat, or between lstat and unlink, are no error", async () => {
    const fs = new VirtualFs();
    for (const n of ["A.log", "B.log", "C.log"]) fs.add(PATHS.spoolLogs, n, { mtimeMs: OLD, size: 5 });
    const remove = (name: string) => fs.dirs.get(PATHS.spoolLogs)!.delete(name);
    fs.beforeLstat = (p) => nodePath.basename(p) === "A.log" && remove("A.log");
    fs.beforeUnlink = (p) => nodePath.basename(p) === "B.log" && remove("B.log");
    const { result, lines } = await prune(fs);
    expect(result).toEqual({ deleted: 1, bytes: 5, failed: 0, errors: [], interrupted: false });
    expect(lines.filter((l) => l.startsWith("warning"))).toEqual([]);
  });

  test("busy and forbidden files are warnings; the others are still pruned", async () => {
    const fs = new VirtualFs();
    for (const n of ["BUSY.log", "RO.log", "DENIED.log", "OK.log", "WEIRD.log"]) fs.add(PATHS.spoolLogs, n, { mtimeMs: OLD, size: 1 });
    const codes: Record<string, string> = { "BUSY.log": "EBUSY", "RO.log": "EPERM", "DENIED.log": "EACCES", "WEIRD.log": "EIO" };
    fs.beforeUnlink = (p) => {
      const code = codes[nodePath.basename(p)];
      if (code) throw errno(code);
    };
    const { result, lines } = await prune(fs);
    expect(result.deleted).toBe(1);
    expect(result.failed).toBe(4);
    expect(result.errors).toHaveLength(4);
    const warnings = lines.filter((l) => l.startsWith("warning: log pruning: cannot delete "));
    expect(warnings).toHaveLength(4);
    expect(warnings.find((w) => w.includes("BUSY.log"))).toContain("in use (EBUSY)");
    expect(warnings.find((w) => w.includes("RO.log"))).toContain("permission denied (EPERM)");
    expect(warnings.find((w) => w.includes("DENIED.log"))).toContain("permission denied (EACCES)");
    expect(warnings.find((w) => w.includes("WEIRD.log"))).toContain("EIO: simulated");
    expect(lines.at(-1)).toMatch(/^pruned 1 log file\(s\) .*; 4 could not be deleted \(see the warnings above\)$/);
  });

  test("warnings are capped; every failure is still counted", async () => {
    const fs = new VirtualFs();
    const n = MAX_WARNINGS + 15;
    for (let i = 0; i < n; i++) fs.add(PATHS.spoolLogs, `F${i}.log`, { mtimeMs: OLD });
    fs.beforeUnlink = () => {
      throw errno("EACCES");
    };
    const { result, lines } = await prune(fs);
    expect(result.failed).toBe(n);
    expect(result.errors).toHaveLength(MAX_WARNINGS);
    expect(lines.filter((l) => l.startsWith("warning: log pruning: cannot delete"))).toHaveLength(MAX_WARNINGS);
    expect(lines).toContain("warning: log pruning: 15 more warning(s) like the ones above not shown");
  });

  test("an unreadable folder is a warning, a missing one is not; the other folder is still pruned", async () => {
    const fs = new VirtualFs();
    fs.add(PATHS.logs, "CA-1.log", { mtimeMs: OLD });
    fs.readdirError = errno("EACCES");
    const a = await prune(fs);
    expect(a.result.deleted).toBe(1);
    expect(a.lines[0]).toBe(`warning: log pruning: cannot read ${PATHS.spoolLogs}: EACCES: simulated`);

    const gone = new VirtualFs();
    gone.dirs.delete(PATHS.spoolLogs);
    gone.add(PATHS.logs, "CA-1.log", { mtimeMs: OLD });
    const b = await prune(gone);
    expect(b.result).toMatchObject({ deleted: 1, errors: [] });
  });

  test("a name with other hard links frees no space", async () => {
    const fs = new VirtualFs();
    fs.add(PATHS.spoolLogs, "H.log", { mtimeMs: OLD, size: 1000, nlink: 2 });
    fs.add(PATHS.spoolLogs, "S.log", { mtimeMs: OLD, size: 7 });
    const { result, lines } = await prune(fs);
    expect(result).toMatchObject({ deleted: 2, bytes: 7 });
    // Under 1 KiB the byte count says it all: no size in units after it.
    expect(lines[0]).toMatch(/: 7 bytes freed in \d+ ms$/);
  });

  test("an abort signal stops the run between chunks, and the summary says so", async () => {
    const fs = new VirtualFs();
    const total = 20_000;
    for (let i = 0; i < total; i++) fs.add(PATHS.spoolLogs, `F${i}.log`, { mtimeMs: OLD });
    const controller = new AbortController();
    let unlinks = 0;
    fs.beforeUnlink = () => {
      if (++unlinks === 100) controller.abort();
    };
    const { result, lines } = await prune(fs, 90, { signal: controller.signal });
    expect(result.interrupted).toBe(true);
    expect(result.deleted).toBeGreaterThanOrEqual(100);
    expect(result.deleted).toBeLessThan(total);
    expect(fs.calls.some((c) => c.startsWith(`readdir ${PATHS.logs}`))).toBe(false);
    expect(lines.at(-1)).toContain("stopped early: cncopagent was interrupted");
  });
});

describe("pruneLogs on a real folder", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("the exact boundary by whole seconds: a file exactly `days` old stays, one second older goes", async () => {
    dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-prune-unit-"));
    const paths = makePaths(dir);
    mkdirSync(paths.spoolLogs, { recursive: true });
    mkdirSync(paths.logs, { recursive: true });
    const nowS = Math.floor(Date.now() / 1000);
    const at = (name: string, ageS: number) => {
      const p = nodePath.join(paths.spoolLogs, name);
      writeFileSync(p, "12345");
      utimesSync(p, nowS - ageS, nowS - ageS);
      return p;
    };
    const exact = at("EXACT.log", 7 * 86_400);
    const older = at("OLDER.log", 7 * 86_400 + 1);
    const lines: string[] = [];
    const result = await pruneLogs(paths, 7, { now: new Date(nowS * 1000), log: (l) => lines.push(l) });
    expect(existsSync(exact)).toBe(true);
    expect(existsSync(older)).toBe(false);
    expect(result).toEqual({ deleted: 1, bytes: 5, failed: 0, errors: [], interrupted: false });
    expect(lines).toHaveLength(1);
  });
});
