/**
 * Log retention end to end (SPEC §5 "Pruning", §3 days_of_logs): cncopagent runs a fake
 * agent, then prunes; files are aged with utimes, never by faking the clock.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, linkSync, lstatSync, lutimesSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { localDateStamp } from "../../src/format/time.ts";
import { BUN, waitFor, type Tree } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";

const DAY_MS = 86_400_000;
const OLD_MS = 100 * DAY_MS;
const scratch = makeScratch();

/** A tree whose one job "logs" runs the fake agent `testagent` (exit 0). */
function agentTree(defaults = "days_of_logs = 90", agentBody = "exit 0"): Tree {
  const tree = scratch.tree({ config: `[defaults]\n${defaults}\n[agents]\nTESTLOG = testagent\n` });
  tree.script("testagent", agentBody);
  tree.addJob({ jobtitle: "logs", jobtype: "TESTLOG" });
  return tree;
}

function ageBy(path: string, ageMs: number): void {
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
}

/** Write `rel` under the root with `content`, last modified `ageMs` ago. */
function put(tree: Tree, rel: string, ageMs: number, content = "line\n"): string {
  const p = nodePath.join(tree.root, rel);
  mkdirSync(nodePath.dirname(p), { recursive: true });
  writeFileSync(p, content);
  ageBy(p, ageMs);
  return p;
}

const at = (tree: Tree, rel: string) => nodePath.join(tree.root, rel);
const prunedLine = (text: string) => text.split("\n").find((l) => / pruned \d+ log file\(s\)/.test(l));

function summary(text: string): { deleted: number; bytes: number } {
  const line = prunedLine(text);
  const m = line?.match(/pruned (\d+) log file\(s\) older than .*\): (\d+) bytes( \(.*\))? freed in /);
  if (!m) throw new Error(`no pruning summary in the CA log:\n${text}`);
  return { deleted: Number(m[1]), bytes: Number(m[2]) };
}

/** Run cncopagent; `log` is the CA log of this invocation (the tests plant other CA- names). */
async function runAgent(tree: Tree, args: string[] = ["logs"]) {
  const before = new Set(tree.caLogs());
  const r = await tree.run("cncopagent", args);
  const mine = tree.caLogs().filter((n) => !before.has(n) && statSync(at(tree, `Logs/${n}`)).isFile());
  if (mine.length !== 1) throw new Error(`expected one new CA log, found ${JSON.stringify(mine)}; stderr: ${r.stderr}`);
  return { ...r, log: readFileSync(at(tree, `Logs/${mine[0]}`), "utf8") };
}

const windows = process.platform === "win32";

