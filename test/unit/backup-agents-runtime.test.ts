/** Pure parts of the agent runtime: command line, log lines, sessions, reports, settings. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { parseBackupAgentArgs } from "../../src/backup-agents/agent-args.ts";
import { finishLine, formatSeconds, openAgentLog, quoteTitle, startLine } from "../../src/backup-agents/agent-log.ts";
import { finishedReport, redactUrlPassword, statisticsReport, type RunFacts } from "../../src/backup-agents/agent-reports.ts";
import { earlyResult } from "../../src/backup-agents/agent-result.ts";
import { dailyLogPath } from "../../src/install/paths.ts";
import { AGENT_EXIT, exitCodeOf, isWorse, type FinishState } from "../../src/reports/finish-state.ts";
import { foldLine, priorAttempts, type LoggedAttempt } from "../../src/backup-agents/prior-attempts.ts";
import { sessionOf } from "../../src/backup-agents/runtime.ts";
import { readBoolean, readNumber, readSecret, readSettings, readStringList, SettingsError } from "../../src/backup-agents/settings.ts";
import { CncopError } from "../../src/cli/errors.ts";
import { localTimestamp } from "../../src/format/time.ts";

describe("agent command line", () => {
  const ok: [string[], object][] = [
    [["-c", "/r/Config/cncop3.ini", "12"], { debug: false, dryrun: false, config: "/r/Config/cncop3.ini", jobid: 12n }],
    [["-d", "-c", "/c.ini", "-n", "3"], { debug: true, dryrun: true, config: "/c.ini", jobid: 3n }],
    [["-dn", "-c/c.ini", "3"], { debug: true, dryrun: true, config: "/c.ini", jobid: 3n }],
    [["--debug", "--config=/c.ini", "--dryrun", "7"], { debug: true, dryrun: true, config: "/c.ini", jobid: 7n }],
    [["5"], { config: undefined, jobid: 5n }],
    [["-?"], { help: true }],
  ];
  test.each(ok)("%p", (args, expected) => expect(parseBackupAgentArgs("backupagentcifs", args)).toMatchObject(expected));

  const bad: [string[], RegExp][] = [
    [[], /a jobid is required/],
    [["-c", "/c.ini"], /a jobid is required/],
    [["1", "2"], /exactly one jobid is expected, got 2/],
    [["x1"], /jobid "x1" is not a whole number/],
    [["-1"], /unknown option -1/],
    [["--email", "a@b", "1"], /unknown option --email/],
    [["-c"], /option -c needs a value/],
    [["-c", "", "1"], /option -c needs a file name/],
  ];
  test.each(bad)("%p is a usage error", (args, message) => {
    expect(() => parseBackupAgentArgs("backupagentcifs", args)).toThrow(CncopError);
    expect(() => parseBackupAgentArgs("backupagentcifs", args)).toThrow(message);
  });
});

describe("daily log lines (docs/log-formats.md, Agents)", () => {
  const id = { jobid: 4, jobtitle: "Bob's files", session: "01ab-cd" };
  test("START and FINISH", () => {
    expect(startLine(id, 2, false)).toBe("START job 4 'Bob''s files' session 01ab-cd attempt 2");
    expect(startLine(id, 1, true)).toBe("START job 4 'Bob''s files' session 01ab-cd attempt 1 dry run");
    expect(finishLine(id, "RE-RUN", 12, 3456, 1234.4)).toBe("FINISH job 4 'Bob''s files' session 01ab-cd state RE-RUN files 12 bytes 3456 duration 1.234s");
  });
  const seconds: [number, string][] = [[0, "0s"], [999.6, "1s"], [1500, "1.5s"], [61_000, "61s"], [12, "0.012s"], [-5, "0s"]];
  test.each(seconds)("formatSeconds(%p) = %p", (ms, text) => expect(formatSeconds(ms)).toBe(text));
  const titles: [string, string][] = [["it's\nmine", "'it''s\\nmine'"], ["tab\there", "'tab\\there'"], ["esc\x1b[0m", "'esc\\x1b[0m'"], ["''", "''''''"], ["plain ✓", "'plain ✓'"]];
  test.each(titles)("a title is quoted with ' doubled and kept on one line: %p", (title, quoted) => expect(quoteTitle(title)).toBe(quoted));
  test("START and FINISH keep a title and session from outside on one line", () => {
    const odd = { jobid: 5, jobtitle: "a\r\nb", session: "s\n2" };
    expect(startLine(odd, 1, false)).toBe("START job 5 'a\\r\\nb' session s\\n2 attempt 1");
    expect(finishLine(odd, "OK", 0, 0, 0)).toBe("FINISH job 5 'a\\r\\nb' session s\\n2 state OK files 0 bytes 0 duration 0s");
  });
  test("the daily log is named by prefix and local date", () => {
    expect(dailyLogPath("/r/Spool/Logs", "CIFS", new Date(2025, 0, 9, 23, 59))).toBe(nodePath.join("/r/Spool/Logs", "CIFS-20250109.log"));
  });
});

describe("the daily log written (docs/log-formats.md, Agents)", () => {
  const id = { jobid: 4, jobtitle: "Bob's files", session: "01ab-cd" };
  const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /;
  function written(debug: boolean, work: (log: ReturnType<typeof openAgentLog>) => void) {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-agentlog-"));
    try {
      const echoed: string[] = [];
      const log = openAgentLog(dir, "CIFS", { debug, echo: (t) => echoed.push(t) }, new Date(2025, 0, 9, 12));
      work(log);
      log.close();
      const lines = readFileSync(dailyLogPath(dir, "CIFS", new Date(2025, 0, 9)), "utf8").split("\n");
      expect(lines.pop()).toBe("");
      for (const l of lines) expect(l).toMatch(stamp);
      return { lines: lines.map((l) => l.replace(stamp, "")), echoed, counts: [log.errors, log.warnings] };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const events = (log: ReturnType<typeof openAgentLog>) => {
    log.start(id, 1, false);
    log.info("copying");
    log.debug("a detail");
    log.warn("skipped a\nfile");
    log.error("no share \x1b[31mhere");
    log.finish(id, "ERROR", 1, 2, 1500);
  };
  test("every event one line with its level word; messages escaped; ERROR and WARN echoed and counted", () => {
    const r = written(false, events);
    expect(r.lines).toEqual([
      "START job 4 'Bob''s files' session 01ab-cd attempt 1",
      "INFO copying",
      "WARN skipped a\\nfile",
      "ERROR no share \\x1b[31mhere",
      "FINISH job 4 'Bob''s files' session 01ab-cd state ERROR files 1 bytes 2 duration 1.5s",
    ]);
    expect(r.echoed).toEqual(["WARN skipped a\\nfile", "ERROR no share \\x1b[31mhere"]);
    expect(r.counts).toEqual([1, 1]);
  });
  test("DEBUG lines only under -d", () => {
    expect(written(true, events).lines).toContain("DEBUG a detail");
  });
  test("the job's known secrets are *** in every line and echo, whatever quotes them", () => {
    const r = written(true, (log) => {
      log.info("before: s3cr!t");
      log.hideSecrets(["s3cr!t", "s3cr!t-longer", "ab"]);
      log.info("server said: bad login s3cr!t-longer");
      log.debug("reply s3cr!t");
      log.warn("retry with s3cr!t");
      log.error("530 s3cr!t rejected");
    });
    expect(r.lines).toEqual(["INFO before: s3cr!t", "INFO server said: bad login ***", "DEBUG reply ***", "WARN retry with ***", "ERROR 530 *** rejected"]);
    expect(r.echoed).toEqual(["WARN retry with ***", "ERROR 530 *** rejected"]);
  });
});

describe("states", () => {
  const codes: [FinishState, number][] = [["OK", 0], ["RE-RUN", 75], ["ERROR", 1]];
  test.each(codes)("%s exits %d", (state, code) => {
    expect(exitCodeOf(state)).toBe(code);
  });
  const order: [FinishState, FinishState, boolean][] = [
    ["ERROR", "RE-RUN", true],
    ["RE-RUN", "OK", true],
    ["ERROR", "OK", true],
    ["OK", "RE-RUN", false],
    ["RE-RUN", "ERROR", false],
    ["RE-RUN", "RE-RUN", false],
  ];
  test.each(order)("%s is worse than %s: %p", (a, b, want) => expect(isWorse(a, b)).toBe(want));
});

describe("session and attempt", () => {
  test("from cncopagent when they belong to this job", () => {
    expect(sessionOf({ CNCOP_SESSION: "s-1", CNCOP_ATTEMPT: "3", CNCOP_JOBID: "9" }, 9)).toEqual({ session: "s-1", attempt: 3, fromDispatcher: true });
    expect(sessionOf({ CNCOP_SESSION: "s-1" }, 9)).toEqual({ session: "s-1", attempt: 1, fromDispatcher: true });
  });
  test("a new session when run by hand, for another job, or with a bad value", () => {
    for (const env of [{}, { CNCOP_SESSION: "s-1", CNCOP_JOBID: "8" }, { CNCOP_SESSION: "has space" }]) {
      const s = sessionOf(env, 9);
      expect(s.fromDispatcher).toBe(false);
      expect(s.attempt).toBe(1);
      expect(s.session).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(sessionOf({ CNCOP_SESSION: "s", CNCOP_ATTEMPT: "0" }, 1).attempt).toBe(1);
    expect(sessionOf({ CNCOP_SESSION: "s", CNCOP_ATTEMPT: "x" }, 1).attempt).toBe(1);
  });
});

describe("earlier attempts read back from the daily log", () => {
  const stamp = (d: Date) => localTimestamp(d);
  test("foldLine keeps START/FINISH of the session and job only", () => {
    const into = new Map<number, LoggedAttempt>();
    const open = { attempt: undefined as number | undefined };
    const t1 = new Date(2025, 4, 1, 10, 0, 0);
    const t2 = new Date(2025, 4, 1, 10, 0, 5);
    for (const line of [
      `${stamp(t1)} START job 3 'x' session S attempt 1`,
      `${stamp(t1)} START job 3 'x' session OTHER attempt 1`,
      `${stamp(t1)} START job 4 'x' session S attempt 1`,
      `${stamp(t2)} FINISH job 3 'x' session S state RE-RUN files 0 bytes 0 duration 5s`,
    ]) foldLine(line, 3, "S", into, open);
    expect([...into.values()]).toEqual([{ attempt: 1, started: t1, finished: t2, exitcode: 75 }]);
  });

  test("priorAttempts reads today's and yesterday's logs", async () => {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-prior-"));
    try {
      const now = new Date(2025, 4, 2, 0, 30, 0);
      const y1 = new Date(2025, 4, 1, 23, 50, 0);
      const y2 = new Date(2025, 4, 1, 23, 51, 0);
      const t1 = new Date(2025, 4, 2, 0, 10, 0);
      writeFileSync(dailyLogPath(dir, "CIFS", y1), `${stamp(y1)} START job 3 'x' session S attempt 1\n${stamp(y2)} FINISH job 3 'x' session S state RE-RUN files 0 bytes 0 duration 60s\n`);
      writeFileSync(dailyLogPath(dir, "CIFS", now), `${stamp(t1)} START job 3 'x' session S attempt 2\n`);
      const attempts = await priorAttempts(dir, "CIFS", 3, "S", 3, now);
      expect(attempts).toEqual([
        { started: y1.toISOString(), finished: y2.toISOString(), exitcode: 75, signal: null },
        { started: t1.toISOString(), finished: t1.toISOString(), exitcode: null, signal: null },
      ]);
      expect(await priorAttempts(dir, "CIFS", 3, "S", 1, now)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("reports", () => {
  const facts: RunFacts = {
    job: { jobid: 5, jobtitle: "T", jobtype: "RSYNC" },
    session: "S",
    hostname: "h",
    agent: "backupagentrsync",
    attempt: 2,
    started: new Date("2025-05-01T10:00:00.000Z"),
    finished: new Date("2025-05-01T10:00:02.500Z"),
    source: "rsync://u:pw@host/mod",
    destination: "/backup",
    errors: 1,
    warnings: 2,
  };
  test("JS-: common figures, agent details, no secret in a URL", () => {
    const r = statisticsReport(facts, { ...earlyResult("ERROR", "why"), files: 3, bytes: 40, details: { rsync_exitcode: 23 } });
    expect(r).toMatchObject({ type: "jobstatistics", jobid: 5, session: "S", hostname: "h", time: "2025-05-01T10:00:02.500Z", agent: "backupagentrsync", attempt: 2, state: "ERROR", reason: "why", duration_sec: 2.5, source: "rsync://u:***@host/mod", files_transferred: 3, bytes_transferred: 40, errors: 1, warnings: 2, details: { rsync_exitcode: 23 } });
  });
  test("JF-: the attempts of the session, started when the first did", () => {
    const earlier = [{ started: "2025-05-01T09:59:00.000Z", finished: "2025-05-01T09:59:30.000Z", exitcode: 75, signal: null }];
    const r = finishedReport(facts, "OK", "done", AGENT_EXIT.OK, earlier);
    expect(r).toEqual({
      type: "jobfinished", jobid: 5, jobtitle: "T", jobtype: "RSYNC", session: "S", hostname: "h", time: "2025-05-01T10:00:02.500Z",
      status: "OK", reason: "done",
      attempts: [earlier[0]!, { started: "2025-05-01T10:00:00.000Z", finished: "2025-05-01T10:00:02.500Z", exitcode: 0, signal: null }],
      started: "2025-05-01T09:59:00.000Z", finished: "2025-05-01T10:00:02.500Z",
    });
  });
  const urls: [string, string][] = [["rsync://u:p@h/m", "rsync://u:***@h/m"], ["rsync://u@h/m", "rsync://u@h/m"], ["/plain/path", "/plain/path"], ["smb://dom;u:p%40ss@srv/share", "smb://dom;u:***@srv/share"]];
  test.each(urls)("redactUrlPassword(%p)", (a, b) => expect(redactUrlPassword(a)).toBe(b));
});

describe("settings readers", () => {
  type S = { flag: boolean; n: number; list: string[]; secret: string | undefined };
  const schema = { flag: readBoolean, n: readNumber(0, 10, true), list: readStringList, secret: readSecret };
  const defaults: S = { flag: false, n: 1, list: [], secret: undefined };
  test("known keys are read, unknown ones are warnings, null keeps the default", () => {
    const r = readSettings<S>({ flag: true, n: "3", list: "one", other: 1, secret: null }, schema, defaults);
    expect(r.settings).toEqual({ flag: true, n: 3, list: ["one"], secret: undefined });
    expect(r.warnings).toEqual(['unknown setting "other" ignored (known: flag, n, list, secret)']);
  });
  const bad: [string, object, RegExp][] = [
    ["a string for a boolean", { flag: "yes" }, /settings\.flag = "yes" is not valid: expected true or false/],
    ["a number out of range", { n: 11 }, /settings\.n = 11 is not valid: expected a whole number from 0 to 10/],
    ["a fraction for a whole number", { n: 1.5 }, /whole number/],
    ["a list of numbers", { list: [1] }, /settings\.list = \[1\] is not valid: expected a list of non-empty strings/],
    ["a line break", { list: ["a\nb"] }, /settings\.list/],
  ];
  test.each(bad)("%s is refused", (_label, raw, message) => expect(() => readSettings<S>(raw as Record<string, unknown>, schema, defaults)).toThrow(message));
  test("a bad secret is refused without showing it", () => {
    let message = "";
    try {
      readSettings<S>({ secret: ["hunter2"] }, schema, defaults);
    } catch (err) {
      expect(err).toBeInstanceOf(SettingsError);
      message = (err as Error).message;
    }
    expect(message).toContain("settings.secret is not valid");
    expect(message).not.toContain("hunter2");
  });
});

