/**
 * cncopreporter end to end: the real program against a temporary install tree and a real
 * HTTP server on 127.0.0.1: order and endpoints, headers, each class of answer, expiry,
 * names it must ignore, broken reports, no url, usage.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { DAY_MS, HOUR_MS, networkConfig, putReport, startReportServer } from "../helpers/report-server.ts";

const scratch = makeScratch();

function setup(opts: { server?: Parameters<typeof startReportServer>[0]; url?: string; extra?: string } = {}) {
  const server = startReportServer(opts.server);
  scratch.defer(() => server.stop());
  const tree = scratch.tree({ config: networkConfig(opts.url ?? server.url, opts.extra) });
  return { server, tree };
}

const messagesDir = (t: Tree) => nodePath.join(t.root, "Spool", "Messages");
/** Report-like files left in Spool/Messages/ (not folders). */
function spoolFiles(t: Tree): string[] {
  const dir = messagesDir(t);
  return existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => d.name).sort() : [];
}
function rpLog(t: Tree): string {
  const dir = nodePath.join(t.root, "Spool", "Logs");
  if (!existsSync(dir)) return "";
  return readdirSync(dir).filter((n) => /^RP-\d{8}\.log$/.test(n)).map((n) => readFileSync(nodePath.join(dir, n), "utf8")).join("");
}
const report = (jobid: number | undefined, extra: Record<string, unknown> = {}) => ({ type: "jobfinished", ...(jobid === undefined ? {} : { jobid }), jobtitle: "Docs", ...extra });

describe("cncopreporter: order, endpoints, headers", () => {
  test("every prefix in turn, oldest first, to its endpoint with the bearer key; accepted files are deleted", async () => {
    const { server, tree } = setup({ server: { base: "/api" } });
    tree.writeConfig(networkConfig(`${server.url}/`));
    const now = Date.now();
    // Job 1's reports in every prefix, written in an order unlike the sending order.
    putReport(tree.root, "JF-b.json", report(1, { n: "JF-b" }), 1 * HOUR_MS, now);
    putReport(tree.root, "JF-a.json", report(1, { n: "JF-a", session: "S-a" }), 3 * HOUR_MS, now);
    putReport(tree.root, "JE-x.json", report(1, { n: "JE-x" }), 10 * 60_000, now);
    putReport(tree.root, "JE-w.json", report(1, { n: "JE-w" }), 4 * HOUR_MS, now);
    putReport(tree.root, "JS-y.json", report(1, { n: "JS-y" }), 2 * HOUR_MS, now);
    putReport(tree.root, "VIRUS-v.json", { type: "virus", file: "C:\\eicar.com" }, 5 * HOUR_MS, now);
    // Same time: by name.
    putReport(tree.root, "JF-m2.json", report(1), 30 * 60_000, now);
    putReport(tree.root, "JF-m1.json", report(1), 30 * 60_000, now);
    // Another job's reports: the prefix order holds across jobs.
    putReport(tree.root, "JF-other.json", report(2), 6 * HOUR_MS, now);
    putReport(tree.root, "JS-other.json", report(2), 1 * HOUR_MS, now);
    const files = Object.fromEntries(spoolFiles(tree).map((n) => [n, readFileSync(nodePath.join(messagesDir(tree), n), "utf8")]));

    const r = await tree.run("cncopreporter", ["-c", tree.configFile]);
    expect(r.exitCode).toBe(0);
    const names = server.received.map((x) => x.name);
    // A pass of a few reports goes one at a time: exactly the written order, across jobs.
    expect(names).toEqual(["JE-w.json", "JE-x.json", "JS-y.json", "JS-other.json", "JF-other.json", "JF-a.json", "JF-b.json", "JF-m1.json", "JF-m2.json", "VIRUS-v.json"]);
    expect(server.maxInFlight).toBe(1);
    expect(server.connections().size).toBe(1);
    for (const x of server.received) {
      expect(x.path).toBe(x.name.startsWith("VIRUS-") ? "/api/submit_virus_alerts" : "/api/submit_jobresults");
      expect(x.headers["content-type"]).toBe("application/json");
      expect(x.headers.authorization).toBe("Bearer test-key-123");
      expect(x.body).toBe(files[x.name]!);
    }
    expect(spoolFiles(tree)).toEqual([]);
    const log = rpLog(tree);
    // A JF- names its session (cncopagent reads it: a run's JF- already sent is not written again).
    for (const n of Object.keys(files)) expect(log).toMatch(new RegExp(`sent ${n.replace(/\./g, "\\.")}( \\(jobfinished, session [^)]+\\))? to `));
    expect(log).toMatch(/sent JF-a\.json \(jobfinished, session S-a\) to /);
    expect(log).not.toContain("test-key-123");
    expect(log.trimEnd().split("\n").every((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (INFO|WARN|ERROR|DEBUG) /.test(l))).toBe(true);
    expect(r.stdout).toContain("10 sent, 0 refused, 0 expired, 0 bad, 0 left");
  });

  test("no api_key: no Authorization header; -d logs each request", async () => {
    const { server, tree } = setup();
    tree.writeConfig(`[network]\nurl = ${server.url}\n`);
    putReport(tree.root, "JF-1.json", report(1));
    const r = await tree.run("cncopreporter", ["-d"]);
    expect(r.exitCode).toBe(0);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]!.headers.authorization).toBeUndefined();
    expect(rpLog(tree)).toMatch(/DEBUG POST http:\/\/127\.0\.0\.1:\d+\/submit_jobresults JF-1\.json \(\d+ bytes\): HTTP 200/);
    expect(r.stderr).toContain("JF-1.json");
  });
});

