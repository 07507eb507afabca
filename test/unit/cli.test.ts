/** One executable, many programs: the name picks the program. */
import { describe, expect, test } from "bun:test";
import { pickProgram, programNameOf, PROGRAM_NAMES } from "../../src/cli.ts";

describe("programNameOf", () => {
  const cases: [string, string][] = [
    ["/opt/cncop/Bin/cncopagent", "cncopagent"],
    ["cncopreporter", "cncopreporter"],
    ["C:\\cncop\\Bin\\cncopagent.exe", "cncopagent"],
    ["C:\\cncop\\Bin\\CNCOPJOBS.CMD", "cncopjobs"],
    ["w.bat", "w"],
    ["./w", "w"],
    ["/usr/bin/bun", "bun"],
  ];
  for (const [input, want] of cases) {
    test(input, () => {
      expect(programNameOf(input)).toBe(want);
    });
  }
});

describe("pickProgram", () => {
  const BUNFS = "/$bunfs/root/cncopagent";
  const cases: [string, string[], string, Record<string, string>, string, { name: string; args: string[] }][] = [
    ["a link in Bin/", ["bun", BUNFS, "-a"], "/r/Bin/cncopreporter", {}, "/r/Bin/cncopreporter", { name: "cncopreporter", args: ["-a"] }],
    ["called through PATH", ["bun", BUNFS, "x"], "w", {}, "/r/Bin/w", { name: "w", args: ["x"] }],
    ["the main executable", ["bun", BUNFS, "--version"], "/r/Bin/cncopagent", {}, "/r/Bin/cncopagent", { name: "cncopagent", args: ["--version"] }],
    ["a Windows launcher", ["bun", "B:/~BUN/root/cncopagent.exe", "-a"], "C:\\r\\Bin\\cncopagent.exe", { CNCOP_PROGRAM: "cncopjobs" }, "C:\\r\\Bin\\cncopagent.exe", { name: "cncopjobs", args: ["-a"] }],
    ["argv0 replaced, the started path tells", ["bun", BUNFS, "1"], "something", {}, "/r/Bin/cncopjobs", { name: "cncopjobs", args: ["1"] }],
    ["from source: the first argument", ["/usr/bin/bun", "/repo/src/cli.ts", "cncopagent", "-a"], "bun", {}, "/usr/bin/bun", { name: "cncopagent", args: ["-a"] }],
    ["an unknown name with the program as first argument", ["bun", BUNFS, "cncopagent", "1"], "/r/Bin/foo", {}, "/r/Bin/foo", { name: "cncopagent", args: ["1"] }],
    // An agent link whose program is not built yet must not run cncopagent.
    ["an unknown name stays unknown", ["bun", BUNFS, "-c", "x.ini", "5"], "/r/Bin/backupagentftp", {}, "/r/Bin/backupagentftp", { name: "backupagentftp", args: ["-c", "x.ini", "5"] }],
  ];
  for (const [name, argv, argv0, env, execPath, want] of cases) {
    test(name, () => {
      expect(pickProgram(argv, argv0, env, execPath)).toEqual(want);
    });
  }

  test("the suite's programs", () => {
    for (const p of ["cncopagent", "cncopreporter", "cncopjobs", "w"]) expect(PROGRAM_NAMES).toContain(p);
  });
});

