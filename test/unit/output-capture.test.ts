/**
 * Capturing a child's output with runProcess, both ways: through our own enlarged pipes
 * (Linux) and through node:child_process stdio streams (every other platform, forced here
 * with platform "darwin"). Every byte arrives, output arrives while the child runs, a
 * process outside the tree holding the pipe does not hang us, and no descriptor leaks.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import type { StreamSink } from "../../src/logs/log-file.ts";
import { captureOutput } from "../../src/process/output-capture.ts";
import { closePipes, openOutputPipes } from "../../src/process/output-pipe.ts";
import { runProcess, type RunSpec, STDIO_DRAIN_MS_DEFAULT, stdioDrainMs } from "../../src/process/process-tree.ts";
import { waitFor } from "../helpers/tree.ts";

const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-capture-"));
const strays: number[] = [];
afterAll(() => {
  for (const pid of strays) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A sink that keeps copies of what it is given (chunks are reused after write()). */
function recorder(): StreamSink & { data(): Buffer; text(): string } {
  const parts: Buffer[] = [];
  let n = 0;
  let ended = false;
  return {
    write(chunk) {
      parts.push(Buffer.from(chunk));
      n += chunk.length;
    },
    end() {
      ended = true;
    },
    get bytes() {
      return n;
    },
    tail: () => (ended ? ["ended"] : []),
    data: () => Buffer.concat(parts),
    text: () => Buffer.concat(parts).toString("latin1"),
  };
}

function run(platform: NodeJS.Platform, script: string, extra: Partial<RunSpec> = {}) {
  const stdout = recorder();
  const stderr = recorder();
  const result = runProcess({ argv: ["sh", "-c", script], cwd: dir, env: { ...process.env, DIR: dir }, graceMs: 300, stdout, stderr, platform, ...extra });
  return { stdout, stderr, result };
}

const openFds = () => readdirSync("/proc/self/fd").length;
const SHORT_DRAIN_MS = 300;

test.each([
  [{}, STDIO_DRAIN_MS_DEFAULT],
  [{ CNCOP_STDIO_DRAIN_MS: "300" }, 300],
  [{ CNCOP_STDIO_DRAIN_MS: "0" }, 0],
  [{ CNCOP_STDIO_DRAIN_MS: "" }, STDIO_DRAIN_MS_DEFAULT],
  [{ CNCOP_STDIO_DRAIN_MS: "-5" }, STDIO_DRAIN_MS_DEFAULT],
  [{ CNCOP_STDIO_DRAIN_MS: "soon" }, STDIO_DRAIN_MS_DEFAULT],
])("the stdio drain for %j is %p ms (2 s unless the test knob says otherwise)", (env, ms) => {
  expect(STDIO_DRAIN_MS_DEFAULT).toBe(2_000);
  expect(stdioDrainMs(env)).toBe(ms);
});

test("Linux gets pipes with a non-blocking read end, both ends close-on-exec; other platforms none", () => {
  const pipes = openOutputPipes(2, "linux");
  expect(pipes?.length).toBe(2);
  const flags = (fd: number) => parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8);
  for (const p of pipes!) {
    expect(flags(p.readFd) & 0o4000).toBe(0o4000); // O_NONBLOCK
    expect(flags(p.writeFd) & 0o4000).toBe(0);
    for (const fd of [p.readFd, p.writeFd]) expect(flags(fd) & 0o2000000).toBe(0o2000000); // O_CLOEXEC
  }
  closePipes(pipes!, "both");
  expect(openOutputPipes(2, "darwin")).toBeUndefined();
  expect(openOutputPipes(2, "win32")).toBeUndefined();
});

test("CNCOP_CAPTURE=streams chooses the stdio streams on Linux too", () => {
  const piped = captureOutput(recorder(), recorder(), "linux", {});
  expect(piped.stdio.slice(1).every((s) => typeof s === "number")).toBe(true);
  piped.attach(undefined); // a failed start: closes both pipes
  expect(captureOutput(recorder(), recorder(), "linux", { CNCOP_CAPTURE: "streams" }).stdio).toEqual(["ignore", "pipe", "pipe"]);
  expect(captureOutput(recorder(), recorder(), "win32", {}).stdio).toEqual(["ignore", "pipe", "pipe"]);
});