describe("cncopreporter: answers", () => {
  test("2xx accepted and deleted; 4xx (not 408/429) refused and kept, the pass goes on", async () => {
    const { server, tree } = setup();
    const accepted = [200, 201, 202, 204];
    const refused = [400, 401, 403, 404, 409, 410, 413, 422];
    [...accepted, ...refused].forEach((s, i) => putReport(tree.root, `JF-${s}.json`, report(i, { answer: s }), (20 - i) * 60_000));
    putReport(tree.root, "VIRUS-after.json", { type: "virus" });
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.received.map((x) => x.name).sort()).toEqual([...accepted, ...refused].map((s) => `JF-${s}.json`).concat("VIRUS-after.json").sort());
    expect(spoolFiles(tree)).toEqual(refused.map((s) => `JF-${s}.json`).sort());
    const log = rpLog(tree);
    for (const s of refused) expect(log).toContain(`refused JF-${s}.json by `);
    expect(r.stdout).toContain(`${accepted.length + 1} sent, ${refused.length} refused, 0 expired, 0 bad, ${refused.length} left`);
    // Tried again on the next run.
    const again = await tree.run("cncopreporter", []);
    expect(again.exitCode).toBe(0);
    expect(server.received.filter((x) => x.name === "JF-404.json")).toHaveLength(2);
  });

  for (const status of [408, 429, 500, 502, 503, 302]) {
    test(`${status}: not delivered; the pass stops, the file stays and never expires`, async () => {
      const { server, tree } = setup();
      putReport(tree.root, "JE-1.json", report(1, { answer: status }), 30 * DAY_MS);
      putReport(tree.root, "JS-1.json", report(1));
      const r = await tree.run("cncopreporter", []);
      expect(r.exitCode).toBe(0);
      expect(server.received.map((x) => x.name)).toEqual(["JE-1.json"]);
      expect(spoolFiles(tree)).toEqual(["JE-1.json", "JS-1.json"]);
      expect(rpLog(tree)).toContain(`not delivered JE-1.json to ${server.url}/submit_jobresults: HTTP ${status}`);
      expect(r.stdout).toContain("0 sent, 0 refused, 0 expired, 0 bad, 2 left");
    });
  }

  test("no answer within [network] timeout: not delivered, exit 0 soon after the limit", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { server, tree } = setup({ server: { answer: async () => (await gate, 200) } });
    tree.writeConfig(networkConfig(server.url).replace("timeout = 5", "timeout = 1"));
    putReport(tree.root, "JE-1.json", report(1), 30 * DAY_MS);
    putReport(tree.root, "JF-1.json", report(1));
    const started = Date.now();
    const r = await tree.run("cncopreporter", []);
    release();
    expect(r.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(server.received.map((x) => x.name)).toEqual(["JE-1.json"]);
    expect(spoolFiles(tree)).toEqual(["JE-1.json", "JF-1.json"]);
    expect(rpLog(tree)).toContain("not delivered JE-1.json");
    expect(rpLog(tree)).toContain("no answer within the time limit");
  });

  test("connection refused: nothing lost, nothing expires, exit 0", async () => {
    const { server, tree } = setup();
    server.stop();
    putReport(tree.root, "JF-old.json", report(1, { answer: 404 }), 40 * DAY_MS);
    putReport(tree.root, "JS-1.json", report(2));
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(spoolFiles(tree)).toEqual(["JF-old.json", "JS-1.json"]);
    expect(rpLog(tree)).toMatch(/not delivered JS-1\.json to http:\/\/127\.0\.0\.1:\d+\/submit_jobresults: .*(ECONNREFUSED|refused|connect)/i);
  });
});

