/** SPEC §5 "Its log": Logs/CA-YY-MM-DD_HHMM.log, then -001, -002, ... never shared. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { createCaLogFile, openCaLog, openDiagnosticLog } from "../../src/logs/ca-log.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-calog-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("createCaLogFile", () => {
  const now = new Date(2025, 3, 7, 8, 9);

  test("the plain name first, then -001, -002, ...", () => {
    const dir = tempDir();
    const names = [0, 1, 2, 3].map(() => nodePath.basename(createCaLogFile(dir, now).path));
    expect(names).toEqual(["CA-25-04-07_0809.log", "CA-25-04-07_0809-001.log", "CA-25-04-07_0809-002.log", "CA-25-04-07_0809-003.log"]);
  });

  test("an existing log is never reopened or truncated; gaps are filled", () => {
    const dir = tempDir();
    writeFileSync(nodePath.join(dir, "CA-25-04-07_0809.log"), "first\n");
    writeFileSync(nodePath.join(dir, "CA-25-04-07_0809-002.log"), "third\n");
    const a = createCaLogFile(dir, now);
    const b = createCaLogFile(dir, now);
    expect(nodePath.basename(a.path)).toBe("CA-25-04-07_0809-001.log");
    expect(nodePath.basename(b.path)).toBe("CA-25-04-07_0809-003.log");
    expect(readFileSync(nodePath.join(dir, "CA-25-04-07_0809.log"), "utf8")).toBe("first\n");
    expect(readFileSync(nodePath.join(dir, "CA-25-04-07_0809-002.log"), "utf8")).toBe("third\n");
  });

  test("a folder in the way of a name is skipped like a file", () => {
    const dir = tempDir();
    mkdirSync(nodePath.join(dir, "CA-25-04-07_0809.log"));
    expect(nodePath.basename(createCaLogFile(dir, now).path)).toBe("CA-25-04-07_0809-001.log");
  });

  test("a missing Logs folder is an error, not a silent no-log", () => {
    expect(() => createCaLogFile(nodePath.join(tempDir(), "nope"), now)).toThrow();
  });

  test("openCaLog writes timestamped lines into the new file", () => {
    const dir = tempDir();
    const log = openCaLog(dir, now);
    log.line("hello");
    log.close();
    expect(readdirSync(dir)).toEqual(["CA-25-04-07_0809.log"]);
    expect(readFileSync(log.path, "utf8")).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} hello\n$/);
  });
});

describe("openDiagnosticLog: the CAD log of -d", () => {
  const now = new Date(2025, 3, 7, 8, 9);

  test("Spool/Logs/CAD-YYYYMMDD.log, appended by the day's invocations", () => {
    const dir = tempDir();
    for (const text of ["first", "second"]) {
      const log = openDiagnosticLog({ spoolLogs: dir }, () => {}, now);
      log.line(text);
      log.close();
    }
    expect(readdirSync(dir)).toEqual(["CAD-20250407.log"]);
    expect(readFileSync(nodePath.join(dir, "CAD-20250407.log"), "utf8")).toMatch(/^\S+ \S+ first\n\S+ \S+ second\n$/);
  });

  test("a write failure is said once, naming the file, like the CA log's", () => {
    const dir = tempDir();
    const path = nodePath.join(dir, "CAD-20250407.log");
    symlinkSync("/dev/full", path);
    const said: string[] = [];
    const log = openDiagnosticLog({ spoolLogs: dir }, (t) => said.push(t), now);
    log.line("a");
    log.line("b");
    log.close();
    expect(said).toEqual([expect.stringMatching(new RegExp(`^cannot write the log ${path} \\(write\\): .*(ENOSPC|space)`, "i"))]);
  });
});
