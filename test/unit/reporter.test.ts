/** Unit tests of cncopreporter's pure parts, its pass with a scripted transport, and its lock. */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { parseConfigText } from "../../src/install/config.ts";
import type { LineLog } from "../../src/logs/log-file.ts";
import { makePaths, reporterLockFiles } from "../../src/install/paths.ts";
import { parseReporterArgs } from "../../src/programs/cncopreporter.ts";
import { describeResult, formatAge, isReportExpired, REPORT_KEEP_MS, type SendResult, verdictOfStatus } from "../../src/reporter/answer.ts";
import { reporterCommand, reporterTimeLimitMs, type CommandInputs } from "../../src/reporter/invoke.ts";
import { ReporterCalls } from "../../src/reporter/run-calls.ts";
import { acquirePassLock, passWanted, reporterAlive, requestPass } from "../../src/reporter/pass-lock.ts";
import { bootId, identify } from "../../src/process/proc-info.ts";
import { runPass } from "../../src/reporter/pass.ts";
import { orderKey, parseReport } from "../../src/reporter/report-file.ts";
import { echoOn, levelled } from "../../src/reporter/reporter-log.ts";
import { createMessages } from "../../src/format/messages.ts";
import { endpointUrl, orderReports, prefixOf } from "../../src/reporter/spool-scan.ts";
import { headerSafe, requestHeaders, type Transport } from "../../src/reporter/transport.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-rp-unit-"));
  dirs.push(d);
  return d;
}

function memoryLog(): LineLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    path: "",
    lines,
    line: (t) => void lines.push(t),
    sink: (tag) => {
      let n = 0;
      return { write: (c: Uint8Array) => void ((n += c.length), lines.push(`${tag} ${new TextDecoder().decode(c).trimEnd()}`)), end() {}, get bytes() { return n; }, tail: () => [] };
    },
    close() {},
  };
}

/** The suite's messages, stderr collected. */
const echoInto = (lines: string[]) => createMessages({ stderr: { write: (t: string) => lines.push(t) }, paintFor: () => (_style, text) => text });

describe("the RP log (docs/log-formats.md, cncopreporter)", () => {
  const pass = (debugging: boolean) => {
    const file = memoryLog();
    const echoed: string[] = [];
    const log = levelled(file, debugging, echoOn(echoInto(echoed)));
    log.info("cncopreporter 1.0 started: pid 1");
    log.info("sent JF-1.json");
    log.warn("slow answer");
    log.error("refused JE-2.json: HTTP 400");
    log.error("shown by the caller", false);
    log.debug("a detail");
    return { lines: file.lines, echoed };
  };
  test("levels, and errors alone on stderr", () => {
    const r = pass(false);
    expect(r.lines).toEqual(["INFO cncopreporter 1.0 started: pid 1", "INFO sent JF-1.json", "WARN slow answer", "ERROR refused JE-2.json: HTTP 400", "ERROR shown by the caller"]);
    expect(r.echoed).toEqual(["cncopreporter: error: refused JE-2.json: HTTP 400\n"]);
  });
  test("-d: DEBUG lines, and every line on stderr", () => {
    const r = pass(true);
    expect(r.lines.at(-1)).toBe("DEBUG a detail");
    expect(r.echoed).toEqual([
      "cncopreporter 1.0 started: pid 1\n",
      "cncopreporter: sent JF-1.json\n",
      "cncopreporter: warn: slow answer\n",
      "cncopreporter: error: refused JE-2.json: HTTP 400\n",
      "cncopreporter: debug: a detail\n",
    ]);
  });
  test.each([
    ["INFO", "sent JF-1.json", "cncopreporter: sent JF-1.json\n"],
    ["ERROR", "bad report x\n\x1b[2J.json", "cncopreporter: error: bad report x\\n\\x1b[2J.json\n"],
    ["INFO", "cncopreporter finished: 1 sent", "cncopreporter finished: 1 sent\n"],
  ] as const)("echo of %s %p", (level, text, shown) => {
    const echoed: string[] = [];
    echoOn(echoInto(echoed))(level, text);
    expect(echoed).toEqual([shown]);
  });
});

