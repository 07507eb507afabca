/**
 * Line logs: every line timestamped, one call one line (escaped); child output byte for
 * byte (binary-safe), split across chunks or not, very long lines cut into bounded pieces,
 * a full disk survived and said once; level words.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { LevelLog } from "../../src/logs/level-log.ts";
import { FileLineLog, MAX_LINE_BYTES, openLogFile, stderrFallback, writeFailureText } from "../../src/logs/log-file.ts";
import { localTimestamp, TimestampCache } from "../../src/format/time.ts";

const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-logfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const T0 = new Date(2025, 4, 6, 7, 8, 9).getTime();
const TS = "2025-05-06 07:08:09";

function newLog(now: () => number = () => T0): FileLineLog {
  return new FileLineLog(nodePath.join(dir, `log-${n++}.log`), undefined, now);
}
const bytesOf = (log: FileLineLog) => readFileSync(log.path);
const textOf = (log: FileLineLog) => readFileSync(log.path, "latin1");
const enc = (s: string) => new TextEncoder().encode(s);

/** Split a log into lines (by \n), each checked for the timestamp and tag, returning the payloads. */
function payloads(buf: Buffer, tag: string): Buffer[] {
  const prefix = Buffer.from(`${TS} ${tag} `, "latin1");
  const out: Buffer[] = [];
  let start = 0;
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, start)) {
    const line = buf.subarray(start, i);
    expect(line.subarray(0, prefix.length).equals(prefix)).toBe(true);
    out.push(line.subarray(prefix.length));
    start = i + 1;
  }
  expect(start).toBe(buf.length); // the log ends with a complete line
  return out;
}

describe("time formats", () => {
  test("localTimestamp is YYYY-MM-DD HH:MM:SS, local time", () => {
    expect(localTimestamp(new Date(2025, 0, 2, 3, 4, 5))).toBe("2025-01-02 03:04:05");
    expect(localTimestamp(new Date(2025, 11, 31, 23, 59, 59))).toBe("2025-12-31 23:59:59");
  });
  test("TimestampCache follows the clock by the second", () => {
    let t = T0;
    const c = new TimestampCache(() => t);
    expect(c.current().text).toBe(TS);
    t += 999;
    expect(c.current().text).toBe(TS);
    t += 1;
    expect(c.current().text).toBe("2025-05-06 07:08:10");
    expect(new TextDecoder().decode(c.current().bytes)).toBe("2025-05-06 07:08:10");
  });
});

describe("line()", () => {
  test("one call, one timestamped line: line breaks and control characters in it are escaped", () => {
    const log = newLog();
    log.line("one");
    log.line("two\nthree\r\nfour");
    log.line("job 1 'a\x1b]0;x\x07': tab\there \u009b");
    log.close();
    expect(textOf(log)).toBe(`${TS} one\n${TS} two\\nthree\\r\\nfour\n${TS} job 1 'a\\x1b]0;x\\x07': tab\\there \\x9b\n`);
  });

  test("a text that tries to forge a line stays in its own", () => {
    const log = newLog();
    log.line(`unknown job "x\n${TS} job 1 'x' final state: OK (completed) after 1 s, 1 attempt(s)"`);
    log.close();
    expect(textOf(log).split("\n").length).toBe(2);
  });

  test("UTF-8 text is written as it is", () => {
    const log = newLog();
    log.line("job 2 'Sauvegarde été ✓ 📁'");
    log.close();
    expect(readFileSync(log.path, "utf8")).toBe(`${TS} job 2 'Sauvegarde été ✓ 📁'\n`);
  });

  test("appends to an existing file", () => {
    const log = newLog();
    log.line("a");
    log.close();
    const again = new FileLineLog(log.path, undefined, () => T0);
    again.line("b");
    again.close();
    expect(textOf(log)).toBe(`${TS} a\n${TS} b\n`);
  });

  test("the clock is read per line", () => {
    let t = T0;
    const log = newLog(() => t);
    log.line("a");
    t += 61_000;
    log.line("b");
    log.close();
    expect(textOf(log)).toBe(`${TS} a\n2025-05-06 07:09:10 b\n`);
  });
});

