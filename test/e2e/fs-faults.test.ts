/**
 * cncopagent on full and read-only disks, injected for real: a small tmpfs or a read-only
 * bind mount over a folder of the tree, in a private mount namespace (root: unshare -m;
 * others: a user namespace, unshare -rm) that vanishes with the run. Every failure names
 * the path and the operation, the jobs still run, and nothing is lost without a word.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { agentTree } from "../helpers/agents.ts";
import { FULL, READ_ONLY, runWithFault } from "../helpers/faults.ts";
import { makeScratch } from "../helpers/scratch.ts";
import type { Tree } from "../helpers/tree.ts";

const scratch = makeScratch("file");

function treeWithJob(prerun?: string): Tree {
  const t = scratch.tree();
  t.script("backupagentcifs", "echo hello from the agent");
  t.addJob({ jobid: 1, jobtitle: "one", jobtype: "CIFS", prerun: prerun ?? null });
  for (const d of ["Logs", "Spool/Messages", "Spool/Logs", "Spool/Work/locks"]) mkdirSync(nodePath.join(t.root, d), { recursive: true });
  return t;
}

describe("cncopagent: a full or read-only Logs/", () => {
  test.concurrent("full: said once with the path, the job runs, and its log goes on to stderr", async () => {
    const t = treeWithJob();
    const r = await runWithFault(t, FULL("Logs"), "cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    const said = r.stderr.split("\n").filter((l) => l.includes("cannot write the log"));
    expect(said).toEqual([expect.stringMatching(new RegExp(`^cncopagent: error: cannot write the log ${t.root}/Logs/CA-[-\\d_]+\\.log \\(write\\): ENOSPC.*; the jobs run on, and its lines go to stderr from here$`))]);
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[backupagentcifs#1 stdout\] hello from the agent$/m);
    expect(r.stderr).toMatch(/job 1 'one' final state: OK/);
    expect(r.stderr).toMatch(/cncopagent finished: exit status 0/);
  }, 45_000);

  test.concurrent("read-only: the log cannot be created; said with the path, the job runs, its log is on stderr", async () => {
    const t = treeWithJob();
    const r = await runWithFault(t, READ_ONLY("Logs"), "cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^cncopagent: error: cannot create the log ${t.root}/Logs/CA-[-\\d_]+\\.log in ${t.root}/Logs \\(open\\): EROFS.*; the jobs run, and its lines go to stderr$`, "m"));
    expect(r.stderr).toContain("[backupagentcifs#1 stdout] hello from the agent");
    expect(r.stderr).toMatch(/job 1 'one' final state: OK/);
    expect(r.stderr).not.toContain("internal error");
  }, 45_000);
});

describe("cncopagent: a full or read-only Spool/", () => {
  test.concurrent("the disk fills during the job: the lock update failure is logged with its path, no temporary file is left", async () => {
    const t = treeWithJob("fill");
    t.script("fill", 'head -c 1000000 /dev/zero > "$CNCOP_HOME/Spool/fill" 2>/dev/null; exit 0');
    const listing = nodePath.join(t.root, "locks-after.txt");
    const r = await runWithFault(t, `mount -t tmpfs -o size=256k cncop-test Spool && mkdir -p Spool/Messages Spool/Logs Spool/Work/locks`, "cncopagent", ["1"], `ls -a Spool/Work/locks > "${listing}"`);
    expect(r.exitCode).toBe(0);
    const ca = t.caLogText();
    const locks = `${t.root}/Spool/Work/locks`;
    expect(ca.match(/cannot update the lock record/g)).toHaveLength(1);
    expect(ca).toMatch(new RegExp(`lock of job 1: cannot update the lock record: write ${locks}/\\.job-1\\.json\\.\\d+\\.[-0-9a-f]+\\.tmp \\(for ${locks}/job-1\\.json\\): ENOSPC.*; the record written before is kept`));
    expect(ca).toMatch(/job 1 'one' final state: OK/);
    expect(readFileSync(listing, "utf8").split("\n").filter((n) => n.endsWith(".tmp"))).toEqual([]);
  }, 45_000);

  test.concurrent("read-only: every failure names its path and operation, the reports' content is kept in the log, exit 1", async () => {
    const t = treeWithJob();
    const r = await runWithFault(t, READ_ONLY("Spool"), "cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).not.toContain("internal error");
    const spool = `${t.root}/Spool`;
    expect(r.stderr).toContain(`cannot take the lock guard ${spool}/Work/locks/job-1.guard: EROFS`);
    expect(r.stderr).toMatch(new RegExp(`cannot write JF- report for job 1 into ${spool}/Messages: open ${spool}/Messages/\\.JF-\\S+\\.json\\.tmp \\(for ${spool}/Messages/JF-\\S+\\.json\\): EROFS.*; its content: \\{"type":"jobfinished"`));
    const ca = t.caLogText();
    expect(ca).toMatch(/job 1 'one' final state: ERROR/);
    expect(ca).toContain(`cannot record the run in the history: history database ${spool}/history.db: `);
    expect(ca).toContain("; the run is kept in this log and its reports only (cncopjobs history will not list it)");
  }, 45_000);
});

describe("an agent on a read-only Spool/Logs/", () => {
  test.concurrent("backupagentcifs says so with the path, backs up anyway, and its log lines reach the CA log through stderr", async () => {
    const t = scratch.track(agentTree());
    const src = nodePath.join(t.root, "src");
    mkdirSync(src);
    writeFileSync(nodePath.join(src, "a.txt"), "hi");
    t.addJob({ jobid: 1, jobtitle: "files", jobtype: "CIFS", source: src, destination: nodePath.join(t.root, "dst") });
    for (const d of ["Logs", "Spool/Messages", "Spool/Logs", "Spool/Work/locks"]) mkdirSync(nodePath.join(t.root, d), { recursive: true });
    const r = await runWithFault(t, READ_ONLY("Spool/Logs"), "cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(nodePath.join(t.root, "dst", "a.txt"), "utf8")).toBe("hi");
    const ca = t.caLogText();
    expect(ca).not.toContain("internal error");
    expect(ca).toMatch(new RegExp(`\\[backupagentcifs#1 stderr\\] .*cannot open the log ${t.root}/Spool/Logs/CIFS-\\d{8}\\.log \\(open\\): EROFS.*; its lines go to stderr`));
    expect(ca).toMatch(/\[backupagentcifs#1 stderr\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d FINISH job 1 'files' session \S+ state OK/);
    expect(ca).toMatch(/job 1 'files' final state: OK/);
  }, 45_000);
});

describe("cncopagent: temporary files of interrupted writes", () => {
  test.concurrent("are removed by the next run (dead writer, or old), and a live writer's fresh one is kept", async () => {
    const t = treeWithJob();
    const dead = Bun.spawnSync(["true"]).pid;
    const locks = nodePath.join(t.root, "Spool", "Work", "locks");
    const messages = nodePath.join(t.root, "Spool", "Messages");
    const uuid = "0c86383a-4a02-4093-8da0-31b8f3935019";
    const deadTemp = `.job-7.json.${dead}.${uuid}.tmp`;
    const liveTemp = `.job-8.json.${process.pid}.${uuid}.tmp`;
    const oldTemp = `.reporter.json.${process.pid}.${uuid.replace("0c", "1d")}.tmp`;
    for (const n of [deadTemp, liveTemp, oldTemp]) writeFileSync(nodePath.join(locks, n), "");
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(nodePath.join(locks, oldTemp), old, old);
    const reportTemp = nodePath.join(messages, ".JF-old.json.tmp");
    writeFileSync(reportTemp, "{");
    utimesSync(reportTemp, old, old);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(readdirSync(locks).filter((n) => n.endsWith(".tmp"))).toEqual([liveTemp]);
    expect(existsSync(reportTemp)).toBe(false);
    const ca = t.caLogText();
    expect(ca).toContain(`removed 2 leftover temporary file(s) of interrupted writes in ${locks}: `);
    expect(ca).toContain(`removed 1 leftover temporary file(s) of interrupted writes in ${messages}: .JF-old.json.tmp`);
  }, 45_000);
});
