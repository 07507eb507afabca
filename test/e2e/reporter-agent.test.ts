/**
 * cncopagent invokes cncopreporter after each job (SPEC §5): the job's reports reach the
 * server when the job ends, the outcome is in the CA log, and the network never changes a
 * job's state. Without `[network] url` the reporter is not started at all.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { networkConfig, startReportServer } from "../helpers/report-server.ts";

const scratch = makeScratch();

const AGENTS = "\n[agents]\nTESTJOB = fakeagent\n";

/** An agent that writes its JS- and JF- reports atomically (dot name, then rename), then exits with $1. */
function fakeAgent(t: Tree, exitCode: number): void {
  t.script(
    "fakeagent",
    `d="$CNCOP_HOME/Spool/Messages"; n="$CNCOP_SESSION-$CNCOP_ATTEMPT"
printf '{"type":"jobstats","jobid":%s,"session":"%s"}\\n' "$CNCOP_JOBID" "$CNCOP_SESSION" > "$d/.JS-$n.tmp" && mv "$d/.JS-$n.tmp" "$d/JS-$n.json"
printf '{"type":"jobfinished","jobid":%s,"session":"%s","status":"OK"}\\n' "$CNCOP_JOBID" "$CNCOP_SESSION" > "$d/.JF-$n.tmp" && mv "$d/.JF-$n.tmp" "$d/JF-$n.json"
echo "agent done"
exit ${exitCode}`,
  );
}

function setup(url: string | undefined) {
  const tree = scratch.tree({ config: url ? networkConfig(url, AGENTS) : `[defaults]\ndays_of_logs = 90\n${AGENTS}` });
  return tree;
}
const spool = (t: Tree) => {
  const dir = nodePath.join(t.root, "Spool", "Messages");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort() : [];
};
const rpLogs = (t: Tree) => {
  const dir = nodePath.join(t.root, "Spool", "Logs");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("RP-")) : [];
};

const rpLogText = (t: Tree) => rpLogs(t).map((n) => readFileSync(nodePath.join(t.root, "Spool", "Logs", n), "utf8")).join("");

/**
 * On a loaded machine the test's own server may take more than SLOW_ANSWER_MS to answer:
 * cncopagent then lets the reporter go (docs/reporting.md) and ends first. The reports still
 * reach the server exactly once, from the reporter on its own: wait for its end in its RP log.
 * Returns whether the reporter was let go.
 */
async function reporterDone(t: Tree, sent: number): Promise<boolean> {
  if (!/has waited more than \d+ ms for an answer from the report server/.test(t.caLogText())) return false;
  await waitFor(() => new RegExp(`INFO cncopreporter finished: ${sent} sent, `).test(rpLogText(t)), 30_000, "the released reporter's end");
  return true;
}

describe("cncopagent and cncopreporter", () => {
  test("a job's reports are delivered right after the job; the CA log records the reporter's outcome", async () => {
    const server = startReportServer();
    scratch.defer(() => server.stop());
    const tree = setup(server.url);
    fakeAgent(tree, 0);
    const id = tree.addJob({ jobtitle: "Docs", jobtype: "TESTJOB" });
    const r = await tree.run("cncopagent", [String(id)]);
    expect(r.exitCode).toBe(0);
    const letGo = await reporterDone(tree, 2);
    expect(server.received.map((x) => `${x.name.slice(0, 3)} ${x.path} ${JSON.parse(x.body).jobid}`)).toEqual([`JS- /submit_jobresults ${id}`, `JF- /submit_jobresults ${id}`]);
    expect(spool(tree)).toEqual([]);
    const ca = tree.caLogText();
    expect(ca).toMatch(/cncopreporter: run: .*cncopreporter.* -c .*cncop3\.ini/);
    // The reporter's line comes after the job's final state.
    const outcome = letGo ? "has waited more than" : "cncopreporter exited";
    expect(ca.indexOf("final state: OK")).toBeLessThan(ca.indexOf(outcome));
    if (letGo) return;
    expect(ca).toContain("[cncopreporter stdout] cncopreporter: 2 sent, 0 refused, 0 expired, 0 bad, 0 left in the spool");
    expect(ca).toMatch(/cncopreporter exited with status 0 after /);
  });

  test("a failed job: cncopagent's own JF- and JE- reports go too, and the job still fails", async () => {
    const server = startReportServer();
    scratch.defer(() => server.stop());
    const tree = setup(server.url);
    const id = tree.addJob({ jobtitle: "No agent", jobtype: "TESTJOB" });
    const r = await tree.run("cncopagent", [String(id)]);
    expect(r.exitCode).toBe(1);
    await reporterDone(tree, 2);
    const got = server.received.map((x) => JSON.parse(x.body) as { type: string; jobid: number; status?: string });
    expect(got.map((b) => b.type)).toEqual(["jobexception", "jobfinished"]);
    expect(got[1]!.status).toBe("ERROR");
    expect(spool(tree)).toEqual([]);
  });

  test("network down: the jobs' states are unchanged, their reports stay, and the later jobs do not call the reporter", async () => {
    const server = startReportServer();
    server.stop();
    const tree = setup(server.url);
    fakeAgent(tree, 0);
    const a = tree.addJob({ jobtitle: "Docs", jobtype: "TESTJOB" });
    const b = tree.addJob({ jobtitle: "Mail", jobtype: "TESTJOB" });
    const r = await tree.run("cncopagent", [String(a), String(b)]);
    expect(r.exitCode).toBe(0);
    expect(spool(tree)).toHaveLength(4);
    const ca = tree.caLogText();
    expect(ca.match(/final state: OK/g)).toHaveLength(2);
    expect(ca.match(/cncopreporter: run: /g)).toHaveLength(1);
    expect(ca).toMatch(/cncopreporter exited with status 75 after .*: a report was not delivered/);
    expect(ca).toContain("stopped: JS-");
    // The second job's call found the reporter still running (it does not run again after a
    // "not delivered"), or came after it said so and was not made.
    const later = /cncopreporter not run: a report was not delivered earlier in this run \(cncopreporter exited with status 75 at .*\); the reports stay in |cncopreporter \(pid \d+\) is still running: it is run again once it ends/g;
    expect(ca.match(later)).toHaveLength(1);
    // Run on its own (a scheduler), the reporter still exits 0 when the network is down.
    const alone = await tree.run("cncopreporter", [], { env: { CNCOP_REPORTER_INVOKED_BY: "" } });
    expect(alone.exitCode).toBe(0);
    expect(alone.stdout).toContain("4 left in the spool; stopped: ");
  });

  test("without [network] url the reporter is not started; --alljobs runs on and nothing is lost", async () => {
    const tree = setup(undefined);
    fakeAgent(tree, 0);
    for (let i = 0; i < 5; i++) tree.addJob({ jobtitle: `Job ${i}`, jobtype: "TESTJOB" });
    const r = await tree.run("cncopagent", ["--alljobs"]);
    expect(r.exitCode).toBe(0);
    expect(spool(tree)).toHaveLength(10);
    const ca = tree.caLogText();
    expect(ca.match(/cncopreporter not run: no \[network\] url in /g)).toHaveLength(5);
    expect(ca).not.toContain("cncopreporter: run:");
    expect(rpLogs(tree)).toEqual([]);
  });
});
