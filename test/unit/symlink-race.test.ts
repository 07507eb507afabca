/**
 * The check-then-use race of SPEC §5 "Pre/post commands" and "Agents": a link in Bin/
 * that another process swaps between a program inside Bin/ and one outside, as fast as it
 * can, while pre/post commands and agents are started through it. Whatever the timing,
 * nothing outside Bin/ may run: the file checked is the file started. At least 1,000
 * swaps happen while the starts go on, and both outcomes (started inside, refused) are
 * seen, so the race is really run. bench/symlink-race.ts runs the same for longer.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { runCommand, type PlannedCommand } from "../../src/dispatcher/commands.ts";
import { runAttempt } from "../../src/dispatcher/attempt.ts";
import { lookUpAgent } from "../../src/dispatcher/plan.ts";
import { realFs } from "../../src/process/confine.ts";
import { rowToJob } from "../../src/install/jobs-db.ts";
import type { LineLog, StreamSink } from "../../src/logs/log-file.ts";

const SWAPS = 1000;
let root: string;
let bin: string;
let swapper: ReturnType<typeof Bun.spawn> | undefined;

const nullSink = (): StreamSink => ({ write() {}, end() {}, bytes: 0, tail: () => [] });
const log: LineLog & { lines: string[] } = { path: "(memory)", lines: [], line(t) { log.lines.push(t); }, sink: nullSink, close() {} };

beforeAll(() => {
  root = realpathSync(mkdtempSync(nodePath.join(os.tmpdir(), "cncop-race-")));
  bin = nodePath.join(root, "Bin");
  mkdirSync(bin);
  mkdirSync(nodePath.join(root, "outside"));
  const script = (p: string, body: string) => {
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
  };
  script(nodePath.join(bin, "good.sh"), "exit 0");
  // Outside Bin/: leaves a mark when it runs, which must never happen.
  script(nodePath.join(root, "outside", "evil.sh"), `echo ran >> "${root}/EVIL"; exit 0`);
  symlinkSync("good.sh", nodePath.join(bin, "swapped"));
});

afterAll(() => {
  swapper?.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

/** A process that swaps Bin/swapped between good.sh and ../outside/evil.sh, counting swaps in a file. */
function startSwapper(): { count: () => number } {
  const counter = nodePath.join(root, "swaps");
  const code = `
    const fs = require("node:fs");
    const link = ${JSON.stringify(nodePath.join(bin, "swapped"))}, tmp = link + ".tmp";
    const targets = ["good.sh", ${JSON.stringify(nodePath.join(root, "outside", "evil.sh"))}];
    let n = 0;
    for (;;) {
      try { fs.unlinkSync(tmp); } catch {}
      fs.symlinkSync(targets[n % 2], tmp);
      fs.renameSync(tmp, link);
      n++;
      if (n % 50 === 0) fs.writeFileSync(${JSON.stringify(counter)}, String(n));
    }`;
  swapper = Bun.spawn([process.execPath, "-e", code], { stdio: ["ignore", "ignore", "inherit"] });
  return { count: () => (existsSync(counter) ? Number(readFileSync(counter, "utf8") || 0) : 0) };
}

test(`${SWAPS}+ swaps of a link in Bin/ while commands and agents start through it: nothing outside Bin/ runs`, async () => {
  const confineTo = { bin, platform: process.platform, fs: realFs };
  const command: PlannedCommand = { kind: "prerun", line: "swapped --flag", prepared: { ok: false, reason: "checked when started" }, confineTo, env: { PATH: process.env.PATH ?? "" } };
  const ctx = { root, timeoutSec: 10, graceMs: 100, log };
  const agent = { agent: "swapped", program: undefined, file: undefined, refused: undefined, argv: [nodePath.join(bin, "swapped")], confineTo };
  const plan = { agents: [agent], job: rowToJob({ jobid: 1, jobtitle: "race", jobtype: "swapped" }), env: { PATH: process.env.PATH ?? "" }, label: "race", rules: { problem: undefined, hasPrerun: false, missingAgents: undefined, maxretries: 0, retrydelaySec: 0, maxruntimeSec: 0 } };
  const swaps = startSwapper();
  let started = 0;
  let refused = 0;
  let runs = 0;
  const deadline = Date.now() + 25_000;
  while ((swaps.count() < SWAPS || runs < 100) && Date.now() < deadline) {
    if (runs % 2 === 0) {
      const r = await runCommand(command, {}, ctx);
      if (r.refused !== undefined) refused++;
      else if (r.ok) started++;
    } else {
      const a = await runAttempt(runs, plan, undefined, { root, log, abort: new AbortController().signal, graceMs: 100, hooks: undefined });
      if (a.results[0]!.pid === undefined) refused++;
      else if (a.results[0]!.exitCode === 0) started++;
    }
    runs++;
  }
  swapper?.kill("SIGKILL");
  expect(existsSync(nodePath.join(root, "EVIL")) ? readFileSync(nodePath.join(root, "EVIL"), "utf8") : "").toBe("");
  expect(swaps.count()).toBeGreaterThanOrEqual(SWAPS);
  expect(runs).toBeGreaterThanOrEqual(100);
  // The race was really run: starts inside Bin/ and refusals both happened.
  expect(started).toBeGreaterThan(0);
  expect(refused).toBeGreaterThan(0);
  expect(started + refused).toBe(runs);
  // What started was the checked file, never the link: the log names it.
  expect(log.lines.some((l) => l.includes(`(the file started: ${nodePath.join(bin, "good.sh")})`))).toBe(true);
}, 30_000);

test("an agent that is a link to a program outside Bin/ is refused by name", () => {
  symlinkSync(nodePath.join(root, "outside", "evil.sh"), nodePath.join(bin, "backupagentevil"));
  const r = lookUpAgent("backupagentevil", { bin, platform: process.platform, fs: realFs });
  expect(r.file).toBeUndefined();
  expect(r.refused).toBe(`${nodePath.join(bin, "backupagentevil")} resolves to ${nodePath.join(root, "outside", "evil.sh")}, outside ${bin}: an agent must be a program inside ${bin}`);
});