describe("report names and order", () => {
  test.each([
    ["JE-1.json", "JE-"],
    ["JS-20260101T000000Z-abc.json", "JS-"],
    ["JF-x.y.json", "JF-"],
    ["VIRUS-eicar.json", "VIRUS-"],
    ["JF-.json", undefined],
    [".JF-1.json", undefined],
    [".JF-1.json.tmp", undefined],
    ["JF-1.json.tmp", undefined],
    ["jf-1.json", undefined],
    ["JF-1.JSON", undefined],
    ["JX-1.json", undefined],
    ["VIRUS.json", undefined],
    ["notes.txt", undefined],
  ])("%s -> %s", (name, prefix) => {
    expect(prefixOf(name)).toBe(prefix as ReturnType<typeof prefixOf>);
  });

  test("JE, JS, JF, VIRUS; oldest first; ties by name", () => {
    const e = (name: string, mtimeMs: number) => ({ name, prefix: prefixOf(name)!, mtimeMs });
    const got = orderReports([e("VIRUS-a.json", 1), e("JF-b.json", 5), e("JF-a.json", 5), e("JF-c.json", 2), e("JS-a.json", 9), e("JE-z.json", 8), e("JE-y.json", 3)]);
    expect(got.map((x) => x.name)).toEqual(["JE-y.json", "JE-z.json", "JS-a.json", "JF-c.json", "JF-a.json", "JF-b.json", "VIRUS-a.json"]);
  });

  test.each([
    ["https://r.example.com/api", "JE-", "https://r.example.com/api/submit_jobresults"],
    ["https://r.example.com/api/", "JS-", "https://r.example.com/api/submit_jobresults"],
    ["http://10.0.0.1:8080", "JF-", "http://10.0.0.1:8080/submit_jobresults"],
    ["http://10.0.0.1:8080", "VIRUS-", "http://10.0.0.1:8080/submit_virus_alerts"],
  ] as const)("endpoint of %s for %s", (url, prefix, want) => {
    expect(endpointUrl(url, prefix)).toBe(want);
  });
});

describe("answers", () => {
  test.each([
    [200, "accepted"], [201, "accepted"], [204, "accepted"], [299, "accepted"],
    [400, "refused"], [401, "refused"], [403, "refused"], [404, "refused"], [413, "refused"], [499, "refused"],
    [408, "undelivered"], [429, "undelivered"], [500, "undelivered"], [503, "undelivered"], [599, "undelivered"],
    [100, "undelivered"], [301, "undelivered"], [302, "undelivered"], [304, "undelivered"], [600, "undelivered"],
  ] as const)("HTTP %d is %s", (status, verdict) => {
    expect(verdictOfStatus(status)).toBe(verdict);
  });

  test.each([
    [0, false],
    [REPORT_KEEP_MS - 1, false],
    [REPORT_KEEP_MS, true],
    [REPORT_KEEP_MS + 1, true],
    [-60_000, false],
  ])("written %d ms ago: expired %p", (age, want) => {
    const now = 1_800_000_000_000;
    expect(isReportExpired(now - age, now)).toBe(want);
  });

  test("descriptions", () => {
    const answer = (status: number, body: string): SendResult => ({ kind: "answer", status, statusText: "Not Found", body, ms: 3 });
    expect(describeResult(answer(404, "no such\n  device"))).toBe("HTTP 404 Not Found: no such device");
    expect(describeResult(answer(404, "x".repeat(400)))).toBe(`HTTP 404 Not Found: ${"x".repeat(300)}...`);
    expect(describeResult({ kind: "error", message: "The operation timed out.", code: "23", timedOut: true, ms: 1000.4 })).toBe("no answer within the time limit (1000 ms)");
    expect(describeResult({ kind: "error", message: "getaddrinfo failed", code: "ENOTFOUND", timedOut: false, ms: 1 })).toBe("ENOTFOUND: getaddrinfo failed");
    expect(formatAge(5 * 24 * 3600_000 + 2 * 60_000)).toBe("5 d 0 h");
    expect(formatAge(2 * 3600_000 + 5 * 60_000)).toBe("2 h 5 min");
  });
});