describe("which files are pruned", () => {
  test("each name pattern, in Spool/Logs and Logs only, regular files only", async () => {
    const tree = agentTree();
    const spoolPruned = ["RSYNC-20250101.log", "RSYNC-20250101.log.1", "RSYNC-20250101.log.27", "RSYNC-20250101.log.gz", "CAD-20250101.log", "CA-25-01-01_1200.log", "name with spaces.log", "x.log.0", ".log"];
    const spoolKept = ["RSYNC-20250101.log.", "RSYNC-20250101.log.1a", "RSYNC-20250101.log.-1", "RSYNC-20250101.log.1.gz", "RSYNC-20250101.log.gz.1", "RSYNC-20250101.log.tmp", "RSYNC-20250101.logs", "RSYNC-20250101.txt", "RSYNC-20250101.log~", "RSYNC-20250101.gz", "log", "JF-1.json"];
    const caseOnly = ["RSYNC.LOG", "RSYNC.Log.GZ"]; // pruned only where names ignore case
    const logsPruned = ["CA-25-01-01_1200.log", "CA-25-01-01_1200-001.log", "CA-anything.log", "CA-.log"];
    const logsKept = ["CA-25-01-01_1200.log.1", "CA-25-01-01_1200.log.gz", "CAD-20250101.log", "other.log", "xCA-1.log", "CA-1.txt", "RSYNC-20250101.log"];
    const logsCaseOnly = ["ca-25-01-01_1200.log"];
    const elsewhere = ["old.log", "Spool/old.log", "Spool/Messages/old.log", "Spool/Work/old.log", "Config/old.log", "Spool/Logs/sub/old.log", "Spool/Logs/sub/CA-1.log", "Logs/sub/CA-1.log"];

    let expectBytes = 0;
    let expectCount = 0;
    const prunedRel: string[] = [];
    const keptRel: string[] = [...elsewhere];
    let size = 10;
    const add = (rel: string, pruned: boolean) => {
      put(tree, rel, OLD_MS, "x".repeat(++size));
      if (pruned) {
        prunedRel.push(rel);
        expectBytes += size;
        expectCount++;
      } else keptRel.push(rel);
    };
    for (const n of spoolPruned) add(`Spool/Logs/${n}`, true);
    for (const n of spoolKept) add(`Spool/Logs/${n}`, false);
    for (const n of caseOnly) add(`Spool/Logs/${n}`, windows);
    for (const n of logsPruned) add(`Logs/${n}`, true);
    for (const n of logsKept) add(`Logs/${n}`, false);
    for (const n of logsCaseOnly) add(`Logs/${n}`, windows);
    for (const rel of elsewhere) put(tree, rel, OLD_MS);
    // Folders with matching names, aged: never removed, nor what they hold.
    for (const rel of ["Spool/Logs/folder.log", "Spool/Logs/folder.log.1", "Logs/CA-folder.log"]) {
      mkdirSync(at(tree, rel));
      put(tree, `${rel}/inner.log`, OLD_MS);
      ageBy(at(tree, rel), OLD_MS);
    }

    const r = await runAgent(tree);
    expect(r.exitCode).toBe(0);
    for (const rel of prunedRel) expect({ rel, exists: existsSync(at(tree, rel)) }).toEqual({ rel, exists: false });
    for (const rel of keptRel) expect({ rel, exists: existsSync(at(tree, rel)) }).toEqual({ rel, exists: true });
    for (const rel of ["Spool/Logs/folder.log", "Spool/Logs/folder.log.1", "Logs/CA-folder.log"]) {
      expect(statSync(at(tree, rel)).isDirectory()).toBe(true);
      expect(existsSync(at(tree, `${rel}/inner.log`))).toBe(true);
    }
    expect(summary(r.log)).toEqual({ deleted: expectCount, bytes: expectBytes });
    expect(r.log).not.toContain("warning: log pruning");
  });

  for (const days of [1, 90]) {
    test(`ages around the boundary, days_of_logs = ${days}`, async () => {
      const tree = agentTree(`days_of_logs = ${days}`);
      // Two minutes either side of the boundary: cncopagent prunes well within that.
      const ages: [string, number, boolean][] = [
        ["young", days * DAY_MS - DAY_MS / 2, false],
        ["under", days * DAY_MS - 120_000, false],
        ["over", days * DAY_MS + 120_000, true],
        ["older", days * DAY_MS + DAY_MS, true],
      ];
      const patterns = ["Spool/Logs/AG-%.log", "Spool/Logs/AG-%.log.2", "Spool/Logs/AG-%.log.gz", "Logs/CA-%.log"];
      const expected: Record<string, boolean> = {};
      for (const pattern of patterns) {
        for (const [label, age, gone] of ages) {
          const rel = pattern.replace("%", label);
          put(tree, rel, age);
          expected[rel] = gone;
        }
      }
      const r = await runAgent(tree);
      expect(r.exitCode).toBe(0);
      const actual = Object.fromEntries(Object.keys(expected).map((rel) => [rel, !existsSync(at(tree, rel))]));
      expect(actual).toEqual(expected);
      expect(summary(r.log).deleted).toBe(patterns.length * 2);
      expect(prunedLine(r.log)).toContain(`older than ${days} ${days === 1 ? "day" : "days"} (modified before `);
    });
  }

  test("the default is 90 days", async () => {
    const tree = agentTree("role = LOCAL");
    put(tree, "Spool/Logs/A-89.log", 89 * DAY_MS);
    put(tree, "Spool/Logs/A-91.log", 91 * DAY_MS);
    const r = await runAgent(tree);
    expect(r.exitCode).toBe(0);
    expect(existsSync(at(tree, "Spool/Logs/A-89.log"))).toBe(true);
    expect(existsSync(at(tree, "Spool/Logs/A-91.log"))).toBe(false);
    expect(prunedLine(r.log)).toContain("older than 90 days");
  });
});

