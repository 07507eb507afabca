/**
 * A Windows console close (SIGHUP there; issue 15), through the platform parameter of a
 * job run: postfailure gets at most CONSOLE_CLOSE_POST_SEC, so that the JF and the lock
 * release come before Windows ends cncopagent; elsewhere SIGHUP changes nothing of that.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { runJob, type JobRunContext } from "../../src/dispatcher/run-job.ts";
import { runModeOf } from "../../src/dispatcher/run-mode.ts";
import { createView } from "../../src/dispatcher/view.ts";
import { parseConfigText } from "../../src/install/config.ts";
import type { Job } from "../../src/install/jobs-db.ts";
import { makePaths } from "../../src/install/paths.ts";
import { FileLineLog } from "../../src/logs/log-file.ts";
import { CONSOLE_CLOSE_POST_SEC, consoleClosed } from "../../src/process/signals.ts";

setDefaultTimeout(60_000);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test.each([
  ["SIGHUP", "win32", true],
  ["SIGHUP", "linux", false],
  ["SIGINT", "win32", false],
  ["SIGBREAK", "win32", false],
  [undefined, "win32", false],
] as const)("consoleClosed(%p, %s) is %p", (reason, platform, want) => {
  expect(consoleClosed(reason, platform)).toBe(want);
});

/** A job whose postfailure would sleep for 30 s, interrupted by SIGHUP before it starts. */
async function interruptedRun(platform: NodeJS.Platform): Promise<{ log: string; ms: number; released: boolean }> {
  const root = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-close-"));
  dirs.push(root);
  const paths = makePaths(root);
  for (const d of [paths.bin, paths.logs, paths.messages]) mkdirSync(d, { recursive: true });
  const post = nodePath.join(paths.bin, "post.sh");
  writeFileSync(post, "#!/bin/sh\nexec sleep 30\n");
  chmodSync(post, 0o755);
  const config = parseConfigText("[defaults]\ncommand_timeout = 30\n", nodePath.join(root, "cncop3.ini"));
  const job: Job = { jobid: 4, jobtitle: "closing", jobtype: "CIFS", enabled: true, maxretries: 0, retrydelay: 0, maxruntime: 0, prerun: undefined, postsuccess: undefined, postfailure: "post.sh", source: undefined, destination: undefined, settings: {}, problems: [] } as unknown as Job;
  const logPath = nodePath.join(paths.logs, "CA-test.log");
  const log = new FileLineLog(logPath);
  const abort = new AbortController();
  abort.abort("SIGHUP");
  let released = false;
  const ctx: JobRunContext = {
    paths,
    config,
    debug: false,
    mode: runModeOf(false),
    log,
    view: createView({ tty: false, write: () => {}, messages: { info() {}, warn() {}, error() {} } as never }),
    abort: abort.signal,
    graceMs: 200,
    hostname: "h",
    lock: () => ({ lock: { beforeSpawn() {}, addProcess() {}, spawnFailed() {}, noteAttempts() {}, release: () => void (released = true) } }),
    platform,
  };
  const t0 = Date.now();
  const outcome = await runJob(job, ctx);
  const ms = Date.now() - t0;
  log.close();
  expect(outcome.status).toBe("ERROR");
  expect(outcome.interruptedBy).toBe("SIGHUP");
  return { log: readFileSync(logPath, "utf8"), ms, released };
}

describe("postfailure after a console close", () => {
  test(`Windows: at most ${CONSOLE_CLOSE_POST_SEC} s, then the reports and the lock release`, async () => {
    const r = await interruptedRun("win32");
    expect(r.log).toContain(`job 4 'closing': the console was closed: postfailure gets at most ${CONSOLE_CLOSE_POST_SEC} s`);
    expect(r.log).toContain(`postfailure: timed out after ${CONSOLE_CLOSE_POST_SEC} s and was stopped`);
    expect(r.ms).toBeGreaterThanOrEqual(CONSOLE_CLOSE_POST_SEC * 1000);
    expect(r.released).toBe(true);
  });
});