describe("sink(): child output", () => {
  test("lines split across chunks are joined; each line is tagged", () => {
    const log = newLog();
    const s = log.sink("[agent#1 stdout]", 20);
    for (const c of ["he", "llo\nwor", "ld\n", "", "\n", "x"]) s.write(enc(c));
    s.end();
    log.close();
    expect(textOf(log)).toBe(`${TS} [agent#1 stdout] hello\n${TS} [agent#1 stdout] world\n${TS} [agent#1 stdout] \n${TS} [agent#1 stdout] x\n`);
    expect(s.bytes).toBe(14);
  });

  test("many lines in one chunk", () => {
    const log = newLog();
    const s = log.sink("[t]", 20);
    s.write(enc("a\nb\nc\n"));
    s.end();
    log.close();
    expect(textOf(log)).toBe(`${TS} [t] a\n${TS} [t] b\n${TS} [t] c\n`);
  });

  test("every byte value survives, in any chunking (binary-safe)", () => {
    // 256 lines, each all byte values but \n, rotated; invalid UTF-8 included.
    const line = Buffer.from([...Array(256).keys()].filter((b) => b !== 0x0a));
    const lines = [...Array(256).keys()].map((k) => Buffer.concat([line.subarray(k % line.length), line.subarray(0, k % line.length)]));
    const data = Buffer.concat(lines.flatMap((l) => [l, Buffer.from([0x0a])]));
    for (const chunkSize of [1, 7, 255, 4096, data.length]) {
      const log = newLog();
      const s = log.sink("[bin]", 20);
      for (let o = 0; o < data.length; o += chunkSize) s.write(data.subarray(o, o + chunkSize));
      s.end();
      log.close();
      const got = payloads(bytesOf(log), "[bin]");
      expect(got.length).toBe(lines.length);
      expect(Buffer.concat(got.flatMap((l) => [l, Buffer.from([0x0a])])).equals(data)).toBe(true);
    }
  });

  test("CR LF and lone CR are kept as they are", () => {
    const log = newLog();
    const s = log.sink("[w]", 20);
    s.write(enc("dos\r\nprogress 10%\rprogress 20%\n"));
    s.end();
    log.close();
    expect(textOf(log)).toBe(`${TS} [w] dos\r\n${TS} [w] progress 10%\rprogress 20%\n`);
  });

  test("a very long line is written in pieces of at most MAX_LINE_BYTES, every byte kept", () => {
    const log = newLog();
    const s = log.sink("[long]", 20);
    const total = MAX_LINE_BYTES * 5 + 123;
    const body = Buffer.alloc(total);
    for (let i = 0; i < total; i++) body[i] = 0x41 + (i % 26);
    for (let o = 0; o < total; o += 16 * 1024) s.write(body.subarray(o, Math.min(total, o + 16 * 1024)));
    s.write(enc("\nshort\n"));
    s.end();
    log.close();
    const got = payloads(bytesOf(log), "[long]");
    expect(got.length).toBeGreaterThanOrEqual(6);
    for (const p of got) expect(p.length).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(got.at(-1)!.toString()).toBe("short");
    expect(Buffer.concat(got.slice(0, -1)).equals(body)).toBe(true);
  });

  test("a long line arriving in one big chunk is kept whole", () => {
    const log = newLog();
    const s = log.sink("[big]", 20);
    const body = Buffer.alloc(MAX_LINE_BYTES * 2, 0x62);
    s.write(body);
    s.write(enc("tail\n"));
    s.end();
    log.close();
    const got = payloads(bytesOf(log), "[big]");
    expect(Buffer.concat(got).equals(Buffer.concat([body, enc("tail")]))).toBe(true);
  });

  test("tail() keeps the last lines, decoded", () => {
    const log = newLog();
    const s = log.sink("[t]", 3);
    for (let i = 1; i <= 10; i++) s.write(enc(`line ${i}\n`));
    s.write(enc("partial"));
    expect(s.tail()).toEqual(["line 9", "line 10", "partial"]);
    s.end();
    log.close();
  });

  test("two sinks on one log keep their own partial lines", () => {
    const log = newLog();
    const out = log.sink("[a stdout]", 20);
    const err = log.sink("[a stderr]", 20);
    out.write(enc("out-"));
    err.write(enc("err-"));
    out.write(enc("1\n"));
    err.write(enc("2\n"));
    log.close();
    expect(textOf(log)).toBe(`${TS} [a stdout] out-1\n${TS} [a stderr] err-2\n`);
  });
});

describe("a sink's tag is escaped like a line; its output is not", () => {
  test("an agent name with a line break", () => {
    const log = newLog();
    const s = log.sink("[odd\nname#1 stdout]", 20);
    s.write(enc("raw\x1b[0m\r\n"));
    s.end();
    log.close();
    expect(textOf(log)).toBe(`${TS} [odd\\nname#1 stdout] raw\x1b[0m\r\n`);
  });
});