describe("links", () => {
  test("symbolic links are never removed or followed; a hard link's other name survives", async () => {
    const tree = agentTree();
    const outside = nodePath.join(tree.root, "outside");
    const target = put(tree, "outside/target.log", OLD_MS, "precious\n");
    const caTarget = put(tree, "outside/CA-target.log", OLD_MS, "precious CA\n");
    const hardTarget = put(tree, "outside/hard-target.log", OLD_MS, "hard\n");
    mkdirSync(nodePath.join(outside, "dir"));
    put(tree, "outside/dir/inner.log", OLD_MS);
    const spool = at(tree, "Spool/Logs");
    const logs = at(tree, "Logs");
    mkdirSync(spool, { recursive: true });
    mkdirSync(logs, { recursive: true });
    const links: [string, string][] = [
      [nodePath.join(spool, "link-to-old.log"), target],
      [nodePath.join(spool, "link-to-old.log.1"), target],
      [nodePath.join(spool, "dirlink.log"), nodePath.join(outside, "dir")],
      [nodePath.join(spool, "dangling.log.gz"), nodePath.join(outside, "missing.log")],
      [nodePath.join(logs, "CA-link.log"), caTarget],
    ];
    const oldSeconds = (Date.now() - OLD_MS) / 1000;
    for (const [link, to] of links) {
      symlinkSync(to, link);
      lutimesSync(link, oldSeconds, oldSeconds); // the link itself is old too
    }
    linkSync(hardTarget, nodePath.join(spool, "hard.log"));
    const real = put(tree, "Spool/Logs/real.log", OLD_MS, "12345");
    const targetMtime = statSync(target).mtimeMs;

    const r = await runAgent(tree);
    expect(r.exitCode).toBe(0);
    for (const [link] of links) expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("precious\n");
    expect(statSync(target).mtimeMs).toBe(targetMtime);
    expect(readFileSync(caTarget, "utf8")).toBe("precious CA\n");
    expect(existsSync(nodePath.join(outside, "dir", "inner.log"))).toBe(true);
    // The hard link is a regular file name in Spool/Logs: it goes, its other name stays,
    // and it frees no space.
    expect(existsSync(nodePath.join(spool, "hard.log"))).toBe(false);
    expect(readFileSync(hardTarget, "utf8")).toBe("hard\n");
    expect(existsSync(real)).toBe(false);
    expect(summary(r.log)).toEqual({ deleted: 2, bytes: 5 });
  });
});

