/** The `--email` message builder: subject and phone-readable body, table-driven. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentExit, AttemptDetail, JobOutcome } from "../../src/dispatcher/run-job.ts";
import type { Job } from "../../src/install/jobs-db.ts";
import { buildJobMessage, describeAgentExit, localTimeWithOffset, printable, subjectOf } from "../../src/mail/message.ts";

const savedTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = "Europe/Berlin";
});
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

const JOB: Job = {
  jobid: 12n,
  jobtitle: "Nightly files",
  jobtype: "CIFS",
  enabled: true,
  maxretries: 3,
  retrydelay: 60,
  maxruntime: 0,
  prerun: undefined,
  postsuccess: undefined,
  postfailure: undefined,
  source: undefined,
  destination: undefined,
  settings: {},
  problems: [],
};

const exit = (agent: string, exitcode: number | null, state: AgentExit["state"], signal: string | null = null, reason = ""): AgentExit => ({ agent, exitcode, signal, state, reason });
const attempt = (number: number, started: string, finished: string, agents: AgentExit[]): AttemptDetail => ({
  number,
  started,
  finished,
  exitcode: agents[0]?.exitcode ?? null,
  signal: agents[0]?.signal ?? null,
  agents,
});

function outcome(o: Partial<JobOutcome>): JobOutcome {
  return {
    job: JOB,
    session: "01a2-session",
    status: "OK",
    reason: "completed",
    attempts: [],
    started: new Date("2025-06-01T00:00:00.000Z"),
    finished: new Date("2025-06-01T00:05:12.000Z"),
    interrupted: false,
    outputTail: [],
    reports: [],
    ...o,
    durationMs: o.durationMs ?? (o.finished ?? new Date("2025-06-01T00:05:12.000Z")).getTime() - (o.started ?? new Date("2025-06-01T00:00:00.000Z")).getTime(),
  };
}

const CTX = { from: "backup@example.com", to: ["a@example.com", "b@example.com"], hostname: "backup01", caLogPath: "/srv/cncop/Logs/CA-25-06-01_0200.log" };

describe("body", () => {
  const cases: { name: string; outcome: JobOutcome; has: string[]; hasNot?: string[] }[] = [
    {
      name: "OK on the first attempt",
      outcome: outcome({
        attempts: [attempt(1, "2025-06-01T00:00:01.000Z", "2025-06-01T00:05:11.000Z", [exit("backupagentcifs", 0, "OK")])],
        outputTail: ["copied 3 files"],
      }),
      has: [
        "OK: job 12 'Nightly files'\nResult: completed\n",
        "Host: backup01\nJob type: CIFS\nSession: 01a2-session\n",
        "Started: 2025-06-01 02:00:00 +02:00\nFinished: 2025-06-01 02:05:12 +02:00\nDuration: 5 min 12 s\n",
        "Attempts: 1\nAttempt 1: 02:00:01, 5 min 10 s\n  backupagentcifs: exit status 0 (OK)\n",
        "CA log: /srv/cncop/Logs/CA-25-06-01_0200.log\n",
        "Last 1 line(s) of the agent output (attempt 1):\ncopied 3 files\n",
      ],
      hasNot: ["Reason:"],
    },
    {
      name: "ERROR after re-runs, the reason first",
      outcome: outcome({
        status: "ERROR",
        reason: "re-runs exhausted: the agent asked for a re-run after 2 attempts (maxretries 1)",
        attempts: [
          attempt(1, "2025-06-01T00:00:01.000Z", "2025-06-01T00:00:02.500Z", [exit("backupagentcifs", 75, "RE-RUN")]),
          attempt(2, "2025-06-01T00:01:02.000Z", "2025-06-01T00:01:03.000Z", [exit("backupagentcifs", 75, "RE-RUN")]),
        ],
        outputTail: ["share busy", "try later"],
      }),
      has: [
        "ERROR: job 12 'Nightly files'\nReason: re-runs exhausted: the agent asked for a re-run after 2 attempts (maxretries 1)\n",
        "Attempts: 2\nAttempt 1: 02:00:01, 1.5 s\n  backupagentcifs: exit status 75 (RE-RUN)\nAttempt 2: 02:01:02, 1.0 s\n  backupagentcifs: exit status 75 (RE-RUN)\n",
        "(attempt 2):\nshare busy\ntry later\n",
      ],
    },
    {
      name: "CCS: both agents of an attempt, one killed",
      outcome: outcome({
        job: { ...JOB, jobtype: "CCS" },
        status: "ERROR",
        reason: "killed by SIGKILL",
        attempts: [attempt(1, "2025-06-01T00:00:01.000Z", "2025-06-01T00:00:02.000Z", [exit("backupagentnq", 0, "OK"), exit("backupagentdq", null, "ERROR", "SIGKILL", "killed by SIGKILL")])],
      }),
      has: ["  backupagentnq: exit status 0 (OK)\n  backupagentdq: killed by SIGKILL (ERROR)\n", "The agent wrote no output in attempt 1.\n"],
    },
    {
      name: "an agent that could not start",
      outcome: outcome({
        status: "ERROR",
        reason: "could not be started: EACCES",
        attempts: [attempt(1, "2025-06-01T00:00:01.000Z", "2025-06-01T00:00:01.000Z", [exit("backupagentcifs", null, "ERROR", null, "could not be started: EACCES")])],
      }),
      has: ["  backupagentcifs: could not be started: EACCES (ERROR)\n"],
    },
    {
      name: "prerun failed: no attempt",
      outcome: outcome({ status: "ERROR", reason: "prerun failed: exited with status 3" }),
      has: ["Reason: prerun failed: exited with status 3\n", "Attempts: none (the agent did not run)\n", "No agent output: the agent did not run.\n"],
    },
    {
      name: "skipped",
      outcome: outcome({ status: "SKIPPED", reason: "already running since 2025-06-01 01:00:00 as session s1 (pid 42)" }),
      has: ["SKIPPED: job 12 'Nightly files'\nReason: already running since", "Attempts: none (the job did not run)\n"],
    },
    {
      name: "interrupted without saying so in the reason",
      outcome: outcome({ status: "ERROR", reason: "timed out after 600 s", interrupted: true }),
      has: ["cncopagent was interrupted during this job.\n"],
    },
    {
      name: "terminal colours and carriage returns stripped from output and title",
      outcome: outcome({ job: { ...JOB, jobtitle: "Files\r\nBcc: x@evil" }, outputTail: ["\x1b[31mred\x1b[0m\r", "a\tb\x07"] }),
      has: ["OK: job 12 'Files  Bcc: x@evil'\n", "\nred\na\tb\n"],
      hasNot: ["\x1b", "\r", "\x07"],
    },
  ];
  test.each(cases)("$name", ({ outcome: o, has, hasNot }) => {
    const text = buildJobMessage(o, CTX).text;
    for (const h of has) expect(text).toContain(h);
    for (const h of hasNot ?? []) expect(text).not.toContain(h);
    expect(text.endsWith("sent because it was started with --email\n")).toBe(true);
  });
});

describe("subject and headers", () => {
  test.each([
    [outcome({}), "OK: Nightly files (job 12) on backup01"],
    [outcome({ status: "ERROR" }), "ERROR: Nightly files (job 12) on backup01"],
    [outcome({ status: "SKIPPED" }), "SKIPPED: Nightly files (job 12) on backup01"],
    [outcome({ job: { ...JOB, jobtitle: "a\nb" } }), "OK: a b (job 12) on backup01"],
    [outcome({ job: { ...JOB, jobtitle: "x".repeat(300) } }), `OK: ${"x".repeat(199)}… (job 12) on backup01`],
  ])("%#", (o, subject) => {
    expect(subjectOf(o, "backup01")).toBe(subject);
  });

  test("headers and addresses", () => {
    const m = buildJobMessage(outcome({ status: "ERROR" }), CTX);
    expect(m.from).toBe("backup@example.com");
    expect(m.to).toEqual(["a@example.com", "b@example.com"]);
    expect(m.headers).toEqual({ "X-Cncop-Jobid": "12", "X-Cncop-Status": "ERROR", "X-Cncop-Session": "01a2-session", "X-Cncop-Host": "backup01" });
  });
});

describe("pieces", () => {
  test.each([
    ["2025-06-01T00:00:00.000Z", "Europe/Berlin", "2025-06-01 02:00:00 +02:00"],
    ["2025-01-01T00:00:00.000Z", "Europe/Berlin", "2025-01-01 01:00:00 +01:00"],
    ["2025-01-01T12:00:00.000Z", "America/St_Johns", "2025-01-01 08:30:00 -03:30"],
    ["2025-01-01T12:00:00.000Z", "UTC", "2025-01-01 12:00:00 +00:00"],
  ])("localTimeWithOffset(%s) in %s", (iso, tz, want) => {
    process.env.TZ = tz;
    try {
      expect(localTimeWithOffset(new Date(iso))).toBe(want);
    } finally {
      process.env.TZ = "Europe/Berlin";
    }
  });

  test.each([
    ["plain", "plain"],
    ["\x1b[1;32mgreen\x1b[0m", "green"],
    ["trailing  \r", "trailing"],
    ["nul\x00and bell\x07", "nul and bell"],
    ["tab\tkept", "tab\tkept"],
  ])("printable(%p)", (input, want) => {
    expect(printable(input)).toBe(want);
  });

  test.each([
    [exit("a", 0, "OK"), "a: exit status 0 (OK)"],
    [exit("a", 75, "RE-RUN"), "a: exit status 75 (RE-RUN)"],
    [exit("a", null, "ERROR", "SIGTERM"), "a: killed by SIGTERM (ERROR)"],
    [exit("a", null, "ERROR", null, "interrupted"), "a: interrupted (ERROR)"],
  ])("describeAgentExit %#", (e, want) => {
    expect(describeAgentExit(e)).toBe(want);
  });
});
