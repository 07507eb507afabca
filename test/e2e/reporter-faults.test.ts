/**
 * cncopreporter and cncopagent under real faults (issue 17): reports larger than memory
 * should hold (streamed, or moved aside over the limit), a Spool/Messages/ that cannot be
 * deleted from (a read-only bind mount in a private mount namespace), report servers that
 * hang, reset the connection or trickle their answer, and a cncopagent run against a
 * server that never answers.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync } from "node:fs";
import { READ_ONLY, runWithFault } from "../helpers/faults.ts";
import net from "node:net";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { HOUR_MS, networkConfig, putReport, startReportServer } from "../helpers/report-server.ts";

const scratch = makeScratch("file");

const messagesDir = (t: Tree) => nodePath.join(t.root, "Spool", "Messages");
const spoolNames = (t: Tree) => (existsSync(messagesDir(t)) ? readdirSync(messagesDir(t)).filter((n) => n.endsWith(".json")).sort() : []);
const badNames = (t: Tree) => (existsSync(nodePath.join(messagesDir(t), "bad")) ? readdirSync(nodePath.join(messagesDir(t), "bad")).sort() : []);
function rpLog(t: Tree): string {
  const dir = nodePath.join(t.root, "Spool", "Logs");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("RP-")).map((n) => readFileSync(nodePath.join(dir, n), "utf8")).join("") : "";
}

/** A raw TCP "report server": each connection is handed to `onConnection`. */
function rawServer(onConnection: (s: net.Socket) => void): Promise<{ url: string; connections: () => number }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    onConnection(s);
  });
  scratch.defer(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => count })));
}

/** A JSON object of about `size` bytes: {"jobid":N,"pad":["xxxx...", ...]} */
function bigReport(size: number, jobid: number): string {
  const item = `"${"x".repeat(1000)}"`;
  const n = Math.ceil(size / (item.length + 1));
  return `{"type":"jobstats","jobid":${jobid},"pad":[${Array(n).fill(item).join(",")}]}\n`;
}

describe("cncopreporter: large reports", () => {
  test.concurrent("a report above 1 MiB is streamed whole; a broken one is moved aside; one over the limit is never read and blocks nothing", async () => {
    const server = startReportServer({ answer: () => 200 });
    scratch.defer(() => server.stop());
    const tree = scratch.track(scratch.tree({ config: networkConfig(server.url) }));
    // Oldest first: the oversize file would be sent first and hold up the rest.
    const huge = putReport(tree.root, "JS-0-huge.json", "{", 4 * HOUR_MS);
    truncateSync(huge, 33 * 1024 * 1024); // sparse: 33 MiB of NULs, never read
    const big = bigReport(3 * 1024 * 1024, 7);
    putReport(tree.root, "JS-1-big.json", big, 3 * HOUR_MS);
    putReport(tree.root, "JS-2-broken.json", big.slice(0, -3), 2 * HOUR_MS);
    putReport(tree.root, "JF-3-small.json", { type: "jobfinished", jobid: 7 }, HOUR_MS);

    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.received.map((x) => x.name)).toEqual(["JS-1-big.json", "JF-3-small.json"]);
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    expect(sha(server.received[0]!.body)).toBe(sha(big));
    expect(server.received[0]!.headers["content-length"]).toBe(String(Buffer.byteLength(big)));
    expect(spoolNames(tree)).toEqual([]);
    expect(badNames(tree)).toEqual(["JS-0-huge.json", "JS-2-broken.json"]);
    const log = rpLog(tree);
    expect(log).toMatch(/ERROR bad report JS-0-huge\.json: 33\.0 MiB \(34603008 bytes\) is over the limit of 32\.0 MiB for a report; never sent, moved to .*bad\/JS-0-huge\.json/);
    expect(log).toMatch(/ERROR bad report JS-2-broken\.json: not valid JSON \(the text ends inside an open object or array/);
    expect(r.stdout).toContain("2 sent, 0 refused, 0 expired, 2 bad, 0 left in the spool");
  }, 30_000);
});

describe("cncopreporter: a spool it cannot delete from", () => {
  test.concurrent("nothing is sent (so nothing is sent twice), the path is named, exit 1, on every pass", async () => {
    const server = startReportServer({ answer: () => 200 });
    scratch.defer(() => server.stop());
    const tree = scratch.track(scratch.tree({ config: networkConfig(server.url) }));
    putReport(tree.root, "JF-a.json", { type: "jobfinished", jobid: 1 });
    putReport(tree.root, "JF-b.json", { type: "jobfinished", jobid: 2 });
    const dir = messagesDir(tree);
    for (let pass = 0; pass < 2; pass++) {
      // A read-only bind mount: permissions would not stop root.
      const r = await runWithFault(tree, READ_ONLY("Spool/Messages"), "cncopreporter", []);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`cannot delete reports in ${dir} (access for writing): EROFS`);
      expect(r.stderr).toContain(`nothing sent, so that nothing is sent twice: the 2 report(s) stay in ${dir}`);
    }
    expect(server.received).toEqual([]);
    expect(spoolNames(tree)).toEqual(["JF-a.json", "JF-b.json"]);
  }, 30_000);
});

