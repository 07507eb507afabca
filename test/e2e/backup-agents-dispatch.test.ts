/**
 * The agents as cncopagent runs them: found in Bin/, given -c and the jobid and the
 * CNCOP_* environment; one JF- per job run whoever writes it; sessions and attempts
 * agree between cncopagent's log, the agents' daily logs and the reports.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { agentTree, dailyLog, logLines, treeDiff } from "../helpers/agents.ts";
import { makeSource, write } from "../helpers/fixtures.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { freePort } from "../helpers/rsync-daemon.ts";

const scratch = makeScratch();

function setup() {
  const tree = scratch.track(agentTree());
  const src = scratch.dir("dsrc");
  const out = scratch.dir("ddest");
  return { tree, src, out };
}

const sessionsIn = (log: string, prefix: "START" | "FINISH") => logLines(log).filter((l) => l.startsWith(`${prefix} `)).map((l) => /session (\S+)/.exec(l)![1]!);

describe("agents under cncopagent", () => {
  test("cncopagent -a runs a CIFS and an RSYNC job; each ends with one JF- from its agent", async () => {
    const { tree, src, out } = setup();
    makeSource(src);
    const cifs = tree.addJob({ jobtitle: "A files", jobtype: "CIFS", source: src, destination: nodePath.join(out, "cifs") });
    const rsync = tree.addJob({ jobtitle: "B rsync", jobtype: "RSYNC", source: src, destination: nodePath.join(out, "rsync") });
    const r = await tree.run("cncopagent", ["-a"]);
    expect(r.exitCode).toBe(0);
    expect(treeDiff(src, nodePath.join(out, "cifs"))).toEqual([]);
    expect(treeDiff(src, nodePath.join(out, "rsync"))).toEqual([]);
    const ca = tree.caLogText();
    const caSession = (id: number) => new RegExp(`job ${id} '[^']+' \\((?:CIFS|RSYNC)\\): session (\\S+)`).exec(ca)![1]!;
    expect(ca).toContain(`attempt 1: run: ${nodePath.join(tree.bin, "backupagentcifs")} -c ${tree.configFile} ${cifs}`);
    expect(ca).toMatch(/\[backupagentcifs#1 stdout\] backupagentcifs: job \d+ 'A files': OK: /);
    expect(sessionsIn(dailyLog(tree, "CIFS"), "FINISH")).toEqual([caSession(cifs)]);
    expect(sessionsIn(dailyLog(tree, "RSYNC"), "FINISH")).toEqual([caSession(rsync)]);
    const jf = tree.reports("JF-").map((x) => x.body);
    expect(jf.map((b) => [b.jobid, b.session, b.status]).sort()).toEqual([[cifs, caSession(cifs), "OK"], [rsync, caSession(rsync), "OK"]].sort());
    expect(tree.reports("JS-").map((x) => x.body.jobid).sort()).toEqual([cifs, rsync].sort());

    // -n passes -n: the agents list, change nothing, write no report.
    write(src, "later.txt", "later\n");
    const dry = await tree.run("cncopagent", ["-n", String(cifs)]);
    expect(dry.exitCode).toBe(0);
    expect(tree.caLogText()).toContain("would copy later.txt (6 bytes)");
    expect(tree.reports("JF-")).toHaveLength(2);
    expect(treeDiff(src, nodePath.join(out, "cifs"))).toEqual(["later.txt: missing in the destination"]);
  });

  test("re-runs exhausted: the agent writes no JF-, cncopagent writes the one JF- (ERROR)", async () => {
    const { tree, src } = setup();
    write(src, "a.txt", "a\n");
    const port = await freePort();
    const jobid = tree.addJob({ jobtitle: "unreachable", jobtype: "RSYNC", source: src, destination: `rsync://backup@127.0.0.1:${port}/backup`, maxretries: 1, retrydelay: 0 });
    const r = await tree.run("cncopagent", [String(jobid)]);
    expect(r.exitCode).toBe(1);
    const log = dailyLog(tree, "RSYNC");
    expect(logLines(log).filter((l) => l.startsWith("START ")).map((l) => l.replace(/session \S+ /, ""))).toEqual([`START job ${jobid} 'unreachable' attempt 1`, `START job ${jobid} 'unreachable' attempt 2`]);
    expect(new Set(sessionsIn(log, "FINISH")).size).toBe(1);
    const jf = tree.reports("JF-");
    expect(jf).toHaveLength(1);
    expect(jf[0]!.body).toMatchObject({ status: "ERROR", session: sessionsIn(log, "START")[0] });
    expect(String(jf[0]!.body.reason)).toContain("re-runs exhausted");
    expect(tree.reports("JS-").map((x) => x.body.attempt)).toEqual(expect.arrayContaining([1, 2]));
  });

  test("RE-RUN, then OK: the agent's JF- lists both attempts of the session", async () => {
    const { tree, src, out } = setup();
    write(src, "a.txt", "a\n");
    const fake = nodePath.join(tree.root, "flaky-rsync");
    // Fails like a dropped connection the first time, then runs the real rsync.
    writeFileSync(fake, `#!/bin/sh\nif [ ! -e "$0.failed" ]; then : > "$0.failed"; echo "rsync: connection unexpectedly closed" >&2; exit 12; fi\nexec rsync "$@"\n`);
    chmodSync(fake, 0o755);
    const jobid = tree.addJob({ jobtitle: "flaky", jobtype: "RSYNC", source: src, destination: nodePath.join(out, "flaky"), maxretries: 2, retrydelay: 0, settings: JSON.stringify({ rsync: fake }) });
    const r = await tree.run("cncopagent", [String(jobid)]);
    expect(r.exitCode).toBe(0);
    const jf = tree.reports("JF-");
    expect(jf).toHaveLength(1);
    expect(jf[0]!.body.status).toBe("OK");
    expect((jf[0]!.body.attempts as { exitcode: number }[]).map((a) => a.exitcode)).toEqual([75, 0]);
    expect(tree.caLogText()).toMatch(/attempt 1: backupagentrsync exited with status 75 .*: RE-RUN/);
  });
});