describe("report files", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  test.each([
    ["object", enc('{"a":1}'), "ok"],
    ["BOM then object", new Uint8Array([0xef, 0xbb, 0xbf, ...enc('{"a":1}')]), "ok"],
    ["empty", enc(""), "bad"],
    ["truncated", enc('{"a":'), "bad"],
    ["array", enc("[1]"), "bad"],
    ["null", enc("null"), "bad"],
    ["string", enc('"x"'), "bad"],
    ["latin-1", new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]), "bad"],
  ])("%s", (_what, bytes, kind) => {
    const r = parseReport(bytes);
    expect(r.kind).toBe(kind as "ok" | "bad");
    if (r.kind === "ok") expect(new TextDecoder().decode(r.body as Uint8Array)).toBe('{"a":1}');
  });

  test.each([
    [{ jobid: 7 }, "job:7"],
    [{ jobid: "7" }, "job:7"],
    [{ jobid: "" }, "other"],
    [{ type: "virus" }, "other"],
    [{ jobid: null }, "other"],
  ])("order key of %j", (report, key) => {
    expect(orderKey(report)).toBe(key);
  });

  test("headers", () => {
    expect(requestHeaders("k1", "JF-a.json", "cncopreporter/1")).toEqual({
      "Content-Type": "application/json",
      Accept: "application/json",
      "User-Agent": "cncopreporter/1",
      "Idempotency-Key": "JF-a.json",
      Authorization: "Bearer k1",
    });
    expect(requestHeaders(undefined, "JF-a.json", "u").Authorization).toBeUndefined();
    expect(headerSafe("JF-Zürich.json")).toBe("JF-Z%C3%BCrich.json");
  });
});

describe("program arguments", () => {
  test.each([
    [[], { help: false, version: false, debug: false, config: undefined }],
    [["-d", "-c", "x.ini"], { help: false, version: false, debug: true, config: "x.ini" }],
    [["-?"], { help: true, version: false, debug: false, config: undefined }],
    [["--config=y.ini"], { help: false, version: false, debug: false, config: "y.ini" }],
  ])("%j", (args, want) => {
    expect(parseReporterArgs(args)).toEqual(want);
  });
  test.each([[["-x"]], [["job"]], [["-c"]], [["-c", ""]]])("%j is a usage error", (args) => {
    expect(() => parseReporterArgs(args)).toThrow("usage: cncopreporter");
  });
});

describe("invoking the reporter", () => {
  const paths = makePaths("/opt/cncop", "/opt/cncop/Config/cncop3.ini", "/", nodePath.posix);
  const inputs = (o: Partial<CommandInputs>): CommandInputs => ({
    compiled: false,
    execPath: "/usr/bin/bun",
    cliPath: "/src/cli.ts",
    platform: "linux",
    env: { PATH: "/bin", CNCOP_PROGRAM: "cncopagent" },
    isFile: () => false,
    ...o,
  });

  test("from source: bun src/cli.ts cncopreporter -c <config>", () => {
    const c = reporterCommand(paths, false, inputs({}));
    expect(c.argv).toEqual(["/usr/bin/bun", "/src/cli.ts", "cncopreporter", "-c", "/opt/cncop/Config/cncop3.ini"]);
    expect(c.env.CNCOP_HOME).toBe("/opt/cncop");
    expect(c.env.CNCOP_PROGRAM).toBeUndefined();
    expect(c.env.PATH).toBe("/bin");
  });
  test("compiled: Bin/cncopreporter when present, with -d under -d", () => {
    const c = reporterCommand(paths, true, inputs({ compiled: true, execPath: "/opt/cncop/Bin/cncopagent", isFile: (p) => p === "/opt/cncop/Bin/cncopreporter" }));
    expect(c.argv).toEqual(["/opt/cncop/Bin/cncopreporter", "-d", "-c", "/opt/cncop/Config/cncop3.ini"]);
  });
  test("compiled without the link: the same executable under the reporter's name", () => {
    const c = reporterCommand(paths, false, inputs({ compiled: true, execPath: "/opt/cncop/Bin/cncopagent" }));
    expect(c.argv).toEqual(["/opt/cncop/Bin/cncopagent", "-c", "/opt/cncop/Config/cncop3.ini"]);
    expect(c.env.CNCOP_PROGRAM).toBe("cncopreporter");
  });
  test("time limit follows [network] timeout", () => {
    expect(reporterTimeLimitMs(parseConfigText("[network]\nurl = http://x\ntimeout = 10\n", "c.ini"))).toBe(80_000);
  });

  test("no url: nothing is started", async () => {
    const log = memoryLog();
    const config = parseConfigText("[defaults]\n", "c.ini");
    const calls = new ReporterCalls({ paths, config, log, debug: false }, { run: () => Promise.reject(new Error("must not run")) });
    calls.call();
    await calls.finish();
    expect(log.lines).toEqual([`cncopreporter not run: no [network] url in c.ini; the reports stay in ${paths.messages}`]);
  });

  test("a reporter that overruns its time limit is stopped and the outcome logged", async () => {
    const root = tempDir();
    const p = makePaths(root, undefined, root);
    const log = memoryLog();
    const config = parseConfigText("[network]\nurl = http://127.0.0.1:9\n", "c.ini");
    const started = Date.now();
    const calls = new ReporterCalls({ paths: p, config, log, debug: false }, { command: { argv: ["/bin/sh", "-c", "echo waiting; exec sleep 30"], env: process.env }, timeLimitMs: 300 });
    calls.call();
    await calls.finish();
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(log.lines).toContain("[cncopreporter stdout] waiting");
    expect(log.lines.at(-1)).toMatch(/^cncopreporter was stopped after the time limit of 300 ms/);
  });
});

