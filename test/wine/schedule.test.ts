/**
 * cncopjobs schedule under Wine: `schtasks /create /xml` accepts the suite's task definition
 * and the task appears under \cncop\ (Wine keeps it as the file system32\Tasks\cncop\NAME of
 * the prefix), list and show read it back, remove deletes it and nothing else; the XML is
 * parsed and its settings checked. Registering a task writes into the prefix's system32, so
 * this file works in a prefix of its own: the lane's per-run prefix, else a copy of the
 * given one (never the shared prefix itself), whose wineserver it stops at the end.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { decodeTaskFile, parseTaskXml, taskXmlBytes, xmlElement } from "../../src/jobs-admin/schedule/task-xml.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { makeWinTree, runWine, winePrefix, winPath, type WinTree } from "./helpers.ts";

const scratch = makeScratch("file");

/** The lane's own prefix (.ci/wine/lane.sh makes /tmp/cncop-wineprefix-*\/prefix per run) is used as it is; any other is copied. */
function ownPrefix(): string {
  const given = winePrefix();
  if (/\/cncop-wineprefix-[^/]+\/prefix$/.test(given)) {
    warmUp(given);
    return given;
  }
  const copy = nodePath.join(scratch.dir("wine-sched"), "prefix");
  const cp = Bun.spawnSync(["cp", "-a", given, copy]);
  if (cp.exitCode !== 0) throw new Error(`cannot copy the Wine prefix ${given}: ${cp.stderr}`);
  // One wineserver for the file, as the lane keeps one (no start-up per program); stopped at the end.
  const wineEnv = { ...process.env, WINEPREFIX: copy };
  // (wineserver -p goes on in the background holding what it was given: no pipes to it.)
  const quiet = { env: wineEnv, stdin: "ignore", stdout: "ignore", stderr: "ignore" } as const;
  Bun.spawnSync(["wineserver", "-p"], quiet);
  scratch.defer(() => Bun.spawnSync(["wineserver", "-k"], quiet));
  warmUp(copy);
  return copy;
}

/**
 * The first program of a wineserver session starts Wine's services (services.exe,
 * winedevice.exe), which keep the standard output they inherited: started here with none,
 * they never hold a test's pipes open.
 */
