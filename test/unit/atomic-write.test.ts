/** writeFileAtomic: the old file or the new one, never a part; no temporary file left behind. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { FileWriteError, removeStaleTemps, TEMP_MAX_AGE_MS, writeFileAtomic } from "../../src/install/atomic-write.ts";

const root = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-atomic-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = nodePath.join(root, String(n++));
  mkdirSync(d);
  return d;
};

describe("writeFileAtomic", () => {
  test.each([
    ["text", "new text\n", "new text\n"],
    ["bytes", new Uint8Array([0, 255, 10]), "\u0000\uFFFD\n"],
    ["empty", "", ""],
  ] as const)("replaces a file with %s and leaves only it", (_what, data, want) => {
    const dir = freshDir();
    const file = nodePath.join(dir, "f.json");
    writeFileSync(file, "old");
    writeFileAtomic(file, data);
    expect(readFileSync(file, "utf8")).toBe(want);
    expect(readdirSync(dir)).toEqual(["f.json"]);
  });

  test.each([
    [undefined, 0o644],
    [0o600, 0o600],
  ])("mode %p gives a new file mode %p", (mode, want) => {
    const file = nodePath.join(freshDir(), "m");
    writeFileAtomic(file, "x", mode === undefined ? {} : { mode });
    expect(statSync(file).mode & 0o777).toBe(want & ~process.umask());
  });

  test("the temporary name given is used, and gone afterwards", () => {
    const dir = freshDir();
    const file = nodePath.join(dir, "JF-1.json");
    writeFileAtomic(file, "{}", { tempPath: nodePath.join(dir, ".JF-1.json.tmp") });
    expect(readdirSync(dir)).toEqual(["JF-1.json"]);
  });

  test("a failed rename throws, keeps what was there and removes the temporary file", () => {
    const dir = freshDir();
    const target = nodePath.join(dir, "a-folder");
    mkdirSync(nodePath.join(target, "inside"), { recursive: true });
    expect(() => writeFileAtomic(target, "data")).toThrow();
    expect(readdirSync(dir)).toEqual(["a-folder"]);
    expect(readdirSync(target)).toEqual(["inside"]);
  });

  test("a missing folder throws and creates nothing", () => {
    const dir = freshDir();
    expect(() => writeFileAtomic(nodePath.join(dir, "nope", "f"), "x")).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("failures name the operation and the path", () => {
  test("a missing folder: open of the temporary file, for the target", () => {
    const file = nodePath.join(freshDir(), "nope", "f.json");
    let err: unknown;
    try {
      writeFileAtomic(file, "x");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileWriteError);
    expect((err as FileWriteError).code).toBe("ENOENT");
    expect((err as FileWriteError).op).toBe("open");
    expect((err as Error).message).toMatch(new RegExp(`^open \\S+/nope/\\.f\\.json\\.\\d+\\.[-0-9a-f]+\\.tmp \\(for ${file.replace(/[.]/g, "\\.")}\\): ENOENT`));
  });

  test("a temporary name that is taken: open fails, and the file of that name is left alone", () => {
    const dir = freshDir();
    const taken = nodePath.join(dir, ".taken.tmp");
    writeFileSync(taken, "someone else's");
    expect(() => writeFileAtomic(nodePath.join(dir, "f"), "x", { tempPath: taken })).toThrow(/^open \S+\/\.taken\.tmp \(for \S+\/f\): EEXIST/);
    expect(readFileSync(taken, "utf8")).toBe("someone else's");
  });
});

describe("removeStaleTemps", () => {
  const uuid = "0c86383a-4a02-4093-8da0-31b8f3935019";
  test("removes a dead writer's temporary file and an old one, keeps a live writer's fresh one and other names", () => {
    const dir = freshDir();
    const names = {
      dead: `.job-1.json.111.${uuid}.tmp`,
      live: `.job-2.json.222.${uuid}.tmp`,
      liveOld: `.job-3.json.222.${uuid}.tmp`,
      own: `.job-4.json.${process.pid}.${uuid}.tmp`,
      other: "job-5.json",
      report: ".JF-x.json.tmp",
    };
    for (const n of Object.values(names)) writeFileSync(nodePath.join(dir, n), "");
    const now = Date.now();
    const old = new Date(now - TEMP_MAX_AGE_MS - 1000);
    utimesSync(nodePath.join(dir, names.liveOld), old, old);
    const removed = removeStaleTemps(dir, now, (pid) => pid === 222);
    expect(removed.sort()).toEqual([names.dead, names.liveOld].sort());
    expect(readdirSync(dir).sort()).toEqual([names.live, names.own, names.other, names.report].sort());
  });

  test("a missing folder removes nothing and does not throw", () => {
    expect(removeStaleTemps(nodePath.join(root, "missing"))).toEqual([]);
  });
});