describe.each([
  ["own pipes", "linux"],
  ["stdio streams", "darwin"],
] as const)("runProcess through %s", (_name, platform) => {
  test("every byte of stdout and stderr, in order, whatever the chunking", async () => {
    const blob = Buffer.alloc(3 * 1024 * 1024 + 17);
    let x = 12345;
    for (let i = 0; i < blob.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      blob[i] = x >>> 24;
    }
    const file = nodePath.join(dir, `blob-${platform}`);
    writeFileSync(file, blob);
    const r = run(platform, `cat "${file}"; cat "${file}" >&2; printf 'last'`);
    const res = await r.result;
    expect(res.exitCode).toBe(0);
    expect(r.stdout.data().equals(Buffer.concat([blob, Buffer.from("last")]))).toBe(true);
    expect(r.stderr.data().equals(blob)).toBe(true);
    expect(r.stdout.tail()).toEqual(["ended"]);
  });

  test("output arrives while the child still runs", async () => {
    const go = nodePath.join(dir, `go-${platform}`);
    const r = run(platform, `echo first; echo oops >&2; while [ ! -e "${go}" ]; do sleep 0.02; done; echo second`);
    await waitFor(() => r.stdout.text() === "first\n" && r.stderr.text() === "oops\n", 10_000, "the first lines");
    writeFileSync(go, "");
    expect((await r.result).exitCode).toBe(0);
    expect(r.stdout.text()).toBe("first\nsecond\n");
  });

  test("a process outside the tree holding stdout does not hold us up for long", async () => {
    const pidFile = nodePath.join(dir, `stray-${platform}`);
    // The drain shortened through its test knob: the pipes are closed by force once it passes.
    process.env.CNCOP_STDIO_DRAIN_MS = String(SHORT_DRAIN_MS);
    try {
      const r = run(platform, `echo before; setsid sh -c 'echo $$ > "${pidFile}"; exec sleep 30' & while [ ! -s "${pidFile}" ]; do sleep 0.02; done; echo after`);
      const res = await r.result;
      strays.push(Number(readFileSync(pidFile, "utf8")));
      expect(res.exitCode).toBe(0);
      expect(r.stdout.text()).toBe("before\nafter\n");
      expect(res.durationMs).toBeGreaterThanOrEqual(SHORT_DRAIN_MS);
      expect(res.durationMs).toBeLessThan(20_000);
    } finally {
      delete process.env.CNCOP_STDIO_DRAIN_MS;
    }
  });

  test("no descriptor leaks, a child sees only its own stdio, a failed start closes everything", async () => {
    const before = openFds();
    const go = nodePath.join(dir, `hold-${platform}`);
    // One child holds its capture open while a second one lists its descriptors.
    const holder = run(platform, `while [ ! -e "${go}" ]; do sleep 0.02; done`);
    const lister = run(platform, `ls /proc/self/fd`);
    expect((await lister.result).exitCode).toBe(0);
    // 0, 1, 2 and the directory ls reads: nothing of the other child's pipes.
    expect(lister.stdout.text().trim().split("\n").map(Number)).toEqual([0, 1, 2, 3]);
    writeFileSync(go, "");
    await holder.result;
    const missing = runProcess({ argv: [nodePath.join(dir, "no-such-program")], cwd: dir, env: process.env, graceMs: 300, stdout: recorder(), stderr: recorder(), platform });
    expect((await missing).spawnError).toBeDefined();
    await waitFor(() => openFds() === before, 5_000, "the descriptors to be closed");
  });
});

describe("durations and deadlines use the monotonic clock", () => {
  test("a wall clock stepped back an hour while the child runs changes neither its duration nor its deadline", async () => {
    const RealDate = globalThis.Date;
    const stepMs = -3_600_000;
    // From now on, the wall clock reads an hour earlier (as after a manual step back).
    class SteppedDate extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(RealDate.now() + stepMs);
        else super(...(args as [number]));
      }
      static override now(): number {
        return RealDate.now() + stepMs;
      }
    }
    const { result } = run("linux", "sleep 0.3", { deadline: performance.now() + 60_000 });
    globalThis.Date = SteppedDate as DateConstructor;
    let r: Awaited<typeof result>;
    try {
      r = await result;
    } finally {
      globalThis.Date = RealDate;
    }
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(r.durationMs).toBeGreaterThanOrEqual(250);
    expect(r.durationMs).toBeLessThan(60_000);
    // The wall-clock end is an hour before the start: timestamps stay wall clock.
    expect(r.finished.getTime()).toBeLessThan(r.started.getTime());
  });
});
