/**
 * w end to end: listing, day summaries of real CA logs written by cncopagent (OK, failed,
 * re-run, skipped and running runs) and of agents' daily logs in the documented format,
 * --daysago across gaps, bounded memory on a big log, configuration and usage errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { localDateStamp, localTimestamp } from "../../src/format/time.ts";
import { pollPeakRss } from "../helpers/peak-rss.ts";
import { makeTree, waitFor, type Tree } from "../helpers/tree.ts";

let tree: Tree;
const spoolLogs = () => nodePath.join(tree.root, "Spool", "Logs");
const today = localTimestamp().slice(0, 10);

/** A daily log in the agents' format (docs/log-formats.md). */
function agentLog(name: string, lines: string[]): string {
  mkdirSync(spoolLogs(), { recursive: true });
  const p = nodePath.join(spoolLogs(), name);
  writeFileSync(p, lines.map((l) => `${l}\n`).join(""));
  return p;
}

beforeAll(async () => {
  tree = makeTree();
  tree.addJob({ jobid: 1, jobtitle: "Good files", jobtype: "CIFS" });
  tree.addJob({ jobid: 2, jobtitle: "Web server", jobtype: "RSYNC" });
  tree.addJob({ jobid: 3, jobtitle: "Flaky FTP", jobtype: "FTP", maxretries: 2, retrydelay: 0 });
  tree.addJob({ jobid: 4, jobtitle: "Long SFTP", jobtype: "SFTP" });
  tree.script("backupagentcifs", 'echo "copied 3 files"; exit 0');
  tree.script("backupagentrsync", 'echo "rsync: failed to connect to 127.0.0.1: Connection refused (111)" >&2; echo "rsync error: error in socket IO (code 10)" >&2; exit 1');
  tree.script("backupagentftp", 'if [ "$CNCOP_ATTEMPT" = 1 ]; then echo "server busy" >&2; exit 75; fi; echo "done on attempt $CNCOP_ATTEMPT"; exit 0');
  tree.script("backupagentsftp", 'echo "sftp waiting"; while [ ! -e "$CNCOP_HOME/go" ]; do sleep 0.05; done; echo "sftp done"; exit 0');

  const first = await tree.run("cncopagent", ["-d", "1", "2", "3"]);
  expect(first.exitCode).toBe(1);
}, 60_000);

afterAll(() => tree.cleanup());