describe("a pass with a scripted transport", () => {
  function spool(n: number, jobOf: (i: number) => number | undefined): string {
    const dir = tempDir();
    for (let i = 0; i < n; i++) {
      const p = nodePath.join(dir, `JF-${String(i).padStart(3, "0")}.json`);
      const jobid = jobOf(i);
      writeFileSync(p, JSON.stringify(jobid === undefined ? { i } : { i, jobid }));
      const t = new Date(Date.now() - (n - i) * 1000);
      utimesSync(p, t, t);
    }
    return dir;
  }
  /** Answers on demand: each request waits until the test answers it. */
  function scripted() {
    const pending: { name: string; answer: (r: SendResult) => void }[] = [];
    let max = 0;
    const transport: Transport = {
      send: (_url, _body, name) =>
        new Promise<SendResult>((resolve) => {
          pending.push({ name, answer: resolve });
          max = Math.max(max, pending.length);
        }),
    };
    const ok = (status: number): SendResult => ({ kind: "answer", status, statusText: "", body: "", ms: 1 });
    const tick = () => new Promise((r) => setTimeout(r, 0));
    /** The oldest request waiting for its answer (polled, with a deadline). */
    const next = async () => {
      const until = Date.now() + 10_000;
      while (pending.length === 0) {
        if (Date.now() > until) throw new Error("no request came");
        await tick();
      }
      return pending.shift()!;
    };
    /** Wait until exactly `n` requests wait for their answers (polled, with a deadline). */
    const waitPending = async (n: number) => {
      const until = Date.now() + 10_000;
      while (pending.length < n) {
        if (Date.now() > until) throw new Error(`${pending.length} request(s) waiting, expected ${n}`);
        await tick();
      }
      expect(pending.length).toBe(n);
    };
    return { transport, pending, ok, tick, next, waitPending, max: () => max };
  }
  const log = () => levelled(memoryLog(), false, () => {});

  test("never more than the bound in flight; one job's reports one at a time", async () => {
    const dir = spool(12, (i) => (i < 6 ? i : 100));
    const s = scripted();
    const pass = runPass({ messagesDir: dir, badDir: nodePath.join(dir, "bad"), baseUrl: "http://x", transport: s.transport, log: log(), inFlight: 4, sequentialUpTo: 0 });
    const names = (...n: number[]) => n.map((i) => `JF-${String(i).padStart(3, "0")}.json`);
    const answerAll = () => s.pending.splice(0).forEach((p) => p.answer(s.ok(200)));
    // Four jobs' reports fill the window without any answer.
    await s.waitPending(4);
    expect(s.pending.map((p) => p.name)).toEqual(names(0, 1, 2, 3));
    answerAll();
    // Two more jobs, and the first of job 100: its next report waits for that one's answer.
    await s.waitPending(3);
    expect(s.pending.map((p) => p.name)).toEqual(names(4, 5, 6));
    answerAll();
    for (const i of [7, 8, 9, 10, 11]) {
      await s.waitPending(1);
      expect(s.pending.map((p) => p.name)).toEqual(names(i));
      answerAll();
    }
    const r = await pass;
    expect(s.max()).toBe(4);
    expect(r.sent).toBe(12);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a prefix of a few reports goes strictly one at a time, whatever the jobs", async () => {
    const dir = spool(16, (i) => i);
    const s = scripted();
    const pass = runPass({ messagesDir: dir, badDir: nodePath.join(dir, "bad"), baseUrl: "http://x", transport: s.transport, log: log() });
    const order: string[] = [];
    while (order.length < 16) {
      const next = await s.next();
      order.push(next.name);
      next.answer(s.ok(200));
    }
    await pass;
    expect(s.max()).toBe(1);
    expect(order).toEqual(Array.from({ length: 16 }, (_, i) => `JF-${String(i).padStart(3, "0")}.json`));
  });

  test("every report of a prefix is answered before the next prefix is sent, across jobs", async () => {
    const dir = tempDir();
    const now = Date.now();
    for (const [name, jobid, ageS] of [["JE-a.json", 1, 5], ["JS-b.json", 2, 9], ["JF-c.json", 3, 9], ["VIRUS-d.json", undefined, 9]] as const) {
      writeFileSync(nodePath.join(dir, name), JSON.stringify({ jobid }));
      utimesSync(nodePath.join(dir, name), new Date(now - ageS * 1000), new Date(now - ageS * 1000));
    }
    const events: string[] = [];
    const waiting: (() => void)[] = [];
    const transport: Transport = {
      send: (_url, _body, name) =>
        new Promise<SendResult>((resolve) => {
          events.push(`send ${name}`);
          const answer = () => (events.push(`answer ${name}`), resolve({ kind: "answer", status: 200, statusText: "", body: "", ms: 1 }));
          // Held until another request comes (which the barrier forbids) or 300 ms pass.
          waiting.push(answer);
          if (waiting.length > 1) waiting.splice(0).forEach((a) => a());
          else setTimeout(() => waiting.splice(0).forEach((a) => a()), 300);
        }),
    };
    const r = await runPass({ messagesDir: dir, badDir: nodePath.join(dir, "bad"), baseUrl: "http://x", transport, log: log(), inFlight: 4, sequentialUpTo: 0 });
    expect(r.sent).toBe(4);
    expect(events).toEqual(["send JE-a.json", "answer JE-a.json", "send JS-b.json", "answer JS-b.json", "send JF-c.json", "answer JF-c.json", "send VIRUS-d.json", "answer VIRUS-d.json"]);
  });

  test("after a 'not delivered' answer nothing new is sent; answers in flight still count", async () => {
    const dir = spool(10, (i) => i);
    const s = scripted();
    const pass = runPass({ messagesDir: dir, badDir: nodePath.join(dir, "bad"), baseUrl: "http://x", transport: s.transport, log: log(), inFlight: 3, sequentialUpTo: 0 });
    while (s.pending.length < 3) await s.tick();
    s.pending.shift()!.answer(s.ok(503));
    s.pending.shift()!.answer(s.ok(200));
    s.pending.shift()!.answer(s.ok(404));
    const r = await pass;
    expect(s.pending).toHaveLength(0);
    expect(r).toMatchObject({ found: 10, sent: 1, refused: ["JF-002.json"], expired: 0, bad: 0, left: 9 });
    expect(r.stoppedBy).toContain("JF-000.json was not delivered");
    expect(readdirSync(dir)).toHaveLength(9);
  });

  test("a stop signal: nothing new, the answers in flight are awaited", async () => {
    const dir = spool(6, (i) => i);
    const s = scripted();
    const stop = new AbortController();
    const pass = runPass({ messagesDir: dir, badDir: nodePath.join(dir, "bad"), baseUrl: "http://x", transport: s.transport, log: log(), inFlight: 2, sequentialUpTo: 0, stop: stop.signal });
    while (s.pending.length < 2) await s.tick();
    stop.abort("SIGTERM");
    for (const p of s.pending.splice(0)) p.answer(s.ok(200));
    const r = await pass;
    expect(r).toMatchObject({ sent: 2, left: 4, interrupted: true, stoppedBy: "interrupted by SIGTERM" });
  });
});