describe("when pruning does not run", () => {
  test("days_of_logs = 0 disables pruning", async () => {
    const tree = agentTree("days_of_logs = 0");
    const files = [put(tree, "Spool/Logs/A.log", 10_000 * DAY_MS), put(tree, "Logs/CA-25-01-01_1200.log", 10_000 * DAY_MS)];
    const r = await runAgent(tree);
    expect(r.exitCode).toBe(0);
    for (const f of files) expect(existsSync(f)).toBe(true);
    expect(r.log).toContain("log pruning is off (days_of_logs = 0)");
    expect(prunedLine(r.log)).toBeUndefined();
  });

  test("a dry run deletes no log", async () => {
    const tree = agentTree("days_of_logs = 1");
    const files = [put(tree, "Spool/Logs/A.log", OLD_MS), put(tree, "Spool/Logs/A.log.1", OLD_MS), put(tree, "Logs/CA-25-01-01_1200.log", OLD_MS)];
    const r = await runAgent(tree, ["-n", "logs"]);
    expect(r.exitCode).toBe(0);
    for (const f of files) expect(existsSync(f)).toBe(true);
    expect(r.log).toContain("no log pruning");
    expect(prunedLine(r.log)).toBeUndefined();
  });

  for (const value of ["-1", "abc", "1.5", "36501", "9e9", "90 days", "0x10"]) {
    test(`days_of_logs = ${value} is refused and nothing is deleted`, async () => {
      const tree = agentTree(`days_of_logs = ${value}`);
      const f = put(tree, "Spool/Logs/A.log", OLD_MS);
      const r = await tree.run("cncopagent", ["logs"]);
      expect(r.exitCode).toBe(2);
      // The configuration error is in a CA log (issue 17); nothing was pruned.
      expect(tree.caLogText()).toContain("configuration error");
      expect(tree.caLogText()).not.toContain("pruned");
      expect(r.stderr).toContain("days_of_logs");
      expect(r.stderr).toContain(value);
      expect(existsSync(f)).toBe(true);
    });
  }
});

describe("the current invocation and concurrent writers", () => {
  test("this invocation's CA log and diagnostic log are kept, even aged; an agent's log being written is fresh", async () => {
    // The agent ages the current CA log and the -d log while it runs, and appends to its
    // own daily log, which the test aged before the run.
    const stamp = new Date(Date.now() - OLD_MS);
    const pad = (n: number) => String(n).padStart(2, "0");
    const touchT = `${stamp.getFullYear()}${pad(stamp.getMonth() + 1)}${pad(stamp.getDate())}${pad(stamp.getHours())}${pad(stamp.getMinutes())}`;
    const tree = agentTree(
      "days_of_logs = 90",
      [
        `echo "appended by the agent" >> "$CNCOP_HOME/Spool/Logs/TEST-agent.log"`,
        `for f in "$CNCOP_HOME"/Logs/CA-*.log "$CNCOP_HOME"/Spool/Logs/CAD-*.log; do touch -t ${touchT} "$f"; done`,
        "exit 0",
      ].join("\n"),
    );
    put(tree, "Spool/Logs/TEST-agent.log", OLD_MS, "old line\n");
    const other = put(tree, "Spool/Logs/OTHER.log", OLD_MS);
    const r = await runAgent(tree, ["-d", "logs"]);
    expect(r.exitCode).toBe(0);
    expect(existsSync(other)).toBe(false);
    expect(tree.caLogs()).toHaveLength(1);
    const cad = at(tree, `Spool/Logs/CAD-${localDateStamp(new Date())}.log`);
    expect(existsSync(cad)).toBe(true);
    expect(readFileSync(at(tree, "Spool/Logs/TEST-agent.log"), "utf8")).toBe("old line\nappended by the agent\n");
    expect(summary(r.log).deleted).toBe(1);
    expect(r.log).toContain("cncopagent finished: exit status 0");
  });

  test("agents writing and another process deleting at the same moment: nothing lost, nothing counted twice, no warning", async () => {
    // The agent marks its end; from then on (pruning follows) the writer also deletes.
    const tree = agentTree("days_of_logs = 90", `touch "$CNCOP_HOME/agent-done"\nexit 0`);
    const spool = at(tree, "Spool/Logs");
    mkdirSync(spool, { recursive: true });
    const OLD_COUNT = 20_000;
    for (let i = 0; i < OLD_COUNT; i++) put(tree, `Spool/Logs/OLD-${i}.log`, OLD_MS, "old\n");
    put(tree, "Spool/Logs/LIVE.log", OLD_MS, ""); // old until the writer's first line
    const writer = nodePath.join(tree.root, "writer.ts");
    writeFileSync(
      writer,
      `import { appendFileSync, existsSync, unlinkSync, writeFileSync } from "node:fs";
const [dir, stop, ready, oldCount, agentDone] = process.argv.slice(2);
let n = 0, removed = 0, next = Number(oldCount) - 1, racing = false;
while (!existsSync(stop)) {
  appendFileSync(dir + "/LIVE.log", "line " + n + "\\n");
  writeFileSync(dir + "/W-" + n + ".log", "content " + n + "\\n");
  racing ||= n % 16 === 0 && existsSync(agentDone);
  // Delete old files too, racing the pruner.
  if (racing && next >= 0) {
    try { unlinkSync(dir + "/OLD-" + next + ".log"); removed++; } catch (e) { if (e.code !== "ENOENT") throw e; }
    next--;
  }
  n++;
  if (n === 1) writeFileSync(ready, "");
}
console.log(JSON.stringify({ written: n, removed }));
`,
    );
    const stop = nodePath.join(tree.root, "stop");
    const ready = nodePath.join(tree.root, "ready");
    const proc = Bun.spawn([BUN, writer, spool, stop, ready, String(OLD_COUNT), nodePath.join(tree.root, "agent-done")], { stdout: "pipe", stderr: "pipe" });
    scratch.defer(() => proc.kill());
    await waitFor(() => existsSync(ready), 15_000, "the writer to start");

    const r = await runAgent(tree);
    writeFileSync(stop, "");
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const { written, removed } = JSON.parse(out) as { written: number; removed: number };

    expect(r.exitCode).toBe(0);
    expect(r.log).not.toContain("warning: log pruning");
    const left = readdirSync(spool);
    expect(left.filter((n) => n.startsWith("OLD-"))).toEqual([]);
    // Every old file was deleted exactly once, by one side or the other.
    expect(summary(r.log).deleted + removed).toBe(OLD_COUNT);
    // Everything the writer wrote is there, whole.
    for (let i = 0; i < written; i++) expect(readFileSync(nodePath.join(spool, `W-${i}.log`), "utf8")).toBe(`content ${i}\n`);
    const live = readFileSync(nodePath.join(spool, "LIVE.log"), "utf8").split("\n").filter(Boolean);
    expect(live).toHaveLength(written);
  });
});

