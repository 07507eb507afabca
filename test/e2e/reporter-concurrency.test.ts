/**
 * cncopreporter under concurrency: several reporters on one spool, a reporter killed or
 * stopped mid-pass, and the bound on requests in flight. The server holds its answers
 * behind a gate the test opens, so every interleaving here is forced, not hoped for.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { HOUR_MS, networkConfig, putReport, type Received, startReportServer } from "../helpers/report-server.ts";

const scratch = makeScratch();

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

function setup(answer?: (r: Received) => Promise<number>) {
  const server = startReportServer(answer ? { answer } : {});
  scratch.defer(() => server.stop());
  const tree = scratch.tree({ config: networkConfig(server.url) });
  return { server, tree };
}

function spoolFiles(t: Tree): string[] {
  const dir = nodePath.join(t.root, "Spool", "Messages");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".json")).sort() : [];
}
function rpLog(t: Tree): string {
  const dir = nodePath.join(t.root, "Spool", "Logs");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("RP-")).map((n) => readFileSync(nodePath.join(dir, n), "utf8")).join("") : "";
}
function counts(received: readonly Received[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of received) m.set(r.name, (m.get(r.name) ?? 0) + 1);
  return m;
}
function putMany(t: Tree, n: number, jobOf: (i: number) => number = (i) => i): string[] {
  const now = Date.now();
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `JF-${String(i).padStart(3, "0")}.json`;
    putReport(t.root, name, { type: "jobfinished", jobid: jobOf(i), n: i }, (n - i) * 60_000 + HOUR_MS, now);
    names.push(name);
  }
  return names;
}

describe("cncopreporter: two reporters at once", () => {
  test("while one holds the pass, others exit at once; it passes again for reports written meanwhile", async () => {
    const g = gate();
    const { server, tree } = setup(async () => (await g.opened, 200));
    const names = putMany(tree, 12);
    const a = tree.spawn("cncopreporter", []);
    scratch.defer(() => a.kill("SIGKILL"));
    await waitFor(() => server.inFlight >= 1, 20_000, "the first reporter's first request");
    putReport(tree.root, "JF-late.json", { type: "jobfinished", jobid: 99 });
    const [b, c] = await Promise.all([tree.run("cncopreporter", []), tree.run("cncopreporter", [])]);
    for (const r of [b, c]) {
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/another cncopreporter \(pid \d+, since .*\) is running a pass; it sends these reports too/);
    }
    expect(server.received.length).toBeLessThanOrEqual(4);
    g.open();
    expect(await a.exited).toBe(0);
    const seen = counts(server.received);
    expect([...seen.keys()].sort()).toEqual([...names, "JF-late.json"].sort());
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(spoolFiles(tree)).toEqual([]);
    expect(rpLog(tree)).toContain("asked for a pass while this one ran: passing again");
  });

  test("three reporters started together send each report exactly once", async () => {
    const { server, tree } = setup(async () => (await Bun.sleep(2), 200));
    const names = putMany(tree, 60, (i) => i % 9);
    const results = await Promise.all([0, 1, 2].map(() => tree.run("cncopreporter", [])));
    for (const r of results) expect(r.exitCode).toBe(0);
    const seen = counts(server.received);
    expect([...seen.keys()].sort()).toEqual(names);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(spoolFiles(tree)).toEqual([]);
  });

  test("a reporter killed mid-pass strands nothing: the next one takes its lock over at once", async () => {
    const g = gate();
    const { server, tree } = setup(async () => (await g.opened, 200));
    const names = putMany(tree, 10);
    const a = tree.spawn("cncopreporter", []);
    scratch.defer(() => a.kill("SIGKILL"));
    await waitFor(() => server.inFlight >= 1, 20_000, "the first reporter's first request");
    a.kill("SIGKILL");
    await a.exited;
    g.open();
    const b = await tree.run("cncopreporter", []);
    expect(b.exitCode).toBe(0);
    expect(b.stdout).not.toContain("another cncopreporter");
    expect(spoolFiles(tree)).toEqual([]);
    expect(new Set(server.received.map((r) => r.name))).toEqual(new Set(names));
    expect(rpLog(tree)).toMatch(/the reporter lock of pid \d+ .* has ended; taking it over/);
  });

  test("SIGTERM: nothing new is sent, the answers in flight are awaited, exit 143", async () => {
    const g = gate();
    const { server, tree } = setup(async () => (await g.opened, 200));
    putMany(tree, 20);
    const a = tree.spawn("cncopreporter", []);
    scratch.defer(() => a.kill("SIGKILL"));
    // A backlog: 4 requests in flight, all held, so nothing else can be sent before the signal.
    await waitFor(() => server.inFlight >= 4, 20_000, "4 requests in flight");
    a.kill("SIGTERM");
    await waitFor(() => rpLog(tree).includes("SIGTERM received"), 20_000, "the reporter to see SIGTERM");
    g.open();
    expect(await a.exited).toBe(143);
    expect(server.received).toHaveLength(4);
    expect(spoolFiles(tree)).toHaveLength(16);
    expect(rpLog(tree)).toMatch(/finished: 4 sent, .* 16 left in the spool; stopped: interrupted by SIGTERM/);
  });
});

describe("cncopreporter: requests in flight", () => {
  test("at most 4 at once, over reused connections; a backlog drains", async () => {
    const waiting: (() => void)[] = [];
    const releaseAll = () => waiting.splice(0).forEach((r) => r());
    const { server, tree } = setup(async () => {
      const answered = new Promise<void>((r) => waiting.push(r));
      // Release in batches of 4; the timer only frees a short last batch.
      if (waiting.length >= 4) releaseAll();
      const t = setTimeout(releaseAll, 1_000);
      await answered;
      clearTimeout(t);
      return 200;
    });
    const names = putMany(tree, 40);
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.maxInFlight).toBe(4);
    expect(server.received.map((x) => x.name).sort()).toEqual(names);
    expect(server.connections().size).toBeLessThanOrEqual(4);
    expect(spoolFiles(tree)).toEqual([]);
  });

  test("in a backlog too, the reports of one job go one at a time, oldest first", async () => {
    const { server, tree } = setup(async () => (await Bun.sleep(2), 200));
    const names = putMany(tree, 24, () => 7);
    const r = await tree.run("cncopreporter", []);
    expect(r.exitCode).toBe(0);
    expect(server.maxInFlight).toBe(1);
    expect(server.received.map((x) => x.name)).toEqual(names);
    expect(server.connections().size).toBe(1);
  });
});