describe("with logs written by cncopagent", () => {
  let runningSummary = "";
  let skipped: { exitCode: number };

  beforeAll(async () => {
    // A run in progress, and a second request for the same job while it runs: skipped.
    const long = tree.spawn("cncopagent", ["4"]);
    await waitFor(() => tree.caLogText().includes("[backupagentsftp#1 stdout] sftp waiting"), 20_000, "the SFTP agent to start");
    runningSummary = (await tree.run("w", ["CA", "--wide"])).stdout;
    skipped = await tree.run("cncopagent", ["Long SFTP"]);
    writeFileSync(nodePath.join(tree.root, "go"), "");
    expect(await long.exited).toBe(0);
  }, 60_000);

  test("the second request was skipped by cncopagent (exit 3)", () => expect(skipped.exitCode).toBe(3));

  test("a run in progress is RUNNING", () => {
    expect(runningSummary).toMatch(/\d\d:\d\d:\d\d - --:--:--  RUNNING\s+job 4 'Long SFTP' \(SFTP\), session \S+, 1 attempt/);
    expect(runningSummary).toContain("no finish line yet");
  });

  test("w CA summarises every CA log of the day", async () => {
    const r = await tree.run("w", ["CA", "--wide"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const out = r.stdout;
    const logs = tree.caLogs();
    expect(logs.length).toBe(3);
    expect(out).toContain(`${today}: 3 logs, 5 runs: 3 OK, 1 ERROR, 1 SKIPPED`);
    for (const name of logs) expect(out).toContain(`${name}: cncopagent started `);
    // OK
    expect(out).toMatch(/\d\d:\d\d:\d\d  OK\s+job 1 'Good files' \(CIFS\), session [0-9a-f-]{36}, 1 attempt, [^,]+: completed\n/);
    // failed, with its error lines
    expect(out).toMatch(/ERROR\s+job 2 'Web server' \(RSYNC\), session [0-9a-f-]{36}, 1 attempt, .*: rsync error: error in socket IO \(code 10\)\n/);
    expect(out).toMatch(/\n {23}\d\d:\d\d:\d\d \[backupagentrsync#1 stderr\] rsync: failed to connect to 127\.0\.0\.1: Connection refused \(111\)\n/);
    expect(out).toContain("[backupagentrsync#1 stderr] rsync error: error in socket IO (code 10)");
    expect(out).toContain("backupagentrsync exited with status 1 after");
    // re-run, then OK: no error lines shown for a run that ended OK
    expect(out).toMatch(/OK\s+job 3 'Flaky FTP' \(FTP\), session \S+, 2 attempts \(RE-RUN, OK\), .*: completed on attempt 2\n/);
    expect(out).not.toContain("server busy");
    // the long run, and the skipped request
    expect(out).toMatch(/OK\s+job 4 'Long SFTP' \(SFTP\), session \S+, 1 attempt, .*: completed\n/);
    expect(out).toMatch(/SKIPPED\s+job 4 'Long SFTP' \(SFTP\), session \S+: already running since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d as session \S+ \(pid \d+\)\n/);
    // invocation lines with arguments and exit status
    expect(out).toContain("arguments: -d 1 2 3; exit status 1 (2 OK, 1 failed, 0 skipped)");
    expect(out).toContain("arguments: 'Long SFTP'; exit status 3 (0 OK, 0 failed, 1 skipped)");
    expect(out).toContain("arguments: 4; exit status 0 (1 OK, 0 failed, 0 skipped)");
    // the sessions are the ones in the log
    const sessions = [...tree.caLogText().matchAll(/: session (\S+)$/gm)].map((m) => m[1]!);
    expect(sessions.length).toBe(5);
    for (const s of sessions) expect(out).toContain(`session ${s}`);
  });

  test("prefixes are case-insensitive; CAD (cncopagent -d) is summarised like CA", async () => {
    const r = await tree.run("w", ["cad", "--wide"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`CAD: cncopagent -d diagnostic log (Spool/Logs/)`);
    expect(r.stdout).toContain(`${today}: CAD-${localDateStamp()}.log, 3 runs: 2 OK, 1 ERROR`);
    expect(r.stdout).toMatch(/ERROR\s+job 2 'Web server' \(RSYNC\)/);
  });

  test("--daysago counts days with a CA log, across gaps; the day is the one in the name", async () => {
    const logs = nodePath.join(tree.root, "Logs");
    const first = tree.caLogs().find((n) => readFileSync(nodePath.join(logs, n), "utf8").includes("arguments: -d 1 2 3"))!;
    copyFileSync(nodePath.join(logs, first), nodePath.join(logs, "CA-20-01-05_0900.log"));
    copyFileSync(nodePath.join(logs, first), nodePath.join(logs, "CA-19-12-20_2300-001.log"));
    const one = await tree.run("w", ["CA", "--daysago", "1"]);
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toContain("2020-01-05: CA-20-01-05_0900.log, 3 runs");
    const two = await tree.run("w", ["--daysago=2", "CA"]);
    expect(two.stdout).toContain("2019-12-20: CA-19-12-20_2300-001.log, 3 runs");
    const three = await tree.run("w", ["CA", "--daysago", "3"]);
    expect(three.exitCode).toBe(1);
    expect(three.stderr).toContain(`CA has logs on 3 days (newest ${today}, oldest 2019-12-20): --daysago counts those days, so use 0 to 2.`);
  });
});

describe("agents' daily logs", () => {
  const day = "2020-03-10";
  beforeAll(() => {
    agentLog("CIFS-20200310.log", [
      `${day} 00:00:04 FINISH job 9 'Night run' session N9 state OK files 5 bytes 2048 duration 600s`,
      `${day} 01:00:00 START job 1 'Bob''s files' session S1 attempt 1`,
      `${day} 01:00:01 INFO copying \\\\server\\share`,
      `${day} 01:00:02 FINISH job 1 'Bob''s files' session S1 state OK files 12 bytes 123456 duration 2.5s`,
      `${day} 02:00:00 START job 2 'Accounts' session S2 attempt 1`,
      `${day} 02:00:01 WARN slow share`,
      `${day} 02:00:02 ERROR cannot open \\\\server\\accounts: access denied`,
      `${day} 02:00:03 ERROR giving up`,
      `${day} 02:00:04 FINISH job 2 'Accounts' session S2 state ERROR files 0 bytes 0 duration 4s`,
      `${day} 03:00:00 START job 3 'Flaky' session S3 attempt 1`,
      `${day} 03:00:01 ERROR file changed while being read`,
      `${day} 03:00:02 FINISH job 3 'Flaky' session S3 state RE-RUN files 1 bytes 10 duration 2s`,
      `${day} 03:01:02 START job 3 'Flaky' session S3 attempt 2`,
      `${day} 03:01:05 FINISH job 3 'Flaky' session S3 state OK files 4 bytes 40 duration 3s`,
      `${day} 04:00:00 START job 5 'Exhausted' session S5 attempt 1`,
      `${day} 04:00:01 FINISH job 5 'Exhausted' session S5 state RE-RUN files 0 bytes 0 duration 1s`,
      `${day} 05:00:00 START job 6 'Trial' session S6 attempt 1 dry run`,
      `${day} 05:00:01 FINISH job 6 'Trial' session S6 state OK files 0 bytes 0 duration 1s`,
      `${day} 23:59:00 START job 7 'Cut off' session S7 attempt 1`,
      `${day} 23:59:30 ERROR the agent was here when the log ends`,
    ]);
  });

  test("w CIFS --daysago 0 summarises each run of the newest CIFS day", async () => {
    const r = await tree.run("w", ["CIFS", "--wide"]);
    expect(r.exitCode).toBe(0);
    const out = r.stdout;
    expect(out).toContain("CIFS: backupagentcifs daily log, job type CIFS (Spool/Logs/)");
    expect(out).toContain(`${day}: CIFS-20200310.log, 6 runs: 3 OK, 1 ERROR, 1 RE-RUN, 1 UNFINISHED; 1 dry run`);
    expect(out).toContain("CIFS-20200310.log: 20 lines from 00:00:04 to 23:59:30");
    expect(out).toContain("  --:--:-- - 00:00:04  OK          job 9 'Night run', session N9, 1 attempt, 10 min 00 s, 5 files, 2.0 KiB: started in an earlier log\n");
    expect(out).toContain("  01:00:00 - 01:00:02  OK          job 1 'Bob's files', session S1, 1 attempt, 2.5 s, 12 files, 120.6 KiB\n");
    expect(out).toContain(
      "  02:00:00 - 02:00:04  ERROR       job 2 'Accounts', session S2, 1 attempt, 4.0 s, 0 files, 0 B\n" +
        "                       02:00:02 ERROR cannot open \\\\server\\accounts: access denied\n" +
        "                       02:00:03 ERROR giving up\n",
    );
    expect(out).not.toContain("slow share");
    expect(out).toContain("  03:00:00 - 03:01:05  OK          job 3 'Flaky', session S3, 2 attempts (RE-RUN, OK), 5.0 s, 4 files, 40 B\n");
    expect(out).not.toContain("file changed while being read");
    expect(out).toContain("  04:00:00 - 04:00:01  RE-RUN      job 5 'Exhausted', session S5, 1 attempt, 1.0 s, 0 files, 0 B: the agent asked for a re-run; no later attempt in this log\n");
    expect(out).toContain("  05:00:00 - 05:00:01  OK          job 6 'Trial', session S6, 1 attempt, 1.0 s, 0 files, 0 B, dry run\n");
    expect(out).toContain(
      "  23:59:00 - --:--:--  UNFINISHED  job 7 'Cut off', session S7, 1 attempt: no final state in the log: the run was killed, or it goes on in a later log\n" +
        "                       23:59:30 ERROR the agent was here when the log ends\n",
    );
  });

  test("--daysago counts days that have a log, not calendar days", async () => {
    agentLog("CIFS-20200301.log", [`2020-03-01 08:00:00 START job 1 'Bob''s files' session E1 attempt 1`, `2020-03-01 08:00:09 FINISH job 1 'Bob''s files' session E1 state OK files 1 bytes 1 duration 9s`]);
    agentLog("CIFS-20191231.log", [`2019-12-31 08:00:00 START job 1 'Bob''s files' session E0 attempt 1`, `2019-12-31 08:00:09 FINISH job 1 'Bob''s files' session E0 state ERROR files 0 bytes 0 duration 9s`]);
    const cases: [string, string, string][] = [
      ["0", "2020-03-10", "6 runs"],
      ["1", "2020-03-01", "session E1"],
      ["2", "2019-12-31", "session E0"],
    ];
    for (const [n, d, what] of cases) {
      const r = await tree.run("w", ["--daysago", n, "CIFS"]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(`${d}: CIFS-${d.replaceAll("-", "")}.log`);
      expect(r.stdout).toContain(what);
    }
    const beyond = await tree.run("w", ["--daysago", "3", "CIFS"]);
    expect(beyond.exitCode).toBe(1);
    expect(beyond.stderr).toContain("CIFS has logs on 3 days (newest 2020-03-10, oldest 2019-12-31)");
  });

  test("a log of another format (RP) shows its span and its ERROR/WARN lines", async () => {
    agentLog("RP-20200310.log", [`${day} 01:00:00 sent JF-1.json: 200`, `${day} 01:00:01 WARN https://reports.example.com: timed out`, `${day} 01:00:02 ERROR JE-2.json refused: 400 Bad Request`]);
    const r = await tree.run("w", ["RP"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("RP: cncopreporter's log (Spool/Logs/)");
    expect(r.stdout).toContain(`${day}: RP-20200310.log, 0 runs`);
    expect(r.stdout).toContain("RP-20200310.log: 3 lines from 01:00:00 to 01:00:02");
    expect(r.stdout).toContain("01:00:01 WARN https://reports.example.com: timed out");
    expect(r.stdout).toContain("01:00:02 ERROR JE-2.json refused: 400 Bad Request");
    expect(r.stdout).not.toContain("sent JF-1.json");
  });

  test("w without PREFIX lists the prefixes present, the newest day and what each is", async () => {
    writeFileSync(nodePath.join(spoolLogs(), "CIFS-20200310.log.1"), "rotated\n");
    writeFileSync(nodePath.join(spoolLogs(), "notes.txt"), "not a log\n");
    const r = await tree.run("w", []);
    expect(r.exitCode).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => /^[A-Z]+\s+\d{4}-/.test(l));
    expect(rows).toEqual([
      `CA      ${today}     3      5  cncopagent's own log, one per invocation (Logs/)`,
      `CAD     ${today}     1      1  cncopagent -d diagnostic log (Spool/Logs/)`,
      `CIFS    2020-03-10     3      3  backupagentcifs daily log, job type CIFS (Spool/Logs/)`,
      `RP      2020-03-10     1      1  cncopreporter's log (Spool/Logs/)`,
    ]);
    expect(r.stdout).toContain("PREFIX  NEWEST      DAYS  FILES  WHAT");
  });

  test("an unknown prefix: exit 1, naming the prefixes that have logs", async () => {
    const r = await tree.run("w", ["WIMG"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`no WIMG logs (WIMG-YYYYMMDD.log) in ${spoolLogs()}. Prefixes with logs: CA, CAD, CIFS, RP.`);
  });
});

describe("configuration and usage", () => {
  test("an invalid config is a warning: the logs are still read; -c locates the root", async () => {
    const t = makeTree({ config: "[defaults\ndays_of_logs = 9\n" });
    try {
      mkdirSync(nodePath.join(t.root, "Spool", "Logs"), { recursive: true });
      writeFileSync(nodePath.join(t.root, "Spool", "Logs", "TAPE-20200101.log"), "2020-01-01 01:00:00 START job 1 'T' session X attempt 1\n");
      const r = await t.run("w", ["-c", t.configFile, "tape"], { env: { CNCOP_HOME: "" } });
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toContain(`w: warning: ${t.configFile}, line 1: "[defaults" is not a valid section header`);
      expect(r.stderr).toContain("(reading the logs anyway)");
      expect(r.stdout).toContain("TAPE: an agent's daily log (Spool/Logs/)");
      // With a valid config, an agent added in [agents] names its prefix.
      t.writeConfig("[agents]\nTAPE = backupagenttape\n");
      const ok = await t.run("w", []);
      expect(ok.stderr).toBe("");
      expect(ok.stdout).toContain("TAPE    2020-01-01     1      1  backupagenttape daily log (Spool/Logs/)");
    } finally {
      t.cleanup();
    }
  });

  test("a missing config is no reason to complain; no logs yet is said plainly; w creates nothing", async () => {
    const t = makeTree();
    try {
      // CNCOP_HOME empty: the root comes from -c (a file in a folder called Config).
      const r2 = await t.run("w", ["-c", nodePath.join(t.root, "Config", "missing.ini")], { env: { CNCOP_HOME: "" } });
      expect(r2.exitCode).toBe(0);
      expect(r2.stderr).toBe("");
      expect(r2.stdout).toBe(`no logs yet in ${nodePath.join(t.root, "Logs")} or ${nodePath.join(t.root, "Spool", "Logs")}\n`);
      expect(existsSync(nodePath.join(t.root, "Logs"))).toBe(false);
    } finally {
      t.cleanup();
    }
  });

  test("a root that does not exist is a clear error", async () => {
    const r = await tree.run("w", [], { env: { CNCOP_HOME: nodePath.join(tree.root, "nowhere") } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`The cncop application directory ${nodePath.join(tree.root, "nowhere")} does not exist`);
  });

  test.each([
    [["-x"], "unknown option -x"],
    [["--daysago"], "option --daysago needs a value"],
    [["--daysago", "-1", "CA"], "--daysago needs a whole number of days (0 or more), not \"-1\""],
    [["--daysago", "two", "CA"], "--daysago needs a whole number of days"],
    [["CA", "CIFS"], "one PREFIX at most"],
    [["-f", "-p"], "-f and -p cannot be combined"],
    [["-f", "--daysago", "1", "CA"], "-f follows the newest log"],
    [["../etc"], "is not a log prefix"],
  ])("usage error: w %p", async (args, message) => {
    const r = await tree.run("w", args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("Try 'w --help' for more information.");
  });

  test("-? prints the help", async () => {
    const r = await tree.run("w", ["-?"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toStartWith("usage: w [-?] [-c CONFIG] [--daysago N] [-f] [-p] [PREFIX]\n");
  });
});

describe("big logs", () => {
  test("a 100 MB CA log is summarised with bounded memory", async () => {
    const t = makeTree();
    try {
      mkdirSync(nodePath.join(t.root, "Logs"));
      const p = nodePath.join(t.root, "Logs", "CA-20-02-02_0200.log");
      const noise = Array.from({ length: 2000 }, (_, k) => `2020-02-02 02:00:01 [backupagentcifs#1 stdout] copied /data/some/long/path/${k}/file-${k}.dat\n`).join("");
      const { openSync, writeSync, closeSync } = await import("node:fs");
      const fd = openSync(p, "w");
      writeSync(fd, "2020-02-02 02:00:00 cncopagent 0.1.0 started: pid 1, host h, root /r, config /r/c, arguments: -a\n");
      let size = 0;
      for (let j = 1; size < 100 * 1024 * 1024; j++) {
        const run =
          `2020-02-02 02:00:00 job ${j} 'Job ${j}' (CIFS): session S${j}\n` +
          `2020-02-02 02:00:00 job ${j} 'Job ${j}': attempt 1: run: /r/Bin/backupagentcifs -c /r/c ${j}\n` +
          noise +
          `2020-02-02 02:00:02 job ${j} 'Job ${j}': attempt 1: backupagentcifs exited with status 0 after 2.0 s: OK\n` +
          `2020-02-02 02:00:02 job ${j} 'Job ${j}' final state: OK (completed) after 2.0 s, 1 attempt(s)\n`;
        size += writeSync(fd, run);
      }
      // One huge line without a newline for a while, then the end.
      size += writeSync(fd, `2020-02-02 02:00:03 [backupagentcifs#1 stderr] ${"z".repeat(8 * 1024 * 1024)}\n`);
      writeSync(fd, "2020-02-02 02:00:03 cncopagent finished: exit status 0 (0 OK, 0 failed, 0 skipped)\n");
      closeSync(fd);
      const proc = Bun.spawn(t.argv("w", ["CA", "--wide"]), { cwd: t.root, env: { ...process.env, CNCOP_HOME: t.root, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
      const peak = pollPeakRss(proc.pid);
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      const runs = Number(/(\d+) runs: \1 OK/.exec(out)?.[1]);
      expect(runs).toBeGreaterThan(400);
      expect(out).toContain(`job ${runs} 'Job ${runs}' (CIFS), session S${runs}, 1 attempt, 2.0 s: completed`);
      // Loading the log whole would take its size on top of the runtime's own ~60 MB;
      // streaming stays below the size itself.
      expect(peak.stop()).toBeLessThan(size);
    } finally {
      t.cleanup();
    }
  }, 60_000);
});
