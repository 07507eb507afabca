/**
 * The pure pieces of issue 18: w's folding and short sessions, the agent's summary line of a
 * dry run, who holds a job, add/set's warnings, --init's refusal, and a voice without clock.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { agentSummaryOf } from "../../src/dispatcher/attempt.ts";
import { describeHeldBy } from "../../src/dispatcher/run-job.ts";
import { createMessages } from "../../src/format/messages.ts";
import { makePaint } from "../../src/format/terminal.ts";
import { initTree, SAMPLE_CONFIG } from "../../src/install/init-tree.ts";
import { jobWarnings, localFolderOf } from "../../src/jobs-admin/job-checks.ts";
import { rowToJob } from "../../src/install/jobs-db.ts";
import { foldLine, shortSession, visibleLength } from "../../src/watcher/summary-render.ts";

describe("w's layout", () => {
  test("a session by its last 8 characters; short ids stay whole", () => {
    expect(shortSession("01a22c25-638d-7309-9c50-186d6ef6101b")).toBe("…6ef6101b");
    expect(shortSession("S1")).toBe("S1");
  });

  test("folding: at spaces, to the width, continuation under the text, numbers with their units", () => {
    const line = "  01:00:00 - 01:00:04  OK          job 1 'Good files' (CIFS), session …6ef6101b, 1 attempt, 10 min 00 s: completed on attempt 2";
    const folded = foldLine(line, 80);
    expect(folded.length).toBe(2);
    for (const l of folded) expect(visibleLength(l)).toBeLessThanOrEqual(80);
    expect(folded[1]).toStartWith(`${" ".repeat(23)}`);
    expect(folded.join(" ").replace(/ +/g, " ")).toBe(line.replace(/ +/g, " "));
    expect(foldLine("short", 80)).toEqual(["short"]);
    // Colour sequences take no columns.
    expect(visibleLength("\x1b[32mOK\x1b[39m")).toBe(2);
  });
});

describe("the agent's own summary of a dry run", () => {
  test.each([
    [["would copy a (3 bytes)", "backupagentcifs: job 1 'Docs': OK: dry run: would copy 1 (3 bytes)"], "dry run: would copy 1 (3 bytes)"],
    [["backupagentcifs: job 2 'x': OK: other job"], undefined],
    [["nothing of the kind"], undefined],
    [["backupagentcifs: job 1 'a ': OK: b': ERROR: odd title': OK: fine"], "b': ERROR: odd title': OK: fine"],
  ] as const)("%p", (lines, words) => {
    expect(agentSummaryOf("backupagentcifs", 1, lines)).toBe(words);
  });
});

describe("who holds a job", () => {
  const since = new Date(2026, 10, 30, 7, 0, 0);
  test.each([
    [[31786], "(pid 31786)"],
    [[31786, 31790], "(pid 31786)"],
    [[31790], "(pid 31790 still running; its cncopagent, pid 31786, has ended)"],
    [[], "(its cncopagent, pid 31786, has ended; a process of its run still runs)"],
  ])("live %p", (livePids, who) => {
    expect(describeHeldBy({ since, session: "S", pid: 31786, livePids })).toBe(`since 2026-11-30 07:00:00 as session S ${who}`);
  });
});

describe("add/set warnings", () => {
  const bin = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-checks-"));
  writeFileSync(nodePath.join(bin, "backupagentcifs"), "");
  const ctx = { bin, root: nodePath.dirname(bin), agents: {}, platform: "linux" as const, exists: (p: string) => p === "/srv/data" };
  const job = (o: Record<string, unknown>) => rowToJob({ jobid: 4, jobtitle: "J", jobtype: "CIFS", ...o });

  test("local folders only: no URL, no host:path, no UNC", () => {
    expect(["/srv/x", "//server/share", "host:/x", "rsync://h/m", "", "rel/x"].map((t) => localFolderOf(t, "linux"))).toEqual(["/srv/x", undefined, undefined, undefined, undefined, undefined]);
    expect(["C:\\Data", "\\\\srv\\share", "C:rel"].map((t) => localFolderOf(t, "win32"))).toEqual(["C:\\Data", undefined, undefined]);
  });

  test("a job that can run: no warning", () => {
    expect(jobWarnings(job({ source: "/srv/data", destination: "/backup/data" }), ctx)).toEqual([]);
  });

  test("each problem is said, with what to do", () => {
    const w = jobWarnings(job({ jobtype: "RSYNC", source: "/mnt/gone", destination: "/mnt/gone/backup" }), ctx);
    expect(w).toEqual([
      `its agent backupagentrsync is not in ${bin}: the job fails until it is there (cncopjobs -t x lists the agents)`,
      "the source /mnt/gone does not exist now: the job fails unless it is there when the job runs (a share mounted at night?)",
      "the destination /mnt/gone/backup lies inside the source /mnt/gone: each run would back up the backups; choose a destination outside the source",
    ]);
    expect(jobWarnings(job({ source: "/srv/data" }), ctx)).toEqual(["it has no destination: the agent refuses to run; give one with cncopjobs set 4 --destination FOLDER"]);
  });
});

describe("--init", () => {
  test("from source: the folders, the sample config, an empty database; then never again over them", () => {
    const base = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-init-"));
    try {
      const r = initTree(nodePath.join(base, "cncop"), { executable: undefined });
      expect(readFileSync(nodePath.join(r.root, "Config", "cncop3.ini"), "utf8")).toBe(SAMPLE_CONFIG);
      expect(SAMPLE_CONFIG).toBe(readFileSync(nodePath.join(import.meta.dir, "..", "..", "Config", "cncop3.ini"), "utf8"));
      expect(statSync(nodePath.join(r.root, "Config", "backupjobs.db")).mode & 0o777).toBe(0o600);
      expect(r.done.at(-1)).toContain("run from source");
      expect(() => initTree(nodePath.join(base, "cncop"), { executable: undefined })).toThrow(/nothing was changed, because these exist/);
      writeFileSync(nodePath.join(base, "file"), "");
      expect(() => initTree(nodePath.join(base, "file"), { executable: undefined })).toThrow(/exists and is not a folder/);
      mkdirSync(nodePath.join(base, "empty"));
      expect(initTree(nodePath.join(base, "empty"), { executable: undefined }).root).toBe(nodePath.join(base, "empty"));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe("one voice", () => {
  test("a message on a terminal: the program, the level, the text; no clock of consola's", () => {
    const out: string[] = [];
    const say = createMessages({ stderr: { write: (s: string) => out.push(s), isTTY: true }, paintFor: () => makePaint(false), defaultTag: () => "cncopagent" });
    say.warn("SIGINT received: stopping the running job");
    say.fail("unknown option --alljob; did you mean --alljobs?");
    expect(out).toEqual(["cncopagent: warning: SIGINT received: stopping the running job\n", "cncopagent: unknown option --alljob; did you mean --alljobs?\n"]);
    expect(out.join("")).not.toMatch(/\d:\d\d(:\d\d)? ?(AM|PM)/);
  });
});
