/** SPEC §5: job ids are 64-bit integers, kept exact everywhere. */
import { describe, expect, test } from "bun:test";
import { compareJobIds, jobIdOf, parseJobId, parseJsonWithJobIds, stringifyJson } from "../../src/install/job-id.ts";

describe("parseJobId: an all-digits argument that fits 64 bits", () => {
  test.each([
    ["0", 0n],
    ["12", 12n],
    ["9007199254740993", 9007199254740993n],
    ["9223372036854775807", 9223372036854775807n],
    ["9223372036854775808", undefined],
    ["99999999999999999999", undefined],
    ["-1", undefined],
    ["1e3", undefined],
    ["", undefined],
    [" 1", undefined],
  ])("%p", (text, want) => {
    expect(parseJobId(text)).toBe(want);
  });
});

describe("jobIdOf: SQLite, JSON and text values", () => {
  test.each([
    [5, 5n],
    [9007199254740993n, 9007199254740993n],
    [2 ** 53 + 2, undefined],
    [1.5, undefined],
    ["42", 42n],
    [" -7 ", -7n],
    ["x", undefined],
    [null, undefined],
    [1n << 63n, undefined],
  ])("%p", (value, want) => {
    expect(jobIdOf(value)).toBe(want);
  });
});

describe("JSON with exact job ids", () => {
  test("a bigint is written as a JSON number, digit for digit", () => {
    expect(stringifyJson({ jobid: 9007199254740993n, n: 1 })).toBe('{"jobid":9007199254740993,"n":1}');
    expect(stringifyJson({ jobid: 9223372036854775807n }, 2)).toBe('{\n  "jobid": 9223372036854775807\n}');
  });
  test("a jobid above 2^53 is read back exactly; other numbers stay numbers", () => {
    const v = parseJsonWithJobIds('{"jobid": 9007199254740993, "exitcode": 1, "jobs": [{"jobid": 3}]}') as Record<string, unknown>;
    expect(v.jobid).toBe(9007199254740993n);
    expect(v.exitcode).toBe(1);
    expect((v.jobs as { jobid: unknown }[])[0]!.jobid).toBe(3n);
    expect((parseJsonWithJobIds('{"jobid": 1.5}') as { jobid: unknown }).jobid).toBe(1.5);
  });
  test("compareJobIds orders beyond 2^53", () => {
    expect([9007199254740993n, 9007199254740992n, 1n].sort(compareJobIds)).toEqual([1n, 9007199254740992n, 9007199254740993n]);
  });
});
