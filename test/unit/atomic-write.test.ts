/** writeFileAtomic: the old file or the new one, never a part; no temporary file left behind. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { writeFileAtomic } from "../../src/install/atomic-write.ts";

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