describe("write failures (a full disk) never crash", () => {
  test("/dev/full: reported once, later writes ignored", () => {
    const errors: unknown[] = [];
    const log = new FileLineLog("/dev/full", openSync("/dev/full", "w"), () => T0, (e) => errors.push(e));
    log.line("a");
    log.line("b");
    const s = log.sink("[x]");
    s.write(enc("data\n"));
    s.end();
    log.close();
    expect(errors.length).toBe(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe("ENOSPC");
  });
});

describe("openLogFile", () => {
  test("appends; the first write failure is said once, naming the file", () => {
    const path = nodePath.join(dir, `open-${n++}.log`);
    const said: string[] = [];
    const log = openLogFile(path, (t) => said.push(t), () => T0);
    log.line("a");
    log.close();
    const again = openLogFile(path, (t) => said.push(t), () => T0);
    again.line("b");
    again.close();
    expect(readFileSync(path, "latin1")).toBe(`${TS} a\n${TS} b\n`);
    expect(said).toEqual([]);
    const full = new FileLineLog("/dev/full", openSync("/dev/full", "w"), () => T0, (e) => said.push(writeFailureText("/dev/full", e)));
    full.line("x");
    full.line("y");
    full.close();
    expect(said).toEqual([expect.stringMatching(/^cannot write the log \/dev\/full \(write\): .*(ENOSPC|space)/i)]);
  });

  test("after a write failure, every line (child output too) goes to the fallback, from the line that failed on", () => {
    const kept: string[] = [];
    const said: string[] = [];
    const full = new FileLineLog("/dev/full", openSync("/dev/full", "w"), () => T0, (e) => said.push(writeFailureText("/dev/full", e)));
    full.fallback = (buf) => kept.push(new TextDecoder().decode(buf));
    full.line("first");
    const sink = full.sink("[agent stdout]");
    sink.write(new TextEncoder().encode("out 1\nout 2\n"));
    full.close();
    expect(said).toHaveLength(1);
    expect(full.writing).toBe(false);
    expect(kept.join("")).toBe(`${TS} first\n${TS} [agent stdout] out 1\n${TS} [agent stdout] out 2\n`);
  });

  test("a log that could not be created (fd null) writes every line to its fallback", () => {
    const kept: string[] = [];
    const log = new FileLineLog(nodePath.join(dir, "never-created.log"), null, () => T0);
    log.fallback = (buf) => kept.push(new TextDecoder().decode(buf));
    log.line("a\x1b[31mb");
    expect(kept).toEqual([`${TS} a\\x1b[31mb\n`]);
  });

  test("the stderr fallback escapes control characters of child output on a terminal only", () => {
    const path = nodePath.join(dir, `fallback-${n++}.txt`);
    const bytes = new TextEncoder().encode("t [x] \x1b[2Jclear\ttab\n");
    for (const tty of [false, true]) {
      const fd = openSync(path, "w");
      stderrFallback(tty, fd)(bytes);
      closeSync(fd);
      expect(readFileSync(path, "utf8")).toBe(tty ? "t [x] \\x1b[2Jclear\\ttab\n" : "t [x] \x1b[2Jclear\ttab\n");
    }
  });
});

describe("level words (agents' and RP logs)", () => {
  test.each([
    [false, ["INFO i", "WARN w", "ERROR e"]],
    [true, ["INFO i", "WARN w", "ERROR e", "DEBUG d"]],
  ])("debugging %p", (debugging, lines) => {
    const log = newLog();
    const levels = new LevelLog(log, debugging);
    expect([levels.write("INFO", "i"), levels.write("WARN", "w"), levels.write("ERROR", "e"), levels.write("DEBUG", "d")]).toEqual([true, true, true, debugging]);
    levels.close();
    expect(textOf(log)).toBe(lines.map((l) => `${TS} ${l}\n`).join(""));
  });
  test("a message is escaped after its level word", () => {
    const log = newLog();
    new LevelLog(log, false).write("ERROR", "two\nlines");
    log.close();
    expect(textOf(log)).toBe(`${TS} ERROR two\\nlines\n`);
  });
});

describe("mirrors (-d diagnostic log)", () => {
  test("a mirror gets the log's lines and the child output", () => {
    const log = newLog();
    const mirror = newLog();
    log.mirrors.push(mirror);
    log.line("started");
    const s = log.sink("[agent#1 stdout]");
    s.write(enc("output line\n"));
    s.end();
    log.close();
    mirror.close();
    expect(textOf(mirror)).toBe(textOf(log));
    expect(textOf(log)).toBe(`${TS} started\n${TS} [agent#1 stdout] output line\n`);
  });
});