describe("cncopreporter: a read-only Spool/Logs/", () => {
  test.concurrent("its log cannot be opened: said with the path, the reports are sent anyway, the log lines are on stderr", async () => {
    const server = startReportServer({ answer: () => 200 });
    scratch.defer(() => server.stop());
    const tree = scratch.track(scratch.tree({ config: networkConfig(server.url) }));
    putReport(tree.root, "JE-a.json", { type: "jobexception", jobid: 1 });
    mkdirSync(nodePath.join(tree.root, "Spool", "Logs"), { recursive: true });
    const r = await runWithFault(tree, READ_ONLY("Spool/Logs"), "cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`cncopreporter: cannot open the log ${tree.root}/Spool/Logs/RP-\\d{8}\\.log \\(open\\): EROFS.*; its lines go to stderr`));
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO sent JE-a\.json to /m);
    expect(server.received.map((x) => x.name)).toEqual(["JE-a.json"]);
    expect(spoolNames(tree)).toEqual([]);
  }, 30_000);
});

describe("cncopreporter: servers that hang, reset or trickle", () => {
  test.concurrent("a reset connection is 'not delivered': the report stays, exit 0", async () => {
    const srv = await rawServer((s) => s.once("data", () => s.resetAndDestroy()));
    const tree = scratch.track(scratch.tree({ config: networkConfig(srv.url) }));
    putReport(tree.root, "JF-a.json", { type: "jobfinished", jobid: 1 });
    putReport(tree.root, "JF-b.json", { type: "jobfinished", jobid: 2 }, -1000);
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(srv.connections()).toBe(1);
    expect(rpLog(tree)).toMatch(/WARN not delivered JF-a\.json to .*: .*; the report stays, and the pass stops/);
    expect(spoolNames(tree)).toEqual(["JF-a.json", "JF-b.json"]);
  }, 30_000);

  test.concurrent("an answer that trickles in slower than the timeout is 'not delivered'", async () => {
    const srv = await rawServer((s) =>
      s.once("data", () => {
        const text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let i = 0;
        const timer = setInterval(() => (i < text.length && !s.destroyed ? s.write(text[i++]!) : clearInterval(timer)), 400);
        s.on("close", () => clearInterval(timer));
      }),
    );
    const tree = scratch.track(scratch.tree({ config: networkConfig(srv.url).replace("timeout = 5", "timeout = 1") }));
    putReport(tree.root, "JF-a.json", { type: "jobfinished", jobid: 1 });
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(rpLog(tree)).toMatch(/WARN not delivered JF-a\.json to .*: no answer within the time limit/);
    expect(spoolNames(tree)).toEqual(["JF-a.json"]);
  }, 30_000);

  test.concurrent("cncopagent against a server that never answers: no job waits for it, one reporter runs, and it is let go at the end", async () => {
    const srv = await rawServer(() => {}); // accepts, reads nothing, never answers
    const agents = "\n[agents]\nTESTJOB = fakeagent\n";
    const tree = scratch.track(scratch.tree({ config: networkConfig(srv.url, agents).replace("timeout = 5", "timeout = 3") }));
    // A JF- names its session (SPEC §5), else cncopagent writes the run's JF- itself.
    tree.script("fakeagent", `printf '{"type":"jobfinished","jobid":%s,"session":"%s","status":"OK"}\\n' "$CNCOP_JOBID" "$CNCOP_SESSION" > "$CNCOP_HOME/Spool/Messages/JF-$CNCOP_SESSION.json"\nexit 0`);
    for (const t of ["a", "b", "c"]) tree.addJob({ jobtitle: t, jobtype: "TESTJOB" });
    const r = await tree.run("cncopagent", ["-a"]);
    expect(r.exitCode).toBe(0);
    const ca = tree.caLogText();
    expect(ca.match(/final state: OK/g)).toHaveLength(3);
    // One reporter for the run: the later jobs' calls find it running (or, once it said
    // "not delivered", are not made).
    expect(ca.match(/cncopreporter: run: /g)).toHaveLength(1);
    expect((ca.match(/cncopreporter \(pid \d+\) is still running: it is run again once it ends/g) ?? []).length + (ca.match(/cncopreporter not run: a report was not delivered earlier in this run/g) ?? []).length).toBe(2);
    // At the end it is let go (it said the server is slow), or, on a slow machine, it had already given up.
    expect(ca).toMatch(/cncopreporter \(pid \d+\) has waited more than 500 ms for an answer from the report server: it finishes its pass on its own|cncopreporter exited with status 75 after .*: a report was not delivered/);
    // The reporter finishes on its own, after cncopagent, and loses nothing.
    await waitFor(() => /INFO cncopreporter finished: 0 sent, .*stopped: /.test(rpLog(tree)), 20_000, "the reporter's end");
    expect(rpLog(tree)).toMatch(/WARN not delivered JF-.* no answer within the time limit/);
    expect(srv.connections()).toBe(1);
    expect(spoolNames(tree)).toHaveLength(3);
  }, 30_000);
});