describe("the pass lock", () => {
  test("held by one; a second attempt is busy at once; released, it can be taken again", () => {
    const files = reporterLockFiles(tempDir());
    const a = acquirePassLock(files);
    expect("held" in a).toBe(true);
    const b = acquirePassLock(files);
    expect("busy" in b && b.busy?.process.pid).toBe(process.pid);
    if ("held" in a) a.held.release();
    const c = acquirePassLock(files);
    expect("held" in c).toBe(true);
    if ("held" in c) c.held.release();
  });

  test("a record left by a dead process is taken over; the wanted marker is consumed", () => {
    const files = reporterLockFiles(tempDir());
    const dead = Bun.spawnSync(["/bin/sh", "-c", "echo $$"]).stdout.toString().trim();
    requestPass(files);
    writeFileSync(files.record, JSON.stringify({ version: 1, process: { pid: Number(dead), start: "1" }, hostname: os.hostname(), bootId: "x", started: "then", token: "t" }));
    const notes: string[] = [];
    const r = acquirePassLock(files, (t) => notes.push(t));
    expect("held" in r).toBe(true);
    expect(notes[0]).toContain(`pid ${dead}`);
    expect(passWanted(files)).toBe(false);
    if ("held" in r) r.held.release();
  });

  test("a record naming this process's pid (left by an earlier reporter that had it) is taken over at once", () => {
    const files = reporterLockFiles(tempDir());
    const first = acquirePassLock(files); // creates the folder
    if ("held" in first) first.held.release();
    const me = identify(process.pid)!;
    for (const start of [me.start, "1"]) {
      writeFileSync(files.record, JSON.stringify({ version: 1, process: { pid: process.pid, start }, hostname: os.hostname(), bootId: bootId(), started: "then", token: "earlier" }));
      const r = acquirePassLock(files);
      expect("held" in r).toBe(true);
      if ("held" in r) r.held.release();
    }
  });

  test("a record whose pid was reused by a live process of another start time is taken over", () => {
    const files = reporterLockFiles(tempDir());
    const first = acquirePassLock(files);
    if ("held" in first) first.held.release();
    const init = identify(1);
    if (!init) return;
    writeFileSync(files.record, JSON.stringify({ version: 1, process: { pid: 1, start: String(BigInt(init.start!) + 1n) }, hostname: os.hostname(), bootId: bootId(), started: "then", token: "old" }));
    const r = acquirePassLock(files);
    expect("held" in r).toBe(true);
    if ("held" in r) r.held.release();
  });

  test("reporterAlive: by identity, never this process unless it holds the lock", () => {
    const o = { version: 1 as const, process: { pid: 50, start: "9" }, hostname: "h", bootId: "b", started: "then", token: "t-x" };
    const alive = (p: { pid: number }) => p.pid === 50;
    expect(reporterAlive(o, "h", "b", alive, 4242)).toBe(true);
    expect(reporterAlive(o, "h", "b", alive, 50)).toBe(false);
    expect(reporterAlive(o, "h", "b2", alive, 4242)).toBe(false);
    expect(reporterAlive(o, "h2", "b", alive, 4242)).toBe(false);
  });

  test("a fresh unreadable record counts as held (its writer may be mid-way)", () => {
    const files = reporterLockFiles(tempDir());
    acquirePassLock(files); // creates the folder
    writeFileSync(files.record, "{");
    const r = acquirePassLock(files);
    expect(r).toEqual({ busy: undefined });
  });
});