function warmUp(prefix: string): void {
  Bun.spawnSync(["wine", "cmd.exe", "/c", "exit"], { env: { ...process.env, WINEPREFIX: prefix, WINEDEBUG: "-all", WINEDLLOVERRIDES: "mscoree,mshtml=", DISPLAY: "" }, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
}

const PREFIX = ownPrefix();
const TASKS = nodePath.join(PREFIX, "drive_c", "windows", "system32", "tasks");
const env = { WINEPREFIX: PREFIX };
const tree = (): WinTree => scratch.track(makeWinTree({ tag: "sched " }));
const taskFile = (name: string) => nodePath.join(TASKS, "cncop", name);

/** The XML block `add` printed (what it gave schtasks). */
function printedXml(stdout: string): string {
  const start = stdout.indexOf('<?xml version="1.0" encoding="UTF-16"?>');
  const end = stdout.indexOf("</Task>", start);
  expect([start >= 0, end > start]).toEqual([true, true]);
  return stdout.slice(start, end + "</Task>".length);
}

describe("cncopjobs schedule under Wine: Task Scheduler", () => {
  test("add -n prints the task and registers nothing; add registers \\cncop\\nightly; list, show, remove", async () => {
    const t = tree();
    const jobs = (...args: string[]) => t.run("cncopjobs", ["-c", t.winConfig, ...args], { env });

    const dry = await jobs("schedule", "add", "nightly", "--at", "22:00", "-a", "-n");
    expect([dry.exitCode, existsSync(taskFile("nightly"))]).toEqual([0, false]);
    const xml = printedXml(dry.stdout.replace(/\r\n/g, "\n"));
    // The settings the issue names, in the XML the suite gives schtasks.
    const want: Record<string, string> = {
      UserId: "S-1-5-18", RunLevel: "HighestAvailable", MultipleInstancesPolicy: "IgnoreNew", StartWhenAvailable: "true",
      ExecutionTimeLimit: "PT0S", WorkingDirectory: t.winRoot, Command: `${t.winBin}\\cncopagent.exe`,
      Arguments: `-c "${t.winConfig}" -a`, DaysInterval: "1", URI: "\\cncop\\nightly",
    };
    for (const [tag, value] of Object.entries(want)) expect([tag, xmlElement(xml, tag)]).toEqual([tag, value]);
    expect(xmlElement(xml, "StartBoundary")).toMatch(/^\d{4}-\d\d-\d\dT22:00:00$/);

    const add = await jobs("schedule", "add", "nightly", "--at", "22:00", "-a");
    expect([add.exitCode, add.stderr]).toEqual([0, expect.stringContaining("added schedule nightly to the Task Scheduler folder \\cncop\\")]);
    expect(add.stdout).toMatch(/ran: schtasks \/create \/tn \\cncop\\nightly \/xml \S+cncop-task\.xml/);
    // Task Scheduler (Wine's) stored it under \cncop\: the settings it keeps, and the suite's marker.
    const stored = decodeTaskFile(readFileSync(taskFile("nightly")));
    for (const [tag, value] of Object.entries({ MultipleInstancesPolicy: "IgnoreNew", StartWhenAvailable: "true", ExecutionTimeLimit: "PT0S" })) {
      expect([tag, xmlElement(stored, tag)]).toEqual([tag, value]);
    }
    expect(parseTaskXml(stored)).toMatchObject({ name: "nightly", hour: 22, minute: 0, root: t.winRoot, config: t.winConfig, selection: { kind: "all" } });

    const list = await jobs("schedule", "list", "--json");
    expect(list.exitCode).toBe(0);
    const views = JSON.parse(list.stdout) as { name: string; scheduler: string; when: string; root: string }[];
    expect(views.map((v) => [v.name, v.scheduler, v.when, v.root])).toEqual([["nightly", "windows", "daily at 22:00", t.winRoot]]);
    const show = await jobs("schedule", "show", "nightly");
    expect([show.exitCode, show.stdout]).toEqual([0, expect.stringContaining("IgnoreNew")]);
    expect((await jobs("schedule", "add", "nightly", "--at", "23:00", "-a")).exitCode).toBe(2);

    const rm = await jobs("schedule", "remove", "nightly");
    expect([rm.exitCode, rm.stdout]).toEqual([0, expect.stringContaining("ran: schtasks /delete /tn \\cncop\\nightly /f")]);
    expect(existsSync(taskFile("nightly"))).toBe(false);
    expect((await jobs("schedule", "remove", "nightly")).exitCode).toBe(2);
  }, 180_000);

  test("a task outside \\cncop\\ is neither listed nor removed", async () => {
    const t = tree();
    const jobs = (...args: string[]) => t.run("cncopjobs", ["-c", t.winConfig, ...args], { env });
    const foreign = nodePath.join(t.root, "mine.xml");
    const xml = readFileSync(new URL("./fixtures/foreign-task.xml", import.meta.url), "utf8");
    writeFileSync(foreign, taskXmlBytes(xml));
    const created = await runWine("C:\\windows\\system32\\schtasks.exe", ["/create", "/tn", "\\mine", "/xml", winPath(foreign)], { env });
    expect(created.exitCode).toBe(0);
    expect(existsSync(nodePath.join(TASKS, "mine"))).toBe(true);
    expect((await jobs("schedule", "add", "weekly", "--at", "05:00", "--days", "sun", "-a")).exitCode).toBe(0);
    const views = JSON.parse((await jobs("schedule", "list", "--json")).stdout) as { name: string }[];
    expect(views.map((v) => v.name)).toEqual(["weekly"]);
    expect((await jobs("schedule", "remove", "mine")).exitCode).toBe(2);
    expect((await jobs("schedule", "remove", "weekly")).exitCode).toBe(0);
    expect(existsSync(nodePath.join(TASKS, "mine"))).toBe(true);
    expect(existsSync(taskFile("weekly"))).toBe(false);
  }, 180_000);
});
