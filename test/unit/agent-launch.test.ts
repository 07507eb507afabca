/** How an agent is started (a .cmd/.bat through cmd.exe on Windows) and whether it can be (`cncopjobs -t x`). */
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { agentLaunch, startProblem } from "../../src/dispatcher/agent-launch.ts";

const COMSPEC = "C:\\Windows\\System32\\cmd.exe";

describe("agentLaunch", () => {
  test("POSIX and Windows .exe agents start as they are", () => {
    expect(agentLaunch(["/r/Bin/a", "-c", "/r/Config/c.ini", "5"], "linux")).toEqual({ ok: true, argv: ["/r/Bin/a", "-c", "/r/Config/c.ini", "5"], verbatim: false });
    expect(agentLaunch(["C:\\r\\Bin\\a.EXE", "-c", "C:\\r\\c.ini", "5"], "win32", COMSPEC)).toMatchObject({ ok: true, verbatim: false });
  });

  test("a POSIX file named .cmd is no batch file", () => {
    expect(agentLaunch(["/r/Bin/a.cmd", "5"], "linux")).toMatchObject({ ok: true, argv: ["/r/Bin/a.cmd", "5"], verbatim: false });
  });

  test.each(["a.cmd", "A.BAT"])("Windows %s goes through cmd.exe, verbatim", (name) => {
    expect(agentLaunch([`C:\\r & s\\Bin\\${name}`, "-d", "-c", "C:\\r & s\\Config\\c.ini", "5"], "win32", COMSPEC)).toEqual({
      ok: true,
      argv: [COMSPEC, "/d", "/v:off", "/s", "/c", `""C:\\r & s\\Bin\\${name}" "-d" "-c" "C:\\r & s\\Config\\c.ini" "5""`],
      verbatim: true,
    });
  });

  test("a % in the config path refuses a batch agent, naming it", () => {
    const r = agentLaunch(["C:\\r\\Bin\\a.cmd", "-c", "C:\\100%\\c.ini", "5"], "win32", COMSPEC);
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^C:\\r\\Bin\\a\.cmd cannot be started safely through cmd\.exe: argument "C:\\\\100%\\\\c\.ini" holds a percent sign/) });
  });
});

describe("startProblem on POSIX", () => {
  test("executable: none; not executable, or a link leading outside Bin/: why", () => {
    const root = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-launch-"));
    try {
      const bin = nodePath.join(root, "Bin");
      mkdirSync(bin);
      const check = { bin, platform: "linux" as const, args: ["-c", "/x.ini", "1"] };
      const good = nodePath.join(bin, "good");
      writeFileSync(good, "#!/bin/sh\n");
      chmodSync(good, 0o755);
      const plain = nodePath.join(bin, "plain");
      writeFileSync(plain, "#!/bin/sh\n");
      chmodSync(plain, 0o644);
      const outside = nodePath.join(root, "outside");
      writeFileSync(outside, "#!/bin/sh\n");
      chmodSync(outside, 0o755);
      symlinkSync(outside, nodePath.join(bin, "linked"));
      expect(startProblem(good, check)).toBeUndefined();
      expect(startProblem(plain, check)).toBe(`${plain} is not executable (chmod +x it)`);
      expect(startProblem(nodePath.join(bin, "linked"), check)).toMatch(/resolves to .*outside/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
