/**
 * cncopagent's log and output end to end (SPEC §5 "Its log", "On a terminal"): the CA log
 * name without races, every line timestamped, what it records, agent output byte for byte
 * with bounded memory, -d diagnostics, and the terminal and plain views.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { CA_LOG_RE, caLogName, diagnosticLogPath } from "../../src/install/paths.ts";
import { type Tree } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { recorded, recordingAgent, TIMESTAMP_RE } from "./cncopagent-fakes.ts";

// Processes on a busy 2-core machine: room beyond bun's 5 s default, never a sleep. The
// tests run concurrently and each starts cncopagent (from source: a transpiling start-up)
// once or more: under npm test's load one took 29 s, so they get npm test's 60 s.
setDefaultTimeout(60_000);

// The tests run concurrently: their trees are removed after the file.
const scratch = makeScratch("file");
function tree(config?: string): Tree {
  return scratch.tree(config === undefined ? {} : { config });
}
const logPath = (t: Tree, name: string) => nodePath.join(t.root, "Logs", name);

describe("the CA log file", () => {
  test.concurrent("Logs/CA-YY-MM-DD_HHMM.log, created with Logs/ when missing", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "CIFS" });
    t.script("backupagentcifs", "exit 0");
    // The child's zone is pinned: this process's TZ may have been changed by another test file.
    const before = new Date();
    const r = await t.run("cncopagent", ["1"], { env: { TZ: "UTC" } });
    const after = new Date();
    expect(r.exitCode).toBe(0);
    const logs = t.caLogs();
    expect(logs.length).toBe(1);
    const utc = (d: Date) => caLogName(new Date(d.getTime() + d.getTimezoneOffset() * 60_000));
    expect([utc(before), utc(after)]).toContain(logs[0]!);
  });

  test.concurrent("local time: the name and the timestamps follow TZ, not UTC", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "CIFS" });
    t.script("backupagentcifs", "exit 0");
    // UTC+14 (POSIX sign is inverted): the local date differs from UTC for 14 hours of the day.
    const shifted = (d: Date) => new Date(d.getTime() + 14 * 3600_000);
    const utcName = (d: Date) => {
      const p = (n: number) => String(n).padStart(2, "0");
      const s = shifted(d);
      return `CA-${p(s.getUTCFullYear() % 100)}-${p(s.getUTCMonth() + 1)}-${p(s.getUTCDate())}_${p(s.getUTCHours())}${p(s.getUTCMinutes())}.log`;
    };
    const before = new Date();
    const r = await t.run("cncopagent", ["1"], { env: { TZ: "Etc/GMT-14" } });
    const after = new Date();
    expect(r.exitCode).toBe(0);
    expect([utcName(before), utcName(after)]).toContain(t.caLogs()[0]!);
    const stamp = t.caLogText().slice(0, 19);
    const iso = (d: Date) => shifted(d).toISOString().slice(0, 19).replace("T", " ");
    expect(stamp >= iso(new Date(before.getTime() - 1000)) && stamp <= iso(after)).toBe(true);
  });

  test.concurrent("concurrent invocations never share a log: -001, -002, ... in order, no gaps", async () => {
    const t = tree();
    const N = 6;
    for (let i = 0; i <= N; i++) t.addJob({ jobid: i, jobtitle: `job ${i}`, jobtype: "CIFS" });
    t.script("backupagentcifs", "exit 0");
    // Logs/ exists and already holds this minute's plain name (an earlier run).
    await t.run("cncopagent", ["0"]);
    // Each invocation runs a job of its own (the same job would be skipped as already running).
    const runs = await Promise.all(Array.from({ length: N }, (_, i) => t.run("cncopagent", [String(i + 1)])));
    for (const r of runs) expect(r.exitCode).toBe(0);
    const logs = t.caLogs();
    expect(logs.length).toBe(N + 1);
    for (const name of logs) {
      expect(name).toMatch(CA_LOG_RE);
      const text = readFileSync(logPath(t, name), "utf8");
      expect(text.match(/cncopagent \S+ started/g)?.length).toBe(1);
      expect(text.match(/cncopagent finished/g)?.length).toBe(1);
    }
    // Within each minute: the plain name, then -001, -002, ... without gaps.
    const byMinute = new Map<string, number[]>();
    for (const name of logs) {
      const m = /^(CA-\d{2}-\d{2}-\d{2}_\d{4})(?:-(\d{3}))?\.log$/.exec(name)!;
      byMinute.set(m[1]!, [...(byMinute.get(m[1]!) ?? []), m[2] ? Number(m[2]) : 0]);
    }
    for (const suffixes of byMinute.values()) {
      expect(suffixes.sort((a, b) => a - b)).toEqual(suffixes.map((_, i) => i));
    }
  }, 60_000);

  test.concurrent("an existing log of the same name is left alone", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "CIFS" });
    t.script("backupagentcifs", "exit 0");
    await t.run("cncopagent", ["1"]);
    const first = t.caLogs()[0]!;
    const content = readFileSync(logPath(t, first));
    await t.run("cncopagent", ["1"]);
    expect(readFileSync(logPath(t, first)).equals(content)).toBe(true);
    expect(t.caLogs().length).toBe(2);
  });
});

describe("what the log records", () => {
  test.concurrent("every line timestamped: the selection, sessions, command lines, output, each attempt, final states", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "Files", jobtype: "CIFS", maxretries: 1, retrydelay: 0 });
    t.addJob({ jobid: 2, jobtitle: "Mirror", jobtype: "RSYNC", maxretries: 0 });
    t.script(
      "backupagentcifs",
      `d="$CNCOP_HOME/rec/backupagentcifs-$CNCOP_JOBID-$CNCOP_ATTEMPT"; mkdir -p "$d"; env > "$d/env"; printf '%s\\n' "$0" "$@" > "$d/argv"; pwd > "$d/cwd"; : > "$d/stdin"
echo "cifs says hello on attempt $CNCOP_ATTEMPT"
echo "cifs complains" >&2
[ "$CNCOP_ATTEMPT" = 1 ] && exit 75
exit 0`,
    );
    recordingAgent(t, "backupagentrsync", 7);
    const r = await t.run("cncopagent", ["Files", "Mirror"]);
    expect(r.exitCode).toBe(1);
    const text = t.caLogText();
    const lines = text.split("\n");
    expect(lines.pop()).toBe("");
    for (const l of lines) expect(l).toMatch(TIMESTAMP_RE);

    const s1 = recorded(t, "backupagentcifs", 1, 1)!.env.CNCOP_SESSION!;
    const s2 = recorded(t, "backupagentrsync", 2)!.env.CNCOP_SESSION!;
    expect(text).toMatch(/selected 2 job\(s\).*Files.*Mirror/);
    expect(text).toContain(s1);
    expect(text).toContain(s2);
    expect(text).toContain(`${nodePath.join(t.bin, "backupagentcifs")} -c ${t.configFile} 1`);
    expect(text).toContain(`${nodePath.join(t.bin, "backupagentrsync")} -c ${t.configFile} 2`);
    expect(text).toContain("cifs says hello on attempt 1");
    expect(text).toContain("cifs says hello on attempt 2");
    expect(text).toContain("cifs complains");
    expect(text).toMatch(/attempt 1: backupagentcifs exited with status 75/);
    expect(text).toMatch(/attempt 2: backupagentcifs exited with status 0/);
    expect(text).toMatch(/attempt 1: backupagentrsync exited with status 7/);
    expect(text).toMatch(/job 1 'Files' final state: OK/);
    expect(text).toMatch(/job 2 'Mirror' final state: ERROR \(.*status 7.*\)/);
  });

  test.concurrent("agent output, stdout and stderr, every byte (binary-safe)", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "bin", jobtype: "CIFS" });
    // 64 lines holding every byte value but \n, and invalid UTF-8 among them.
    const row = Buffer.from([...Array(256).keys()].filter((b) => b !== 0x0a));
    const lines = Array.from({ length: 64 }, (_, k) => Buffer.concat([row.subarray(k), row.subarray(0, k)]));
    const blob = Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]));
    writeFileSync(nodePath.join(t.root, "blob"), blob);
    t.script("backupagentcifs", `cat "$CNCOP_HOME/blob"\ncat "$CNCOP_HOME/blob" >&2`);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    const log = readFileSync(logPath(t, t.caLogs()[0]!));
    for (const stream of ["stdout", "stderr"]) {
      const tag = Buffer.from(`[backupagentcifs#1 ${stream}] `);
      const got: Buffer[] = [];
      let start = 0;
      for (let nl = log.indexOf(0x0a); nl !== -1; nl = log.indexOf(0x0a, start)) {
        const line = log.subarray(start, nl + 1);
        const at = line.indexOf(tag);
        if (at !== -1) {
          expect(line.subarray(0, 20).toString("latin1")).toMatch(TIMESTAMP_RE);
          got.push(line.subarray(at + tag.length));
        }
        start = nl + 1;
      }
      expect(Buffer.concat(got).equals(blob)).toBe(true);
    }
  });

  test.concurrent("an agent printing 60 MB: every line reaches the log, memory stays bounded", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "chatty", jobtype: "CIFS" });
    const LINES = 600_000;
    t.script("backupagentcifs", `yes "${"x".repeat(99)}" | head -n ${LINES}`);
    const proc = t.spawn("cncopagent", ["1"]);
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {}
    }, 20);
    const [code] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    clearInterval(poll);
    expect(code).toBe(0);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(150 * 1024);
    // Count the tagged lines without holding the log in memory at once.
    const tag = Buffer.from("[backupagentcifs#1 stdout] ");
    let count = 0;
    let carry = Buffer.alloc(0);
    for await (const chunk of Bun.file(logPath(t, t.caLogs()[0]!)).stream()) {
      const buf = Buffer.concat([carry, chunk]);
      let start = 0;
      for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
        const line = buf.subarray(start, nl);
        if (line.indexOf(tag) !== -1 && line.length === 20 + tag.length + 99) count++;
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
    }
    expect(count).toBe(LINES);
  }, 60_000);
});

describe("-d: diagnostics in Spool/Logs/", () => {
  test.concurrent("a diagnostic log with the run's lines and the agent's output", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "dbg", jobtype: "CIFS" });
    t.script("backupagentcifs", `echo "diagnose me $CNCOP_SESSION"`);
    const r = await t.run("cncopagent", ["-d", "1"]);
    expect(r.exitCode).toBe(0);
    const dir = nodePath.join(t.root, "Spool", "Logs");
    const files = readdirSync(dir).filter((n) => statSync(nodePath.join(dir, n)).isFile());
    expect(files.length).toBe(1);
    const diag = readFileSync(nodePath.join(dir, files[0]!), "utf8");
    const session = /diagnose me (\S+)/.exec(t.caLogText())![1]!;
    expect(diag).toContain(`diagnose me ${session}`);
    expect(diag).toMatch(/final state: OK/);
    for (const l of diag.trimEnd().split("\n")) expect(l).toMatch(TIMESTAMP_RE);
  });

  test.concurrent("a diagnostic log that cannot be written is said once on stderr, like the CA log; the job runs on", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "full disk", jobtype: "CIFS" });
    t.script("backupagentcifs", "echo still logged");
    const dir = nodePath.join(t.root, "Spool", "Logs");
    mkdirSync(dir, { recursive: true });
    // Today's name and tomorrow's: the run may cross midnight.
    for (const days of [0, 1]) symlinkSync("/dev/full", diagnosticLogPath({ spoolLogs: dir }, new Date(Date.now() + days * 86_400_000)));
    const r = await t.run("cncopagent", ["-d", "1"]);
    expect(r.exitCode).toBe(0);
    const said = r.stderr.split("\n").filter((l) => l.includes("cannot write the log"));
    expect(said).toEqual([expect.stringMatching(/^cncopagent: error: cannot write the log \S+\/CAD-\d{8}\.log \(write\): .*(ENOSPC|space)/i)]);
    expect(t.caLogText()).toContain("still logged");
    expect(t.caLogText()).toMatch(/final state: OK/);
  });

  test.concurrent("without -d nothing is written to Spool/Logs/", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "quiet", jobtype: "CIFS" });
    t.script("backupagentcifs", "echo hi");
    expect((await t.run("cncopagent", ["1"])).exitCode).toBe(0);
    expect(readdirSync(nodePath.join(t.root, "Spool", "Logs"))).toEqual([]);
  });
});

describe("what a person sees", () => {
  test.concurrent("without a terminal: plain lines on stderr, no colour, no animation; stdout stays empty", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "Plain job", jobtype: "CIFS", maxretries: 1, retrydelay: 0 });
    t.addJob({ jobid: 2, jobtitle: "Broken job", jobtype: "RSYNC" });
    t.script("backupagentcifs", `[ "$CNCOP_ATTEMPT" = 1 ] && exit 75\nexit 0`);
    t.script("backupagentrsync", "exit 1");
    const r = await t.run("cncopagent", ["1", "2"], { env: { TERM: "xterm-256color" } });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toContain("\x1b");
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr).toMatch(/Plain job.*attempt 2/);
    expect(r.stderr).toMatch(/Plain job.*OK/);
    expect(r.stderr).toMatch(/Broken job.*ERROR.*status 1/);
  });

  test.concurrent("on a terminal: title, attempt, elapsed time and the final state", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "Terminal job", jobtype: "CIFS" });
    t.script("backupagentcifs", "sleep 0.3; exit 0");
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = t.argv("cncopagent", ["1"]).map(quote).join(" ");
    const proc = Bun.spawn(["script", "-qefc", cmd, "/dev/null"], {
      cwd: t.root,
      // NO_COLOR removed: the final state in consola's colours.
      env: { ...process.env, CNCOP_HOME: t.root, TERM: "xterm-256color", NO_COLOR: undefined },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, , code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(0);
    expect(out).toContain("\r\x1b[2K");
    expect(out).toContain("\x1b[32m✔ job 1 'Terminal job': OK\x1b[39m (completed) after ");
    expect(out).toMatch(/Terminal job.*attempt 1 of 4/);
    expect(out).toMatch(/attempt 1 of 4 · \d+ ms/);
    expect(out).not.toMatch(/attempt 1 of 1\b/);
  });
});
