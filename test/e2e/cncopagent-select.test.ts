/**
 * Job selection and ordering end to end (SPEC §5 "Selecting jobs"): ids and titles in the
 * order given, --alljobs by title with PULL before PUSH on role = REMOTE, --type, disabled
 * jobs, and jobs running one after another.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Tree } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { CONFIG_WITH_AGENTS, recordingAgent, runOrder } from "./cncopagent-fakes.ts";

// Processes on a busy 2-core machine: room beyond bun's 5 s default, never a sleep. The
// tests run concurrently and each starts cncopagent (from source: a transpiling start-up)
// once or more: under npm test's load one took 29 s, so they get npm test's 60 s.
setDefaultTimeout(60_000);

// The tests run concurrently: their trees are removed after the file.
const scratch = makeScratch("file");

const JOBS = [
  { jobid: 1, jobtitle: "web server", jobtype: "SFTP" },
  { jobid: 2, jobtitle: "Accounts", jobtype: "CCS" },
  { jobid: 3, jobtitle: "backup of files", jobtype: "cifs" },
  { jobid: 4, jobtitle: "Zeta cloud", jobtype: "CCS" },
  { jobid: 5, jobtitle: "Disabled one", jobtype: "RSYNC", enabled: 0 },
  { jobid: 6, jobtitle: "2024", jobtype: "RSYNC" },
  { jobid: 7, jobtitle: "mirror", jobtype: "rsync" },
  { jobid: 8, jobtitle: "Tape", jobtype: "TAPE" },
];

/** Every agent records its runs; the CCS pair records only through backupagentnq (dq gets no jobid). */
function treeFor(role: "LOCAL" | "REMOTE"): Tree {
  const t = scratch.tree({ config: CONFIG_WITH_AGENTS({ TAPE: "tapeagent" }, `role = ${role}`) });
  for (const j of JOBS) t.addJob(j);
  for (const a of ["backupagentsftp", "backupagentnq", "backupagentcifs", "backupagentrsync", "tapeagent"]) recordingAgent(t, a);
  t.script("backupagentdq", "exit 0");
  return t;
}

async function order(role: "LOCAL" | "REMOTE", args: string[], exit = 0): Promise<number[]> {
  const t = treeFor(role);
  const r = await t.run("cncopagent", args);
  expect(r.exitCode).toBe(exit);
  return runOrder(t);
}

describe("named jobs", () => {
  test.concurrent("ids and titles (case-insensitive) in the order given, each once", async () => {
    expect(await order("LOCAL", ["Zeta Cloud", "1", "ACCOUNTS", "4", "web server"])).toEqual([4, 1, 2]);
  });

  test.concurrent("all digits: a jobid first, else a title", async () => {
    expect(await order("LOCAL", ["2024", "6"])).toEqual([6]);
    expect(await order("LOCAL", ["7"])).toEqual([7]);
  });

  test.concurrent("a disabled job runs when named", async () => {
    expect(await order("LOCAL", ["Disabled one"])).toEqual([5]);
  });

  test.concurrent("role = REMOTE does not reorder named jobs", async () => {
    expect(await order("REMOTE", ["Accounts", "mirror"])).toEqual([2, 7]);
  });
});

describe("--alljobs", () => {
  test.concurrent("every enabled job by title, case-insensitively", async () => {
    // 2024, Accounts, backup of files, mirror, Tape, web server, Zeta cloud
    expect(await order("LOCAL", ["--alljobs"])).toEqual([6, 2, 3, 7, 8, 1, 4]);
  });

  test.concurrent("role = REMOTE: PULL jobs (every type but CCS) before PUSH jobs, each by title", async () => {
    expect(await order("REMOTE", ["-a"])).toEqual([6, 3, 7, 8, 1, 2, 4]);
  });

  test.concurrent("jobs run one after another", async () => {
    const t = scratch.tree({ config: CONFIG_WITH_AGENTS({ SEQ: "seqagent" }) });
    for (let i = 1; i <= 4; i++) t.addJob({ jobid: i, jobtitle: `job ${i}`, jobtype: "SEQ" });
    // Each run notes its start and end; a run that overlapped another would interleave them.
    t.script("seqagent", 'echo "start $CNCOP_JOBID" >> "$CNCOP_HOME/trace"; sleep 0.05; echo "end $CNCOP_JOBID" >> "$CNCOP_HOME/trace"');
    const r = await t.run("cncopagent", ["-a"]);
    expect(r.exitCode).toBe(0);
    const trace = await Bun.file(`${t.root}/trace`).text();
    expect(trace).toBe("start 1\nend 1\nstart 2\nend 2\nstart 3\nend 3\nstart 4\nend 4\n");
  });

  test.concurrent("no job at all: nothing to run, exit 0", async () => {
    const t = scratch.tree();
    const r = await t.run("cncopagent", ["-a"]);
    expect(r.exitCode).toBe(0);
    expect(t.caLogText()).toMatch(/selected 0 job/);
  });
});

describe("--type", () => {
  test.concurrent("enabled jobs of the type, case-insensitively, by title", async () => {
    expect(await order("LOCAL", ["--type", "Rsync"])).toEqual([6, 7]);
    expect(await order("LOCAL", ["-t", "ccs"])).toEqual([2, 4]);
  });

  test.concurrent("-t given more than once: every type named, ordered as for --alljobs", async () => {
    expect(await order("LOCAL", ["-t", "rsync", "-t", "CCS", "--type=cifs"])).toEqual([6, 2, 3, 7, 4]);
    expect(await order("REMOTE", ["-t", "ccs", "-t", "sftp"])).toEqual([1, 2, 4]);
  });

  test.concurrent("a type added in [agents]", async () => {
    expect(await order("LOCAL", ["-t", "tape"])).toEqual([8]);
  });

  test.concurrent("a known type without jobs runs nothing and exits 0", async () => {
    expect(await order("LOCAL", ["-t", "WIMG"])).toEqual([]);
  });
});

describe("the selection is logged", () => {
  test.concurrent("ids, titles and types of the selected jobs", async () => {
    const t = treeFor("LOCAL");
    const r = await t.run("cncopagent", ["-t", "RSYNC"]);
    expect(r.exitCode).toBe(0);
    const log = t.caLogText();
    const selected = log.split("\n").find((l) => /selected 2 job/.test(l));
    expect(selected).toBeDefined();
    expect(selected).toContain("2024");
    expect(selected).toContain("mirror");
    expect(selected).not.toContain("Disabled one");
  });
});