describe("cncopreporter: expiry", () => {
  test("a refused report expires 5 days after it was written: just before stays, just after is deleted and logged with its content", async () => {
    const { server, tree } = setup();
    putReport(tree.root, "JF-young.json", report(1, { answer: 404, marker: "young-one" }), 5 * DAY_MS - 2 * 60_000);
    putReport(tree.root, "JF-old.json", report(2, { answer: 404, marker: "old-one-content" }), 5 * DAY_MS + 2 * 60_000);
    putReport(tree.root, "JS-undelivered.json", report(3, { answer: 503 }), 9 * DAY_MS);
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    // The JS- stopped the pass before any JF- went: nothing expires on an undelivered pass.
    expect(server.received.map((x) => x.name)).toEqual(["JS-undelivered.json"]);
    expect(spoolFiles(tree)).toEqual(["JF-old.json", "JF-young.json", "JS-undelivered.json"]);

    unlinkSync(nodePath.join(messagesDir(tree), "JS-undelivered.json"));
    const r2 = await tree.run("cncopreporter", []);
    expect(r2.exitCode).toBe(0);
    expect(spoolFiles(tree)).toEqual(["JF-young.json"]);
    const log = rpLog(tree);
    expect(log).toMatch(/WARN expired JF-old\.json: refused by .* written 5 d 0 h ago, more than 5 days: deleted; its content: \{.*"marker":"old-one-content".*\}/);
    expect(log).toContain("refused JF-young.json");
    expect(log).not.toContain("expired JF-young.json");
    expect(r2.stdout).toContain("0 sent, 1 refused, 1 expired, 0 bad, 1 left");
  });
});

