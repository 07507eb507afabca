/** The suite's formats for people: sizes, and age limits with their boundaries. */
import { describe, expect, test } from "bun:test";
import { formatBytes } from "../../src/format/bytes.ts";
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
