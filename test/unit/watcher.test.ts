/** Table-driven tests of the watcher's pure parts: names, days, tones, lines, pager, summaries. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { AgentLogSummariser, unquoteTitle } from "../../src/watcher/agent-summary.ts";
import { CaSummariser, isStdoutLine } from "../../src/watcher/ca-summary.ts";
import { describePrefix, isKnownPrefix, listLogFiles, parseCaLogName, parseDailyLogName, pickDay, summarisePrefixes, type LogFile } from "../../src/watcher/catalog.ts";
import { forEachLine, lastLines } from "../../src/watcher/lines.ts";
import { splitStamp, toneOfText } from "../../src/watcher/log-line.ts";
import { choosePager } from "../../src/watcher/pager.ts";
import { BoundedLines, settleOpenRuns } from "../../src/watcher/run-model.ts";

describe("log names", () => {
  test.each([
    ["CA-26-11-26_1239.log", "2026-11-26"],
    ["CA-26-11-26_1239-001.log", "2026-11-26"],
    ["CA-99-01-31_0000-1234.log", "2099-01-31"],
  ])("CA log %s is of day %s", (name, day) => {
    expect(parseCaLogName(name)?.day).toBe(day);
    expect(parseCaLogName(name)?.prefix).toBe("CA");
  });
  test.each(["CA-26-13-01_1200.log", "CA-26-02-30_1200.log", "CA-26-11-26_2460.log", "CA-26-11-26_1239.log.1", "ca-26-11-26_1239.txt", "CA-26-11-26.log"])(
    "%s is not a CA log",
    (name) => expect(parseCaLogName(name)).toBeUndefined(),
  );
  test.each([
    ["CIFS-20261126.log", "CIFS", "2026-11-26"],
    ["rsync-20240229.log", "RSYNC", "2024-02-29"],
    ["CAD-20261126.log", "CAD", "2026-11-26"],
    ["RP-20261126.log", "RP", "2026-11-26"],
  ])("daily log %s: prefix %s, day %s", (name, prefix, day) => {
    const f = parseDailyLogName(name);
    expect(f?.prefix).toBe(prefix);
    expect(f?.day).toBe(day);
  });
  test.each(["CIFS-20230229.log", "CIFS-2026112.log", "CIFS-20261126.log.gz", "CIFS-20261126.log.1", "C-20261126.log", "CA-20261126.log", "1X-20261126.log", "notes.txt"])(
    "%s is not a daily log",
    (name) => expect(parseDailyLogName(name)).toBeUndefined(),
  );
  test("CA logs order by time, then suffix (-001 after the plain name)", () => {
    const names = ["CA-26-11-26_1239-002.log", "CA-26-11-26_1239.log", "CA-26-11-25_2359.log", "CA-26-11-26_1239-001.log", "CA-26-11-26_0800-010.log"];
    const files = listLogFiles({ logs: "/L", spoolLogs: "/S" }, (dir) => (dir === "/L" ? names : []));
    expect(files.map((f) => f.name)).toEqual(["CA-26-11-25_2359.log", "CA-26-11-26_0800-010.log", "CA-26-11-26_1239.log", "CA-26-11-26_1239-001.log", "CA-26-11-26_1239-002.log"]);
  });
});

describe("--daysago counts days that have a log", () => {
  const files: LogFile[] = ["2026-11-26", "2026-11-26", "2026-11-20", "2026-10-01"].map((day, i) => ({
    prefix: "CIFS",
    day,
    sortKey: `${day} ${i}`,
    name: `f${i}`,
    path: `/f${i}`,
    kind: "daily",
  }));
  test.each([
    [0, "2026-11-26", 2],
    [1, "2026-11-20", 1],
    [2, "2026-10-01", 1],
  ])("--daysago %d is %s (%d files)", (n, day, count) => {
    const p = pickDay(files, n);
    expect("day" in p && p.day).toBe(day);
    expect("files" in p && p.files.length).toBe(count);
  });
  test("beyond the last day with a log", () => {
    expect(pickDay(files, 3)).toEqual({ outOfRange: { days: 3, newest: "2026-11-26", oldest: "2026-10-01" } });
  });
  test("no logs at all", () => expect(pickDay([], 0)).toEqual({ none: true }));
});

describe("prefixes", () => {
  test.each([
    ["CA", "cncopagent's own log"],
    ["CAD", "diagnostic"],
    ["RP", "cncopreporter"],
    ["CIFS", "backupagentcifs"],
    ["NQ", "backupagentnq"],
    ["ZZZ", "an agent's daily log"],
  ])("%s is described as %s", (prefix, what) => expect(describePrefix(prefix)).toContain(what));
  test("an agent added in [agents] names its prefix", () => {
    expect(describePrefix("TAPE", ["backupagenttape"])).toContain("backupagenttape");
    expect(isKnownPrefix("TAPE", ["backupagenttape"])).toBe(true);
    expect(isKnownPrefix("TAPE")).toBe(false);
  });
  test("listing rows: CA first, newest day and days counted per prefix", () => {
    const files = listLogFiles({ logs: "/L", spoolLogs: "/S" }, (dir) =>
      dir === "/L" ? ["CA-26-11-20_0100.log", "CA-26-11-26_0100.log", "CA-26-11-26_0200.log"] : ["AAA-20261101.log", "CIFS-20261120.log", "CIFS-20261125.log", "junk.log"],
    );
    expect(summarisePrefixes(files).map((r) => [r.prefix, r.newestDay, r.days, r.files])).toEqual([
      ["CA", "2026-11-26", 2, 3],
      ["AAA", "2026-11-01", 1, 1],
      ["CIFS", "2026-11-25", 2, 2],
    ]);
  });
});

describe("line tones", () => {
  test.each([
    ["ERROR cannot connect", "error"],
    ["WARN slow", "warn"],
    ["DEBUG x", "dim"],
    ["INFO copying", "plain"],
    ["FINISH job 1 'a''b' session S state OK files 1 bytes 2 duration 1s", "ok"],
    ["FINISH job 1 'a' session S state ERROR files 0 bytes 0 duration 1s", "error"],
    ["FINISH job 1 'a' session S state RE-RUN files 0 bytes 0 duration 1s", "warn"],
    ["[backupagentcifs#1 stderr] oops", "error"],
    ["[backupagentcifs#1 stdout] ERROR in a file name", "plain"],
    ["[prerun stderr] oops", "error"],
    ["job 1 'x' final state: OK (completed) after 1.0 s, 1 attempt(s)", "ok"],
    ["job 1 'x' final state: ERROR (agent exited with status 1) after 1.0 s, 1 attempt(s)", "error"],
    ["job 1 'x': attempt 1: backupagentcifs exited with status 75 after 3 ms: RE-RUN", "warn"],
    ["job 1 'x': attempt 1: backupagentcifs was killed by SIGKILL after 3 ms: ERROR", "error"],
    ["job 1 'x' skipped: already running since 2026-11-26 10:00:00 as session S (pid 1)", "warn"],
    ["prerun: exited with status 0 after 0.1 s", "plain"],
    ["prerun: exited with status 2 after 0.1 s", "error"],
    // Windows statuses named (issue 15).
    ["job 1 'x': attempt 1: crasher exited with status 0xC0000005 (access violation, STATUS_ACCESS_VIOLATION) after 1.1 s: ERROR", "error"],
    ["postfailure: exited with status 0xC000013A (interrupted by Ctrl-C or a closed console, STATUS_CONTROL_C_EXIT) after 0.1 s", "error"],
    ["prerun: refused \"x\": not in Bin", "error"],
    ["unknown job \"nope\": no job has that id or title", "error"],
    ["cncopagent finished: exit status 0 (1 OK, 0 failed, 0 skipped)", "ok"],
    ["cncopagent finished: exit status 3 (0 OK, 0 failed, 1 skipped)", "warn"],
    ["cncopagent finished: exit status 1 (0 OK, 1 failed, 0 skipped)", "error"],
  ])("%s -> %s", (text, tone) => expect(toneOfText(text)).toBe(tone as never));
  test.each([
    ["2026-11-26 10:00:00 hello", { stamp: "2026-11-26 10:00:00", text: "hello" }],
    ["2026-11-26 10:00:00 ", { stamp: "2026-11-26 10:00:00", text: "" }],
    ["2026-11-26T10:00:00 hello", undefined],
    ["no stamp", undefined],
    ["2026-11-26 10:00:0x hello", undefined],
  ])("splitStamp(%p)", (line, want) => expect(splitStamp(line)).toEqual(want as never));
});

describe("file reading", () => {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), "w-unit-"));
  test("forEachLine reads every line across chunk boundaries", () => {
    const p = nodePath.join(dir, "a.log");
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i} ${"x".repeat(i % 37)}`);
    writeFileSync(p, `${lines.join("\n")}\n`);
    const got: string[] = [];
    forEachLine(p, (l) => got.push(l), 7);
    expect(got).toEqual(lines);
  });
  test.each([
    // Shown, never obeyed: a child's colours, a lone CR, a tab, an OSC title, a C1 CSI, a partial last line.
    ["\x1b[31mred\x1b[0m\n", ["\\x1b[31mred\\x1b[0m"]],
    ["10%\r20%\r\n", ["10%\\r20%"]],
    ["a\tb\x1b]0;t\x07\u009b2J\n", ["a\\tb\\x1b]0;t\\x07\\x9b2J"]],
    ["ok\ncut\x1b", ["ok", "cut\\x1b"]],
  ])("forEachLine shows %p escaped", (text, lines) => {
    const p = nodePath.join(dir, "e.log");
    writeFileSync(p, text);
    const got: string[] = [];
    forEachLine(p, (l) => got.push(l), 3);
    expect(got).toEqual(lines);
  });
  test.each([
    ["a\nb\nc\n", 2, ["b", "c"], 6],
    ["a\nb\nc\npartial", 2, ["b", "c"], 6],
    ["partial", 5, [], 0],
    ["", 5, [], 0],
    ["a\nb\n", 10, ["a", "b"], 4],
    ["\x1b[2Ja\r\nb\x07\n", 5, ["\\x1b[2Ja", "b\\x07"], 10],
  ])("lastLines(%p, %d)", (text, n, lines, end) => {
    const p = nodePath.join(dir, "b.log");
    writeFileSync(p, text);
    expect(lastLines(p, n)).toEqual({ lines, end });
  });
  test("lastLines of a big file reads only its end", () => {
    const p = nodePath.join(dir, "c.log");
    writeFileSync(p, `${"y".repeat(100)}\n`.repeat(10_000));
    const r = lastLines(p, 3, 1000);
    expect(r.lines).toEqual(["y".repeat(100), "y".repeat(100), "y".repeat(100)]);
    expect(r.end).toBe(1_010_000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});

describe("pager choice", () => {
  const on = (...names: string[]) => (c: string) => (names.includes(c) ? `/usr/bin/${c}` : null);
  test.each([
    [{}, on("less", "vim", "more"), ["/usr/bin/less", "-R", "-S", "+G"], 0],
    [{}, on("vim", "more"), ["/usr/bin/vim", "-R", "-n", "+"], 0],
    [{}, on("more"), ["/usr/bin/more"], 0],
    [{}, on(), undefined, 0],
    [{ PAGER: "most -s" }, on("most", "less"), ["/usr/bin/most", "-s"], 0],
    [{ PAGER: "'my pager' -x" }, on("my pager"), ["/usr/bin/my pager", "-x"], 0],
    [{ PAGER: "nope" }, on("less"), ["/usr/bin/less", "-R", "-S", "+G"], 1],
    [{ PAGER: "  " }, on("more"), ["/usr/bin/more"], 0],
    [{ PAGER: "'unterminated" }, on("more"), ["/usr/bin/more"], 1],
  ])("PAGER %p -> %p (%d warnings)", (env, which, argv, warnings) => {
    const warned: string[] = [];
    expect(choosePager(env as Record<string, string>, which, (t) => warned.push(t))).toEqual(argv as never);
    expect(warned.length).toBe(warnings);
  });
});

describe("agent log summary", () => {
  const feed = (lines: string[]) => {
    const s = new AgentLogSummariser();
    for (const l of lines) s.feed(l);
    settleOpenRuns(s.runs, () => false);
    return s;
  };
  test("titles with doubled quotes", () => {
    expect(unquoteTitle("Bob''s ''files''")).toBe("Bob's 'files'");
    const s = feed(["2026-11-26 01:00:00 START job 7 'Bob''s files' session S attempt 1", "2026-11-26 01:00:09 FINISH job 7 'Bob''s files' session S state OK files 3 bytes 10 duration 9s"]);
    expect(s.runs[0]).toMatchObject({ jobid: 7n, title: "Bob's files", state: "OK", attempts: 1, files: 3, bytes: 10, duration: "9.0 s" });
  });
  test("interleaved runs: ERROR lines go to the run started last and still open", () => {
    const s = feed([
      "2026-11-26 01:00:00 START job 1 'A' session S1 attempt 1",
      "2026-11-26 01:00:01 START job 2 'B' session S2 attempt 1",
      "2026-11-26 01:00:02 ERROR b failed",
      "2026-11-26 01:00:03 FINISH job 2 'B' session S2 state ERROR files 0 bytes 0 duration 2s",
      "2026-11-26 01:00:04 ERROR a failed",
      "2026-11-26 01:00:05 FINISH job 1 'A' session S1 state ERROR files 0 bytes 0 duration 5s",
    ]);
    expect(s.runs.map((r) => [r.title, r.errors.lines.map((l) => l.text)])).toEqual([
      ["A", ["ERROR a failed"]],
      ["B", ["ERROR b failed"]],
    ]);
  });
  test("a re-run is one run; an attempt without FINISH counts as killed; a FINISH without START began in an earlier log", () => {
    const s = feed([
      "2026-11-26 00:00:05 FINISH job 9 'Night' session S9 state OK files 1 bytes 1 duration 600s",
      "2026-11-26 01:00:00 START job 1 'A' session S1 attempt 1",
      "2026-11-26 01:00:10 START job 1 'A' session S1 attempt 2",
      "2026-11-26 01:00:20 FINISH job 1 'A' session S1 state OK files 0 bytes 0 duration 10s",
      "2026-11-26 02:00:00 START job 2 'B' session S2 attempt 1 dry run",
    ]);
    expect(s.runs.map((r) => [Number(r.jobid), r.start, r.state, r.attempts, r.attemptStates.join(","), r.dryRun])).toEqual([
      [9, undefined, "OK", 1, "OK", false],
      [1, "2026-11-26 01:00:00", "OK", 2, "ERROR,OK", false],
      [2, "2026-11-26 02:00:00", "UNFINISHED", 1, "", true],
    ]);
    expect(s.runs[0]!.reason).toBe("started in an earlier log");
  });
  test("lines of another format: counted, ERROR/WARN kept", () => {
    const s = feed(["2026-11-26 01:00:00 sent JF-1.json", "2026-11-26 01:00:01 WARN slow answer", "2026-11-26 01:00:02 ERROR refused", "no stamp"]);
    expect([s.lines, s.first, s.last, s.runs.length, s.outside.lines.map((l) => l.text)]).toEqual([3, "2026-11-26 01:00:00", "2026-11-26 01:00:02", 0, ["WARN slow answer", "ERROR refused"]]);
  });
});

describe("CA log summary", () => {
  test("lines of a run without its start line, a not-started job, notes", () => {
    const s = new CaSummariser();
    for (const l of [
      "2026-11-26 10:00:00 job 3 'X': attempt 2: backupagentcifs exited with status 1 after 1.0 s: ERROR",
      "2026-11-26 10:00:01 job 3 'X' final state: ERROR (agent exited with status 1) after 1 min 02 s, 2 attempt(s)",
      "2026-11-26 10:00:02 SIGINT received: stopping the running job, then cleaning up",
      "2026-11-26 10:00:03 job 4 'Y' not started: cncopagent was interrupted",
      "2026-11-26 10:00:04 cncopagent finished: exit status 130 (0 OK, 1 failed, 0 skipped, interrupted by SIGINT)",
    ])
      s.feed(l);
    expect(s.invocations.length).toBe(1);
    const inv = s.invocations[0]!;
    expect(inv.runs.map((r) => [Number(r.jobid), r.state, r.attempts, r.duration])).toEqual([
      [3, "ERROR", 2, "1 min 02 s"],
      [4, "NOT STARTED", 0, undefined],
    ]);
    expect(inv.exitStatus).toBe(130);
    expect(inv.notes.lines.map((l) => l.text)).toEqual(["SIGINT received: stopping the running job, then cleaning up"]);
  });
  test("error lines are bounded", () => {
    const b = new BoundedLines(3);
    for (let i = 0; i < 10; i++) b.add("2026-11-26 10:00:00", `e${i}`);
    expect([b.lines.map((l) => l.text), b.dropped, b.count]).toEqual([["e7", "e8", "e9"], 7, 10]);
    b.add("2026-11-26 10:00:00", "z".repeat(2000));
    expect(b.lines[2]!.text.length).toBeLessThan(600);
  });
});

describe("agent stdout lines are recognised without decoding", () => {
  test.each([
    ["2026-11-26 10:00:00 [backupagentcifs#1 stdout] copied", true],
    ["2026-11-26 10:00:00 [prerun stdout] hello there", true],
    ["2026-11-26 10:00:00 [backupagentcifs#1 stderr] failed", false],
    ["2026-11-26 10:00:00 job 1 'a [x stdout] b': attempt 1: run: x", false],
    ["2026-11-26 10:00:00 [backupagentcifs#1 stdout]", false],
    ["2026-11-26 10:00:00 [no closing bracket stdout  ", false],
    [`2026-11-26 10:00:00 [${"a".repeat(200)} stdout] x`, false],
  ])("%s -> %p", (line, want) => {
    const buf = Buffer.from(`xx${line}\nyy`);
    expect(isStdoutLine(buf, 2, 2 + Buffer.byteLength(line))).toBe(want);
  });
});
