/** Report files (SPEC §8) and the prerun stderr excerpt (SPEC §5, first 2,048 bytes). */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { reportBase, reportFileName, utf8Excerpt, writeReport } from "../../src/reports/report-files.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: (string | number[])[]) => {
  const chunks = parts.map((p) => (typeof p === "string" ? enc(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};
const a = (n: number) => "a".repeat(n);

describe("utf8Excerpt: the first 2,048 bytes, a character cut at the end dropped", () => {
  const cases: [string, Uint8Array, string][] = [
    ["empty", cat(""), ""],
    ["short ASCII", cat("boom\n"), "boom\n"],
    ["exactly 2048 bytes", cat(a(2048)), a(2048)],
    ["2049 bytes", cat(a(2049)), a(2048)],
    ["much more than 2048", cat(a(5000)), a(2048)],
    ["2-byte é ending at byte 2048", cat(a(2046), "é", "tail"), `${a(2046)}é`],
    ["2-byte é straddling the cut", cat(a(2047), "é", "tail"), a(2047)],
    ["3-byte € ending at byte 2048", cat(a(2045), "€", "x"), `${a(2045)}€`],
    ["3-byte € cut after 1 byte", cat(a(2047), "€"), a(2047)],
    ["3-byte € cut after 2 bytes", cat(a(2046), "€"), a(2046)],
    ["4-byte 😀 ending at byte 2048", cat(a(2044), "😀", "x"), `${a(2044)}😀`],
    ["4-byte 😀 cut after 1 byte", cat(a(2047), "😀"), a(2047)],
    ["4-byte 😀 cut after 2 bytes", cat(a(2046), "😀"), a(2046)],
    ["4-byte 😀 cut after 3 bytes", cat(a(2045), "😀"), a(2045)],
    ["multi-byte text throughout", cat("€".repeat(700)), "€".repeat(682)],
    ["binary bytes are replaced", cat([0xff, 0xfe, 0x00, 0x41]), "\ufffd\ufffd\u0000A"],
    ["a lone lead byte before ASCII", cat([0x41, 0xe2, 0x41]), "A\ufffdA"],
    ["stray continuation bytes at the cut stay replaced", cat(a(2047), [0x80, 0x80]), `${a(2047)}\ufffd`],
    ["a complete é followed by a stray continuation at the cut", cat(a(2046), "é", [0x80]), `${a(2046)}é`],
    ["an incomplete character at the end of short stderr", cat("x", [0xe2, 0x82]), "x\ufffd"],
    ["a BOM is kept", cat([0xef, 0xbb, 0xbf], "x"), "\ufeffx"],
  ];
  test.each(cases)("%s", (_name, bytes, want) => {
    const got = utf8Excerpt(bytes, 2048);
    expect(got).toBe(want);
  });

  test("the default limit is 2048", () => {
    expect(utf8Excerpt(cat(a(3000)))).toBe(a(2048));
  });

  test.each([
    [cat("héllo"), 2, "h"],
    [cat("héllo"), 3, "hé"],
    [cat("é"), 1, ""],
    [cat("abc"), 0, ""],
  ] as const)("small limits: %j %d", (bytes, max, want) => {
    expect(utf8Excerpt(bytes, max)).toBe(want);
  });

  test("valid text never grows past the limit when encoded again", () => {
    for (let pad = 0; pad < 8; pad++) {
      const bytes = cat(a(pad), "日本語😀é".repeat(300));
      const got = utf8Excerpt(bytes, 2048);
      const back = enc(got);
      expect(back.length).toBeLessThanOrEqual(2048);
      expect(back.length).toBeGreaterThan(2044);
      expect(Buffer.from(bytes.subarray(0, back.length)).equals(Buffer.from(back))).toBe(true);
    }
  });
});

describe("report files", () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-spool-"));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test("names: prefix, UTC time that sorts by age, a unique tail, .json", () => {
    const now = new Date("2026-03-04T05:06:07.089Z");
    const name = reportFileName("JE-", now);
    expect(name).toMatch(/^JE-20260304T050607089Z-[0-9a-f-]{36}\.json$/);
    expect(reportFileName("JF-", now)).not.toBe(reportFileName("JF-", now));
    expect(reportFileName("JF-", new Date("2026-03-04T05:06:07.090Z")) > reportFileName("JF-", now)).toBe(true);
  });

  test("writeReport writes one JSON object under its final name and leaves nothing else", () => {
    const dir = tmp();
    const report = { type: "jobexception", ...reportBase({ jobid: 7, jobtitle: "Päyroll", jobtype: "CIFS" }, "s-1", new Date("2026-01-02T03:04:05Z"), "host1"), source: "prerun", exitcode: 3, message: "ünïcode\n" };
    const path = writeReport(dir, "JE-", report);
    expect(nodePath.dirname(path)).toBe(dir);
    expect(readdirSync(dir)).toEqual([nodePath.basename(path)]);
    const text = readFileSync(path, "utf8");
    expect(JSON.parse(text)).toEqual({
      type: "jobexception",
      jobid: 7,
      jobtitle: "Päyroll",
      jobtype: "CIFS",
      session: "s-1",
      hostname: "host1",
      time: "2026-01-02T03:04:05.000Z",
      source: "prerun",
      exitcode: 3,
      message: "ünïcode\n",
    });
  });

  test("many reports in the same millisecond get distinct names", () => {
    const dir = tmp();
    const now = new Date();
    for (let i = 0; i < 50; i++) writeReport(dir, "JF-", { i }, now);
    const names = readdirSync(dir);
    expect(names.length).toBe(50);
    expect(names.every((n) => n.startsWith("JF-") && n.endsWith(".json"))).toBe(true);
  });

  test("a missing or unusable folder throws, and no temporary file is left", () => {
    const dir = tmp();
    expect(() => writeReport(nodePath.join(dir, "missing"), "JE-", {})).toThrow();
    const file = nodePath.join(dir, "a-file");
    writeFileSync(file, "x");
    expect(() => writeReport(file, "JE-", {})).toThrow();
    expect(readdirSync(dir)).toEqual(["a-file"]);
  });
});
