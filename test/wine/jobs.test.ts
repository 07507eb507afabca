/**
 * Job runs on Windows: a second run of a running job is skipped (exit 3), maxruntime ends a
 * job, JE/JF reports are written and cncopreporter delivers them to a loopback HTTP server,
 * `--email` reaches a loopback SMTP server, and the ini may have CRLF line ends and a BOM.
 * Against a report server that never answers, the run does not wait for its reporter: the
 * reporter is let out of cncopagent's job object and finishes its pass on its own.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import nodePath from "node:path";
import { waitFor } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { startReportServer } from "../helpers/report-server.ts";
import { startSmtp } from "../helpers/smtp.ts";
import { finalStates, makeWinTree, winPath, type WinTree } from "./helpers.ts";

const scratch = makeScratch("file");
const tree = (o?: Parameters<typeof makeWinTree>[0]): WinTree => scratch.track(makeWinTree(o));
const BOM = "\uFEFF";
const crlf = (lines: string[]) => lines.map((l) => `${l}\r\n`).join("");

describe("single instance and maxruntime", () => {
  test.concurrent("a second run of a running job is skipped with exit 3; the first ends OK once released", async () => {
    const t = tree({ config: crlf(["[agents]", "WAITJOB = waiter"]) });
    const release = nodePath.join(t.root, "release");
    t.fake("waiter.exe", [`wait=${winPath(release)}`]);
    const id = t.addJob({ jobtitle: "Long copy", jobtype: "WAITJOB" });
    const first = t.spawn("cncopagent", [String(id)]);
    first.stdin.end();
    scratch.defer(async () => {
      writeFileSync(release, "");
      await first.exited;
    });
    await waitFor(() => t.calls().length === 1, 90_000, "the first run's agent");
    const second = await t.run("cncopagent", ["long COPY"]);
    expect(second.exitCode).toBe(3);
    expect(`${second.stdout}${second.stderr}`).toContain(`job ${id} 'Long copy' is already running`);
    writeFileSync(release, "");
    expect(await first.exited).toBe(0);
    expect(t.calls()).toHaveLength(1);
  });

  test.concurrent("maxruntime ends a job as ERROR (timed out) with a JE and a JF report", async () => {
    const t = tree({ config: crlf(["[agents]", "SLOWJOB = slow"]) });
    // The agent would sleep 10 s; maxruntime is 2 s. (That its whole tree is stopped, through
    // a job object, is tree.test.ts's.)
    t.fake("slow.exe", ["sleep=10000"]);
    const id = t.addJob({ jobtitle: "Too slow", jobtype: "SLOWJOB", maxruntime: 2, maxretries: 3, retrydelay: 0 });
    const r = await t.run("cncopagent", [String(id)], { env: { CNCOP_KILL_GRACE_MS: "1000" } });
    expect(r.exitCode).toBe(1);
    expect(finalStates(r)[id]).toBe("ERROR");
    const jf = t.reports("JF-").map((x) => x.body);
    expect(jf).toEqual([expect.objectContaining({ jobid: id, status: "ERROR", reason: expect.stringContaining("timed out after 2 s") })]);
    expect(jf[0]!.attempts).toHaveLength(1);
    expect(t.reports("JE-").map((x) => [x.body.source, x.body.jobid])).toEqual([["agent", id]]);
    // One attempt started, no re-run after the timeout (on a loaded machine the fake may be
    // stopped before it has written its record: the CA log says what was started).
    expect(t.caLogText().match(/: attempt \d+: run: /g)).toHaveLength(1);
    expect(t.calls().length).toBeLessThanOrEqual(1);
  });
});

describe("reports, the reporter and email, with a CRLF + BOM ini", () => {
  test.concurrent("JE and JF reports reach a loopback HTTP server through cncopreporter; --email reaches a loopback SMTP server", async () => {
    const server = startReportServer();
    scratch.defer(() => server.stop());
    const smtp = await startSmtp({ mode: "plain" });
    scratch.defer(() => smtp.close());
    const config = BOM + crlf(["; written by Notepad", "[defaults]", "days_of_logs = 90", "[agents]", "EXEJOB = agentexe", "[network]", `url = ${server.url}`, 'api_key = "k#1"', "[mail]", "mail_server = 127.0.0.1", `mail_port = ${smtp.port}`, "mail_security = none"]);
    const t = tree({ config });
    t.fake("agentexe.exe", ["out=copied everything"]);
    const ok = t.addJob({ jobtitle: "Nightly files", jobtype: "EXEJOB" });
    const bad = t.addJob({ jobtitle: "Broken prerun", jobtype: "EXEJOB", prerun: "..\\evil.exe" });
    const r = await t.run("cncopagent", ["--email", "admin@example.com", "-a"]);
    expect(r.exitCode).toBe(1);
    expect(finalStates(r)).toEqual({ [ok]: "OK", [bad]: "ERROR" });

    // The dispatcher wrote a JE and a JF for the refused prerun, and the JF the fake agent did
    // not write for the job that ran (SPEC §5); the reporter sent and deleted them.
    const sent = server.received.map((x) => ({ path: x.path, auth: x.headers.authorization, body: JSON.parse(x.body) as Record<string, unknown> }));
    expect(sent.map((s) => [s.path, s.body.type, s.body.jobid])).toEqual([
      ["/submit_jobresults", "jobexception", bad],
      ["/submit_jobresults", "jobfinished", bad],
      ["/submit_jobresults", "jobfinished", ok],
    ]);
    expect(new Set(sent.map((s) => s.auth))).toEqual(new Set(["Bearer k#1"]));
    expect(sent[0]!.body).toMatchObject({ source: "prerun", exitcode: null, message: expect.stringContaining("leads outside Bin") });
    expect(readdirSync(nodePath.join(t.root, "Spool", "Messages")).filter((n) => n.endsWith(".json"))).toEqual([]);

    // One message per job, in the order they ran (--alljobs: by title).
    await waitFor(() => smtp.messages.length === 2, 30_000, "two messages");
    expect(smtp.messages.map((m) => m.subject.replace(/ on \S+$/, ""))).toEqual([`ERROR: Broken prerun (job ${bad})`, `OK: Nightly files (job ${ok})`]);
    expect(smtp.messages.map((m) => m.to)).toEqual([["admin@example.com"], ["admin@example.com"]]);
    expect(smtp.messages[1]!.text).toContain("copied everything");
  });

  test.concurrent("a report server that never answers: the reporter is let go at the end and outlives cncopagent's job object", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    scratch.defer(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const t = tree({ config: crlf(["[agents]", "EXEJOB = agentexe", "[network]", `url = ${url}`, "timeout = 8"]) });
    t.fake("agentexe.exe", ["out=done"]);
    const a = t.addJob({ jobtitle: "First", jobtype: "EXEJOB" });
    const b = t.addJob({ jobtitle: "Second", jobtype: "EXEJOB" });
    const r = await t.run("cncopagent", ["-a"]);
    expect(r.exitCode).toBe(0);
    expect(finalStates(r)).toEqual({ [a]: "OK", [b]: "OK" });
    const ca = t.caLogText();
    expect(ca.match(/cncopreporter: run: /g)).toHaveLength(1);
    expect(ca).toMatch(/cncopreporter \(pid \d+\) has waited more than 500 ms for an answer from the report server: it finishes its pass on its own/);
    expect(ca).not.toContain("cannot let cncopreporter outlive cncopagent");
    // Had the job object ended it with cncopagent, its log would never get its last line.
    const rp = () => readdirSync(nodePath.join(t.root, "Spool", "Logs")).filter((n) => n.startsWith("RP-")).map((n) => readFileSync(nodePath.join(t.root, "Spool", "Logs", n), "utf8")).join("");
    await waitFor(() => /INFO cncopreporter finished: 0 sent, .*stopped: /.test(rp()), 60_000, "the reporter's end");
    expect(rp()).toMatch(/WARN not delivered JF-.* no answer within the time limit/);
    expect(t.reports("JF-").map((x) => x.body.jobid).sort()).toEqual([a, b].sort());
  });

  test.concurrent("ini errors name the file and line with CRLF line ends and a BOM; -c takes a Windows path", async () => {
    const t = tree();
    const other = nodePath.join(t.root, "Config", "other.ini");
    writeFileSync(other, BOM + crlf(["[defaults]", "days_of_logs = 90", "[mail", "mail_server = x"]));
    writeFileSync(t.configFile, BOM + crlf(["[defaults]", "days_of_logs = many"]));
    const [bracket, value] = await Promise.all([t.run("cncopjobs", ["-c", winPath(other), "list"]), t.run("cncopagent", ["-a"])]);
    expect(bracket.exitCode).toBe(2);
    expect(bracket.stderr).toContain(winPath(other));
    expect(bracket.stderr).toMatch(/line 3\b/);
    expect(bracket.stderr).toContain("[mail");
    expect(bracket.stderr).not.toContain("\r");
    expect(value.exitCode).toBe(2);
    expect(value.stderr).toContain(t.winConfig);
    expect(value.stderr).toMatch(/\[defaults\][\s\S]*days_of_logs[\s\S]*many/);
    expect(value.stderr).not.toContain("\r");
    // A scheduled run's configuration error is left where an administrator looks: a CA log.
    const caLogs = readdirSync(nodePath.join(t.root, "Logs")).filter((n) => n.startsWith("CA-"));
    expect(caLogs.length).toBe(1);
    expect(readFileSync(nodePath.join(t.root, "Logs", caLogs[0]!), "utf8")).toMatch(/configuration error: .*days_of_logs/);
  });
});