describe("cncopreporter: what it never sends", () => {
  test("without [network] url nothing is sent and nothing is lost", async () => {
    const { server, tree } = setup();
    tree.writeConfig("[defaults]\ndays_of_logs = 90\n");
    putReport(tree.root, "JF-1.json", report(1));
    putReport(tree.root, "JE-2.json", "not json at all");
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.received).toHaveLength(0);
    expect(spoolFiles(tree)).toEqual(["JE-2.json", "JF-1.json"]);
    expect(rpLog(tree)).toContain("no [network] url in");
  });

  test("files under other names, folders, links and half-written files are ignored", async () => {
    const { server, tree } = setup();
    const dir = messagesDir(tree);
    putReport(tree.root, "JF-real.json", report(1));
    const others = ["JF-1.json.bak", "notes.txt", "XX-1.json", "jf-lower.json", "JF-1.JSON", "JFX-1.json", "VIRUS.json", ".JF-2.json", ".JF-3.json.tmp"];
    for (const n of others) putReport(tree.root, n, report(1));
    writeFileSync(nodePath.join(dir, ".JF-half.json.tmp"), '{"type": "jobfinished", "jobid": 1, "sta');
    mkdirSync(nodePath.join(dir, "JF-folder.json"));
    symlinkSync(nodePath.join(dir, "notes.txt"), nodePath.join(dir, "JF-link.json"));
    const before = Object.fromEntries(spoolFiles(tree).filter((n) => n !== "JF-real.json").map((n) => [n, readFileSync(nodePath.join(dir, n), "utf8")]));
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.received.map((x) => x.name)).toEqual(["JF-real.json"]);
    const after = Object.fromEntries(spoolFiles(tree).map((n) => [n, readFileSync(nodePath.join(dir, n), "utf8")]));
    expect(after).toEqual(before);
    expect(existsSync(nodePath.join(dir, "bad"))).toBe(false);
  });

  test("a temporary report file left by a writer stopped mid-write is removed once an hour old, never sent", async () => {
    for (const withUrl of [true, false]) {
      const { server, tree } = withUrl ? setup() : { server: undefined, tree: scratch.tree() };
      const dir = messagesDir(tree);
      mkdirSync(dir, { recursive: true });
      const old = new Date(Date.now() - 2 * HOUR_MS);
      const recent = new Date(Date.now() - 10 * 60 * 1000);
      for (const [name, when] of [[".JF-old.json.tmp", old], [".JE-recent.json.tmp", recent], [".notes.tmp", old], ["JF-x.json.tmp", old]] as const) {
        writeFileSync(nodePath.join(dir, name), '{"type": "jobfinished", "jo');
        utimesSync(nodePath.join(dir, name), when, when);
      }
      const r = await tree.run("cncopreporter", []);
      expect(r.exitCode).toBe(0);
      expect(spoolFiles(tree)).toEqual([".JE-recent.json.tmp", ".notes.tmp", "JF-x.json.tmp"]);
      expect(rpLog(tree)).toContain("removed 1 leftover temporary report file(s) of writers stopped mid-write: .JF-old.json.tmp");
      if (server) expect(server.received).toEqual([]);
    }
  });

  test("a report that is not a JSON object is moved to bad/, never sent, never lost", async () => {
    const { server, tree } = setup();
    const dir = messagesDir(tree);
    putReport(tree.root, "JE-broken.json", '{"type": "jobexception", "jobid": 1,');
    putReport(tree.root, "JS-array.json", "[1, 2, 3]");
    putReport(tree.root, "JF-empty.json", "");
    writeFileSync(nodePath.join(dir, "JF-latin1.json"), Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]));
    putReport(tree.root, "JF-good.json", report(1));
    mkdirSync(nodePath.join(dir, "bad"));
    writeFileSync(nodePath.join(dir, "bad", "JE-broken.json"), "an earlier one");
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.received.map((x) => x.name)).toEqual(["JF-good.json"]);
    expect(spoolFiles(tree)).toEqual([]);
    expect(readdirSync(nodePath.join(dir, "bad")).sort()).toEqual(["JE-broken.json", "JE-broken.json.1", "JF-empty.json", "JF-latin1.json", "JS-array.json"]);
    expect(readFileSync(nodePath.join(dir, "bad", "JE-broken.json.1"), "utf8")).toBe('{"type": "jobexception", "jobid": 1,');
    expect(readFileSync(nodePath.join(dir, "bad", "JE-broken.json"), "utf8")).toBe("an earlier one");
    const log = rpLog(tree);
    expect(log).toMatch(/ERROR bad report JE-broken\.json: not valid JSON .*moved to .*bad\/JE-broken\.json\.1/);
    expect(log).toContain("bad report JS-array.json");
    expect(log).toContain("bad report JF-latin1.json: the file is not UTF-8 text");
    expect(r.stdout).toContain("1 sent, 0 refused, 0 expired, 4 bad, 0 left");
  });
});

describe("cncopreporter: usage", () => {
  test("-? prints the usage; unknown options and arguments are usage errors (exit 2)", async () => {
    const tree = scratch.tree();
    const help = await tree.run("cncopreporter", ["-?"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("usage: cncopreporter [-?] [-d] [-c CONFIG]");
    for (const args of [["-x"], ["extra"], ["-c"]]) {
      const r = await tree.run("cncopreporter", args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain("usage: cncopreporter");
    }
    tree.writeConfig('[network]\nurl = http://127.0.0.1:9\napi_key = "key with spaces"\n');
    const badKey = await tree.run("cncopreporter", []);
    expect(badKey.exitCode).toBe(2);
    expect(badKey.stderr).toContain("[network] api_key holds spaces");
    expect(badKey.stderr).not.toContain("key with spaces");
    const missing = await tree.run("cncopreporter", ["-c", nodePath.join(tree.root, "Config", "nope.ini")]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain("nope.ini");
  });

  test("data in its messages is shown escaped: a warning, an error with its usage line", async () => {
    const tree = scratch.tree();
    const odd = nodePath.join(tree.root, "Config", "odd\x1b[2J.ini");
    writeFileSync(odd, "[network]\nbogus = 1\n");
    const warned = await tree.run("cncopreporter", ["-c", odd]);
    expect(warned.exitCode).toBe(0);
    expect(warned.stderr).toContain(`cncopreporter: warning: ${nodePath.join(tree.root, "Config")}/odd\\x1b[2J.ini: unknown key [network] bogus ignored`);
    expect(warned.stderr).not.toContain("\x1b");
    const usage = await tree.run("cncopreporter", ["ex\x1b]0;t\x07tra"]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toStartWith('cncopreporter: unexpected argument "ex\\x1b]0;t\\x07tra"\nusage: cncopreporter [-?] [-d] [-c CONFIG]\n');
  });
});
