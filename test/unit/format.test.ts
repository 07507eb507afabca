/** The suite's formats for people: sizes, and age limits with their boundaries. */
import { describe, expect, test } from "bun:test";
import { concatBytes, copyBytes, formatBytes } from "../../src/format/bytes.ts";
import { isAtLeastAsOld, isOlderThan } from "../../src/format/time.ts";

describe("formatBytes", () => {
  test.each([
    [0, "0 B"],
    [512, "512 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [5 * 1024 * 1024, "5.0 MiB"],
    [3.25 * 1024 ** 3, "3.3 GiB"],
    [5 * 1024 ** 3, "5.0 GiB"],
    [2 * 1024 ** 4, "2.0 TiB"],
    [2 * 1024 ** 5, "2.0 PiB"],
    [3 * 1024 ** 6, "3072.0 PiB"],
  ])("formatBytes(%p) = %p", (n, want) => expect(formatBytes(n)).toBe(want));
});

describe("age limits: the boundary is in the name", () => {
  const now = 1_800_000_000_000;
  const limit = 5 * 86_400_000;
  test.each([
    ["younger", now - limit + 1, false, false],
    ["exactly the limit", now - limit, false, true],
    ["one ms beyond", now - limit - 1, true, true],
    ["written in the future (clock skew)", now + 60_000, false, false],
    ["written now", now, false, false],
  ])("%s: older than %p, at least as old %p", (_what, thenMs, older, atLeast) => {
    expect([isOlderThan(thenMs, now, limit), isAtLeastAsOld(thenMs, now, limit)]).toEqual([older, atLeast]);
  });
});

describe("copyBytes and concatBytes", () => {
  test("copyBytes copies, also from a Buffer (whose slice() is a view)", () => {
    const b = Buffer.from([1, 2, 3, 4]);
    const c = copyBytes(b, 1, 3);
    b[1] = 9;
    expect([...c]).toEqual([2, 3]);
    expect([...copyBytes(new Uint8Array([5, 6]))]).toEqual([5, 6]);
  });
  test.each([
    [[], 0, []],
    [[[1, 2]], 2, [1, 2]],
    [[[1], [], [2, 3]], 3, [1, 2, 3]],
  ] as const)("concatBytes %j", (parts, len, want) => {
    expect([...concatBytes(parts.map((p) => new Uint8Array(p)), len)]).toEqual([...want]);
  });
  test("a single part is returned as it is", () => {
    const one = new Uint8Array([7]);
    expect(concatBytes([one], 1)).toBe(one);
  });
});
