/**
 * The whole process tree (issue 15): which processes make up a tree (tree-members.ts, from a
 * table), stopping a tree whose descendant left for a session of its own, loud fallbacks on
 * Windows (through the platform parameter), Windows exit statuses in words, and child output
 * decoded from the console's code page.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { codePageDecoder, consoleTextSink, sniffingDecoder } from "../../src/process/console-text.ts";
import { exitStatusText } from "../../src/process/exit-status.ts";
import { stateOf } from "../../src/dispatcher/states.ts";
import type { RunResult } from "../../src/process/process-tree.ts";
import { type ProcEntry, parsePsTable, treeMembers } from "../../src/process/tree-members.ts";
import { stopProcessTree, taskkillPath } from "../../src/process/tree-stop.ts";
import { waitFor } from "../helpers/tree.ts";
import { processGone } from "../helpers/fake.ts";

setDefaultTimeout(60_000);

const SELF = 100;
const e = (pid: number, ppid: number, pgrp: number, state = "S", start = "500"): ProcEntry => ({ pid, ppid, pgrp, state, start });
// 200 leads group 200: 201 in its group; 202 left for a session of its own (setsid) and
// started 203; 300 is an orphan re-parented to us (SELF); 301 is another child of ours;
// 400 is a stranger carrying the session; 401 a stranger without it; 402 a zombie of the group.
const TABLE: ProcEntry[] = [
  e(SELF, 1, SELF),
  e(200, SELF, 200),
  e(201, 200, 200),
  e(202, 201, 202),
  e(203, 202, 202),
  e(300, SELF, 300),
  e(301, SELF, 301),
  e(400, 1, 400, "S", "600"),
  e(401, 1, 401),
  e(402, 1, 200, "Z"),
  e(404, 1, 404, "S", "10"),
];
const carries = new Set([200, 201, 202, 203, 400, 404]);
const environ = (pid: number) => carries.has(pid);
const pids = (list: ProcEntry[]) => list.map((p) => p.pid).sort((a, b) => a - b);

describe("treeMembers", () => {
  test.each([
    ["the group alone finds the descendant that left it by parent links", { root: { pid: 200, group: true } }, [200, 201, 202, 203]],
    ["a child alone (no group of its own): it and its descendants", { root: { pid: 201, group: false } }, [201, 202, 203]],
    ["with the session: its processes and our adopted orphans, never our other children", { root: { pid: 200, group: true }, session: "s", sinceTicks: "400" }, [200, 201, 202, 203, 300, 400]],
    ["the session alone (the end of a run)", { session: "s", sinceTicks: "400" }, [200, 201, 202, 203, 300, 400]],
    // 404 carries the session but is older than us (always left out); here 200-203 are too.
    ["only processes started since we did are taken by their session", { session: "s", sinceTicks: "550" }, [300, 400]],
  ] as const)("%s", (_name, q, want) => {
    const got = treeMembers({ self: SELF, ownChildren: new Set([200, 301]), ...q }, TABLE, environ);
    expect(pids(got)).toEqual([...want]);
  });

  test("macOS/BSD: the table from ps (no start times, no environments): the group and parent links", () => {
    const table = parsePsTable("  100     1   100 Ss\n  200   100   200 S\n  201   200   200 S+\n  202   201   202 Ss\n  203   202   202 Z\n  999     1   999 S\ngarbage\n");
    expect(table.find((p) => p.pid === 203)?.state).toBe("Z");
    const got = treeMembers({ root: { pid: 200, group: true }, self: 100, ownChildren: new Set([200]) }, table, () => undefined);
    expect(pids(got)).toEqual([200, 201, 202]);
  });

  test("never this process, never a zombie", () => {
    const got = treeMembers({ root: { pid: SELF, group: true }, session: "s", self: SELF, ownChildren: new Set() }, TABLE, () => true);
    expect(pids(got)).not.toContain(SELF);
    expect(pids(got)).not.toContain(402);
  });
});

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {}
  }
});

describe.skipIf(process.platform !== "linux")("stopProcessTree (Linux, real processes)", () => {
  test("a descendant in a session of its own is stopped with the tree; one that ignores TERM gets KILL", async () => {
    const session = `s-${crypto.randomUUID()}`;
    // The child leads a group; its descendant starts a session of its own and ignores TERM.
    const c = spawn("/bin/sh", ["-c", `setsid sh -c 'trap "" TERM; echo $$; while :; do sleep 0.1; done' & wait`], { detached: true, stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, CNCOP_SESSION: session } });
    children.push(c);
    const escapee = await new Promise<number>((r) => c.stdout!.once("data", (d: Buffer) => r(Number(d.toString().trim()))));
    expect(processGone(escapee)).toBe(false);
    const logged: string[] = [];
    const t0 = Date.now();
    await stopProcessTree({ pid: c.pid!, group: true, session }, { graceMs: 300, log: (t) => logged.push(t) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    await waitFor(() => processGone(escapee), 5_000, "the escapee to end");
    expect(logged).toEqual([]);
  });
});

describe.skipIf(process.platform !== "linux")("stopProcessTree the macOS/BSD way (platform parameter: ps, parent links)", () => {
  test("a descendant in a session of its own is found through its parent and stopped", async () => {
    const c = spawn("/bin/sh", ["-c", "setsid sleep 305 & echo $!; wait"], { detached: true, stdio: ["ignore", "pipe", "ignore"] });
    children.push(c);
    const escapee = await new Promise<number>((r) => c.stdout!.once("data", (d: Buffer) => r(Number(d.toString().trim()))));
    const logged: string[] = [];
    await stopProcessTree({ pid: c.pid!, group: true }, { graceMs: 300, platform: "darwin", log: (t) => logged.push(t) });
    await waitFor(() => processGone(escapee), 5_000, "the escapee to end");
    expect(logged).toEqual([]);
  });
});

describe("Windows branches (platform parameter)", () => {
  test("a job object that cannot be terminated, and no taskkill to fall back on, are both logged", async () => {
    const logged: string[] = [];
    // Off Windows kernel32 is missing: the job cannot be terminated; the pid is not our child any more.
    await stopProcessTree({ pid: 4242, group: true, job: { handle: 1n, closed: false }, start: "1" }, { graceMs: 30_000, platform: "win32", log: (t) => logged.push(t) });
    expect(logged.length).toBe(1);
    expect(logged[0]).toMatch(/^could not terminate the job object of pid 4242: .+; trying taskkill$/);
  });

  test("taskkill is taken from System32, never from PATH", () => {
    expect(taskkillPath({ SystemRoot: "D:\\WINNT" })).toBe("D:\\WINNT\\System32\\taskkill.exe");
    expect(taskkillPath({})).toBe("C:\\Windows\\System32\\taskkill.exe");
  });
});

describe("exit statuses in words", () => {
  test.each([
    [0, "win32", "0"],
    [3, "win32", "3"],
    [3221225786, "win32", "0xC000013A (interrupted by Ctrl-C or a closed console, STATUS_CONTROL_C_EXIT)"],
    [-1073741510, "win32", "0xC000013A (interrupted by Ctrl-C or a closed console, STATUS_CONTROL_C_EXIT)"],
    [3221225477, "win32", "0xC0000005 (access violation, STATUS_ACCESS_VIOLATION)"],
    [3221225725, "win32", "0xC00000FD (stack overflow, STATUS_STACK_OVERFLOW)"],
    [3221226505, "win32", "0xC0000409 (stack buffer overrun or fail-fast exit, STATUS_STACK_BUFFER_OVERRUN)"],
    [0xe0434352, "win32", "0xE0434352"],
    [3221225477, "linux", "3221225477"],
    [null, "win32", "unknown"],
  ] as const)("%p on %s is %p", (code, platform, want) => {
    expect(exitStatusText(code, platform)).toBe(want);
  });

  test("the finish state's reason names it", () => {
    const r = { exitCode: 3221225477, signal: null, timedOut: false, interrupted: false, spawnError: undefined, pid: 1 } as unknown as RunResult;
    expect(stateOf(r, 0, "win32")).toEqual({ state: "ERROR", reason: "agent exited with status 0xC0000005 (access violation, STATUS_ACCESS_VIOLATION)" });
  });
});

function collectSink(): { sink: { write(b: Uint8Array): void; end(): void }; text(): string; ended(): boolean } {
  const parts: Uint8Array[] = [];
  let done = false;
  return {
    sink: { write: (b) => parts.push(Uint8Array.from(b)), end: () => (done = true) },
    text: () => Buffer.concat(parts).toString("utf8"),
    ended: () => done,
  };
}

describe("child output in the console's code page", () => {
  test.each([
    // "Kopiert: Größe" and a box-drawing line as cmd.exe writes them in code page 850 / 437.
    [850, [0x4b, 0x6f, 0x70, 0x69, 0x65, 0x72, 0x74, 0x3a, 0x20, 0x47, 0x72, 0x94, 0xe1, 0x65], "Kopiert: Größe"],
    [437, [0xc9, 0xcd, 0xbb, 0x20, 0x82, 0x74, 0x82], "╔═╗ été"],
    [866, [0x8f, 0xe0, 0xa8, 0xa2, 0xa5, 0xe2], "Привет"],
    [852, [0x9f, 0xa5, 0xa9], "čąę"],
    [1252, [0x80, 0x20, 0xe9], "€ é"],
    [932, [0x93, 0xfa, 0x96, 0x7b], "日本"],
  ] as const)("code page %p", (cp, bytes, want) => {
    const c = collectSink();
    const s = consoleTextSink(c.sink, cp);
    s.write(Uint8Array.from(bytes));
    s.end();
    expect(c.text()).toBe(want);
    expect(c.ended()).toBe(true);
  });

  test("CRLF becomes LF, also when a chunk ends between CR and LF; a lone CR stays", () => {
    const c = collectSink();
    const s = consoleTextSink(c.sink, 850);
    for (const chunk of ["one\r", "\ntwo\r\nthree 50%\r75%\r", "\n", "end\r"]) s.write(Buffer.from(chunk, "latin1"));
    s.end();
    expect(c.text()).toBe("one\ntwo\nthree 50%\r75%\nend\r");
  });

  test("a character of a multi-byte code page split between chunks is kept whole", () => {
    const c = collectSink();
    const s = consoleTextSink(c.sink, 932);
    s.write(Uint8Array.from([0x93]));
    s.write(Uint8Array.from([0xfa, 0x0d]));
    s.write(Uint8Array.from([0x0a]));
    s.end();
    expect(c.text()).toBe("日\n");
  });

  test("a stream that writes UTF-8 (a modern runtime, the suite's own agents) is read as UTF-8", () => {
    const d = sniffingDecoder(850);
    expect(d.decode(Buffer.from("plain ascii first\n"), true)).toBe("plain ascii first\n");
    expect(d.chosen).toBeUndefined();
    expect(d.decode(Buffer.from("Größe 日本\n"), true)).toBe("Größe 日本\n");
    expect(d.chosen).toBe("utf-8");
    const oem = sniffingDecoder(850);
    expect(oem.decode(Uint8Array.from([0x47, 0x72, 0x94, 0xe1, 0x65]), true)).toBe("Größe");
    expect(oem.chosen).toBe("cp850");
  });

  test("an unknown code page falls back to UTF-8", () => {
    expect(codePageDecoder(12345).name).toBe("utf-8");
    expect(codePageDecoder(undefined).name).toBe("utf-8");
  });
});
