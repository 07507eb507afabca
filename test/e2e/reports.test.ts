/**
 * Reports cncopagent writes (SPEC §5 "Reports", §8; issue 3): the prerun JE with the exact
 * 2,048-byte stderr excerpt, JF for every run the agent's own exit does not settle, the
 * shared session, an unwritable spool, and a writer killed mid-write.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { BUN, REPO, type Tree, waitFor } from "../helpers/tree.ts";
import { fakeTree, FAST_GRACE, ISO_UTC, mark, marker, sessionsInLog } from "../helpers/fake.ts";
import { makeScratch } from "../helpers/scratch.ts";

// Real processes on a shared 2-core machine: give each test room (waits poll with deadlines).
setDefaultTimeout(60_000);

const scratch = makeScratch();
function tree(defaults = ""): Tree {
  return scratch.track(fakeTree(defaults));
}

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));
const a = (n: number) => "a".repeat(n);

describe("a failing prerun: JE with the first 2,048 bytes of its stderr, then JF", () => {
  const cases: [string, Buffer, string][] = [
    ["less than 2,048 bytes", bytes("cannot dump the database\nsecond line\n"), "cannot dump the database\nsecond line\n"],
    ["empty stderr", bytes(""), ""],
    ["exactly 2,048 bytes", bytes(a(2047), "\n"), `${a(2047)}\n`],
    ["more than 2,048 bytes", bytes(a(10_000)), a(2048)],
    ["a 2-byte character straddling the cut", bytes(a(2047), "é", a(10)), a(2047)],
    ["a 4-byte character straddling the cut", bytes(a(2046), "😀", a(10)), a(2046)],
    ["a 3-byte character ending at the cut", bytes(a(2045), "€", a(10)), `${a(2045)}€`],
    ["binary stderr", bytes(Array.from({ length: 3000 }, (_, i) => (i % 2 ? 0x41 : 0xff))), "\ufffdA".repeat(1024)],
  ];
  test.each(cases)("%s", async (_name, stderr, message) => {
    const t = tree();
    writeFileSync(nodePath.join(t.root, "stderr.bin"), stderr);
    t.script("pre.sh", `echo "to stdout"; cat "$CNCOP_HOME/stderr.bin" >&2; exit 3`);
    t.script("fakeagent", `touch "$CNCOP_HOME/agent-ran"`);
    t.addJob({ jobid: 12, jobtitle: "Payroll", jobtype: "FAKE", prerun: "pre.sh" });
    const r = await t.run("cncopagent", ["12"]);
    expect(r.exitCode).toBe(1);
    expect(readdirSync(t.root)).not.toContain("agent-ran");
    const je = t.reports("JE-");
    const jf = t.reports("JF-");
    expect(je.length).toBe(1);
    expect(jf.length).toBe(1);
    const [session] = sessionsInLog(t, 12);
    expect(je[0]!.body).toEqual({
      type: "jobexception",
      jobid: 12,
      jobtitle: "Payroll",
      jobtype: "FAKE",
      session: session!,
      hostname: os.hostname(),
      time: expect.stringMatching(ISO_UTC),
      source: "prerun",
      exitcode: 3,
      message,
    });
    expect(Buffer.byteLength(message, "utf8")).toBeLessThanOrEqual(stderr.includes(0xff) ? 3 * 2048 : 2048);
    expect(jf[0]!.body).toEqual({
      type: "jobfinished",
      jobid: 12,
      jobtitle: "Payroll",
      jobtype: "FAKE",
      session: session!,
      hostname: os.hostname(),
      time: expect.stringMatching(ISO_UTC),
      status: "ERROR",
      reason: "prerun failed: exited with status 3",
      attempts: [],
      started: expect.stringMatching(ISO_UTC),
      finished: expect.stringMatching(ISO_UTC),
    });
    expect(Date.parse(jf[0]!.body.started as string)).toBeLessThanOrEqual(Date.parse(jf[0]!.body.finished as string));
    // The whole stderr (not just the excerpt) is in the CA log.
    if (stderr.length > 0 && !stderr.includes(0xff)) expect(t.caLogText()).toContain(`[prerun stderr] ${stderr.toString("utf8").split("\n")[0]}`);
    expect(t.caLogText()).toContain("[prerun stdout] to stdout");
  });

  test("a prerun that cannot be started at all (not executable) gives a JE too", async () => {
    const t = tree();
    writeFileSync(nodePath.join(t.bin, "noexec.sh"), "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "noexec.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(t.reports("JE-").map((x) => x.body)).toMatchObject([{ source: "prerun", exitcode: null }]);
    expect(t.reports("JF-")[0]?.body.reason).toMatch(/^prerun failed: could not be started/);
  });
});

describe("JF from cncopagent exactly when the agent's own exit does not give the final state", () => {
  type Case = { name: string; agent?: string; job?: Record<string, number>; je: string[]; jf: RegExp | undefined; status?: string; attempts: { exitcode: number | null; signal: string | null }[] };
  const ownJf = (status: string, exit: number) =>
    `printf '{"type":"jobfinished","jobid":3,"session":"%s","status":"${status}","reason":"own words"}' "$CNCOP_SESSION" > "$CNCOP_HOME/Spool/Messages/JF-own.json"; exit ${exit}`;
  const cases: Case[] = [
    { name: "OK, the agent wrote its JF-", agent: ownJf("OK", 0), je: [], jf: undefined, attempts: [] },
    { name: "agent ERROR, the agent wrote its JF-", agent: ownJf("ERROR", 2), je: [], jf: undefined, attempts: [] },
    // An agent that exits without its JF- (a crash, a bad command line): cncopagent writes it.
    { name: "OK without the agent's JF-", agent: "exit 0", je: [], jf: /^completed$/, status: "OK", attempts: [{ exitcode: 0, signal: null }] },
    { name: "agent ERROR without its JF-", agent: "echo 'ERROR no space left' >&2; exit 2", je: [], jf: /^no space left$/, attempts: [{ exitcode: 2, signal: null }] },
    { name: "agent never started", je: ["agent"], jf: /^agent fakeagent not found in /, attempts: [] },
    { name: "agent killed", agent: "kill -KILL $$", je: ["agent"], jf: /^killed by SIGKILL$/, attempts: [{ exitcode: null, signal: "SIGKILL" }] },
    { name: "agent timed out", agent: "exec sleep 60", job: { maxruntime: 1 }, je: ["agent"], jf: /^timed out after 1 s$/, attempts: [{ exitcode: null, signal: "SIGTERM" }] },
    {
      name: "re-runs ran out",
      agent: "exit 75",
      job: { maxretries: 1, retrydelay: 0 },
      je: [],
      jf: /^re-runs exhausted/,
      attempts: [
        { exitcode: 75, signal: null },
        { exitcode: 75, signal: null },
      ],
    },
  ];
  test.each(cases)("$name", async (c) => {
    const t = tree();
    if (c.agent) t.script("fakeagent", c.agent);
    t.addJob({ jobid: 3, jobtitle: "Files", jobtype: "FAKE", ...c.job });
    await t.run("cncopagent", ["3"], { env: FAST_GRACE });
    const [session] = sessionsInLog(t, 3);
    const je = t.reports("JE-").map((x) => x.body);
    const jf = t.reports("JF-").filter((x) => x.name !== "JF-own.json").map((x) => x.body);
    expect(je.map((b) => b.source)).toEqual(c.je);
    for (const b of je) expect(b).toMatchObject({ type: "jobexception", jobid: 3, session: session!, message: expect.any(String) });
    if (!c.jf) {
      expect(jf).toEqual([]);
      return;
    }
    expect(jf.length).toBe(1);
    expect(jf[0]).toMatchObject({ type: "jobfinished", jobid: 3, jobtitle: "Files", jobtype: "FAKE", session: session!, status: c.status ?? "ERROR" });
    expect(String(jf[0]!.reason)).toMatch(c.jf);
    const attempts = jf[0]!.attempts as Record<string, unknown>[];
    expect(attempts.map((x) => ({ exitcode: x.exitcode, signal: x.signal }))).toEqual(c.attempts);
    for (const x of attempts) {
      expect(Object.keys(x).sort()).toEqual(["exitcode", "finished", "signal", "started"]);
      expect(x.started).toMatch(ISO_UTC);
      expect(x.finished).toMatch(ISO_UTC);
    }
  });

  test("every run gets its own session; JE and JF of one run share it", async () => {
    const t = tree();
    t.script("fail.sh", "exit 1");
    t.script("fakeagent", "exit 0");
    t.addJob({ jobid: 5, jobtitle: "A", jobtype: "FAKE", prerun: "fail.sh" });
    await t.run("cncopagent", ["5"]);
    await t.run("cncopagent", ["5"]);
    const sessions = sessionsInLog(t, 5);
    expect(sessions.length).toBe(2);
    expect(new Set(sessions).size).toBe(2);
    for (const s of sessions) {
      const mine = t.reports().filter((x) => x.body.session === s);
      expect(mine.map((x) => x.name.slice(0, 3)).sort()).toEqual(["JE-", "JF-"]);
    }
  });

  test("report files are named <PREFIX>...json and no temporary file is left behind", async () => {
    const t = tree();
    t.script("fakeagent", "exit 1");
    t.script("fail.sh", "exit 1");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "fail.sh", postfailure: "fail.sh" });
    await t.run("cncopagent", ["1"]);
    const names = readdirSync(nodePath.join(t.root, "Spool", "Messages"));
    expect(names.length).toBe(3);
    for (const n of names) expect(n).toMatch(/^(JE|JF)-[0-9TZ]+-[0-9a-f-]{36}\.json$/);
  });
});

describe("a job row the dispatcher cannot run", () => {
  test.each([
    ["settings that are not JSON", { jobtype: "FAKE", settings: "{not json" }, "invalid job definition: settings is not valid JSON"],
    ["a number out of range", { jobtype: "FAKE", maxretries: -1 }, "invalid job definition: maxretries = -1 is not a whole number from 0 to 100"],
    ["an unknown job type", { jobtype: "NOSUCH" }, "unknown job type NOSUCH"],
  ] as const)("%s: ERROR with a JE and a JF, postfailure runs, the other jobs still run", async (_name, row, reason) => {
    const t = tree();
    t.script("fakeagent", `${mark("agent")}; exit 0`);
    t.script("post.sh", `${mark("post", "$CNCOP_STATUS $CNCOP_JOBID")}`);
    t.addJob({ jobid: 7, jobtitle: "Broken", postfailure: "post.sh", ...row });
    t.addJob({ jobid: 8, jobtitle: "Fine", jobtype: "FAKE" });
    const r = await t.run("cncopagent", ["7", "8"]);
    expect(r.exitCode).toBe(1);
    expect(readFileSync(marker(t, "post"), "utf8")).toBe("ERROR 7\n");
    expect(readFileSync(marker(t, "agent"), "utf8").trim().split("\n").length).toBe(1);
    const je = t.reports("JE-").filter((x) => x.body.jobid === 7);
    const jf = t.reports("JF-").filter((x) => x.body.jobid === 7);
    expect(je.map((x) => x.body.source)).toEqual(["dispatcher"]);
    expect(String(je[0]!.body.message)).toContain(reason);
    expect(jf.map((x) => [x.body.status, x.body.attempts])).toEqual([["ERROR", []]]);
    expect(String(jf[0]!.body.reason)).toContain(reason);
    expect(jf[0]!.body.session).toBe(je[0]!.body.session);
    expect(t.caLogText()).toContain("job 8 'Fine' final state: OK");
  });
});

describe("an unwritable spool never turns a job into a crash", () => {
  // The command itself breaks the spool just before cncopagent writes the report.
  const breakSpool = `rm -rf "$CNCOP_HOME/Spool/Messages"; echo x > "$CNCOP_HOME/Spool/Messages"`;

  test("a failing prerun: the job ends ERROR (exit 1), the failure is logged and shown", async () => {
    const t = tree();
    t.script("pre.sh", `${breakSpool}; exit 1`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "pre.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("cannot write JE- report for job 1");
    expect(r.stderr).toContain("cannot write JF- report for job 1");
    expect(r.stderr).not.toContain("internal error");
    expect(t.caLogText()).toMatch(/cannot write JE- report for job 1 into .*Messages: .*; its content: \{"type":"jobexception"/);
    expect(t.caLogText()).toContain("job 1 'A' final state: ERROR");
  });

  test("an OK job whose postsuccess fails stays OK (exit 0)", async () => {
    const t = tree();
    t.script("post.sh", `${breakSpool}; exit 1`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", postsuccess: "post.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("cannot write JE- report for job 1");
    expect(t.caLogText()).toContain("job 1 'A' final state: OK");
  });
});

describe("a report writer killed mid-write leaves no partial report", () => {
  test("SIGKILL at random moments: every visible report parses and is whole", async () => {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-spool-kill-"));
    try {
      const messages = nodePath.join(dir, "Messages");
      mkdirSync(messages);
      const script = nodePath.join(dir, "writer.ts");
      // Large reports make the write window wide; the last field tells a whole report.
      writeFileSync(
        script,
        `import { writeReport } from ${JSON.stringify(nodePath.join(REPO, "src", "reports", "report-files.ts"))};
const pad = "x".repeat(256 * 1024);
for (let i = 0; ; i++) writeReport(process.argv[2]!, "JE-", { type: "jobexception", i, pad, whole: true });
`,
      );
      let kills = 0;
      for (let round = 0; round < 12; round++) {
        const before = readdirSync(messages).filter((n) => !n.startsWith(".")).length;
        const proc = Bun.spawn([BUN, script, messages], { stdout: "ignore", stderr: "pipe" });
        // Let it write a varying number of reports, then kill it wherever it is.
        const target = before + 1 + (round % 4);
        await waitFor(() => readdirSync(messages).filter((n) => !n.startsWith(".")).length >= target, 30_000, "reports to appear");
        proc.kill("SIGKILL");
        await proc.exited;
        kills++;
      }
      expect(kills).toBe(12);
      const names = readdirSync(messages);
      const visible = names.filter((n) => !n.startsWith("."));
      expect(visible.length).toBeGreaterThanOrEqual(12);
      for (const n of visible) {
        expect(n).toMatch(/^JE-.*\.json$/);
        const body = JSON.parse(readFileSync(nodePath.join(messages, n), "utf8")) as { whole?: boolean; pad?: string };
        expect(body.whole).toBe(true);
        expect(body.pad?.length).toBe(256 * 1024);
      }
      // Anything cut short is under a name the reporter ignores (a leading dot, not .json).
      for (const n of names.filter((x) => x.startsWith("."))) expect(n).toMatch(/^\.JE-.*\.json\.tmp$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