describe("errors", () => {
  test("a file that cannot be deleted is a warning; the job's state and the exit status are unchanged", async () => {
    const tree = agentTree();
    const stuck = put(tree, "Spool/Logs/STUCK.log", OLD_MS, "abc");
    const stuck2 = put(tree, "Spool/Logs/STUCK.log.1", OLD_MS, "abc");
    const ca = put(tree, "Logs/CA-25-01-01_1200.log", OLD_MS, "1234567");
    // Make Spool/Logs refuse deletions: read-only for an ordinary user; immutable for root,
    // whom permissions do not stop.
    const spool = at(tree, "Spool/Logs");
    const root = process.getuid?.() === 0;
    const lock = (on: boolean) => {
      const argv = root ? ["chattr", on ? "+i" : "-i", spool] : ["chmod", on ? "0555" : "0755", spool];
      const res = Bun.spawnSync(argv, { stderr: "pipe" });
      if (res.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${res.stderr.toString()}`);
    };
    lock(true);
    scratch.defer(() => lock(false));
    const r = await runAgent(tree);
    lock(false);
    expect(r.exitCode).toBe(0);
    expect(r.log).toContain("job 1 'logs' final state: OK");
    expect(existsSync(stuck)).toBe(true);
    expect(existsSync(stuck2)).toBe(true);
    expect(existsSync(ca)).toBe(false);
    const warnings = r.log.split("\n").filter((l) => l.includes("warning: log pruning: cannot delete"));
    expect(warnings).toHaveLength(2);
    expect(warnings.join("\n")).toContain(stuck);
    expect(warnings.join("\n")).toContain("permission denied");
    expect(prunedLine(r.log)).toContain("2 could not be deleted");
    expect(summary(r.log)).toEqual({ deleted: 1, bytes: 7 });
  });
});
