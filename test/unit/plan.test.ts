/** SPEC §5 "Agents": the job-type table, agent lookup in Bin/ only, command line, environment, and the plan of a job run. */
import { describe, expect, test } from "bun:test";
import nodePath from "node:path";
import type { PlannedCommand } from "../../src/dispatcher/commands.ts";
import { agentArgv, describeCommand, findInBin, jobEnv, type JobPlan, planJob } from "../../src/dispatcher/plan.ts";
import { type RunMode, runModeOf } from "../../src/dispatcher/run-mode.ts";
import { parseConfigText } from "../../src/install/config.ts";
import { agentsForType, jobTypeTable, knownJobTypes } from "../../src/install/job-types.ts";
import { rowToJob } from "../../src/install/jobs-db.ts";
import { makePaths } from "../../src/install/paths.ts";
import type { ConfineFs } from "../../src/process/confine.ts";

const paths = makePaths("/srv/cncop");
const CONFIG = paths.configFile;

describe("job-type table", () => {
  const cases: [string, string[]][] = [
    ["CCS", ["backupagentnq", "backupagentdq"]],
    ["CIFS", ["backupagentcifs"]],
    ["FTP", ["backupagentftp"]],
    ["FTPS", ["backupagentftp"]],
    ["MSSQL", ["backupagentmssql"]],
    ["SFTP", ["backupagentsftp"]],
    ["RSYNC", ["backupagentrsync"]],
    ["WIMG", ["backupagentwimg"]],
    ["rsync", ["backupagentrsync"]],
    ["Ccs", ["backupagentnq", "backupagentdq"]],
  ];
  for (const [type, agents] of cases) {
    test(type, () => {
      expect(agentsForType(type, {})).toEqual(agents);
    });
  }

  test("an unknown type has no agent", () => {
    expect(agentsForType("NOPE", {})).toBeUndefined();
  });

  test("[agents] adds and overrides types", () => {
    const overrides = parseConfigText("[agents]\nRSYNC = myrsync\nnewtype = agentnew\n", "f", "h").agents;
    expect(agentsForType("rsync", overrides)).toEqual(["myrsync"]);
    expect(agentsForType("NewType", overrides)).toEqual(["agentnew"]);
    expect(agentsForType("CIFS", overrides)).toEqual(["backupagentcifs"]);
    expect(knownJobTypes(overrides)).toEqual(["CCS", "CIFS", "FTP", "FTPS", "MSSQL", "NEWTYPE", "RSYNC", "SFTP", "WIMG"]);
    const table = jobTypeTable(overrides);
    expect(table.find((t) => t.type === "RSYNC")).toMatchObject({ builtIn: true, overridden: true, agents: ["myrsync"] });
    expect(table.find((t) => t.type === "NEWTYPE")).toMatchObject({ builtIn: false, overridden: true });
    expect(table.find((t) => t.type === "CIFS")).toMatchObject({ builtIn: true, overridden: false });
  });
});

describe("agentArgv: <Bin>/<agent> [-d] -c <absolute config> [-n] <jobid>", () => {
  const cases: [string, boolean, boolean, string[]][] = [
    ["backupagentrsync", false, false, ["/b/backupagentrsync", "-c", CONFIG, "7"]],
    ["backupagentrsync", true, false, ["/b/backupagentrsync", "-d", "-c", CONFIG, "7"]],
    ["backupagentrsync", false, true, ["/b/backupagentrsync", "-c", CONFIG, "-n", "7"]],
    ["backupagentrsync", true, true, ["/b/backupagentrsync", "-d", "-c", CONFIG, "-n", "7"]],
    ["backupagentnq", true, true, ["/b/backupagentnq", "-d", "-c", CONFIG, "-n", "7"]],
    ["backupagentdq", false, false, ["/b/backupagentdq", "-c", CONFIG]],
    ["backupagentdq", true, true, ["/b/backupagentdq", "-d", "-c", CONFIG, "-n"]],
  ];
  for (const [agent, debug, dryrun, want] of cases) {
    test(`${agent} debug=${debug} dryrun=${dryrun}`, () => {
      expect(agentArgv(`/b/${agent}`, agent, CONFIG, 7, debug, dryrun)).toEqual(want);
    });
  }
});

describe("jobEnv", () => {
  const job = rowToJob({ jobid: 42, jobtitle: "Bob's files", jobtype: "rsync" });
  const base = { PATH: "/usr/bin", HOME: "/root", CNCOP_DEBUG: "1", CNCOP_ATTEMPT: "9", UNSET: undefined };

  test("the environment plus the job variables", () => {
    const env = jobEnv(job, { paths, debug: false, session: "S-1", baseEnv: base });
    expect(env).toEqual({
      PATH: "/usr/bin",
      HOME: "/root",
      CNCOP_HOME: "/srv/cncop",
      CNCOP_CONFIG: "/srv/cncop/Config/cncop3.ini",
      CNCOP_JOBID: "42",
      CNCOP_JOBTITLE: "Bob's files",
      CNCOP_JOBTYPE: "RSYNC",
      CNCOP_SESSION: "S-1",
      CNCOP_ATTEMPT: "1",
    });
  });

  test("CNCOP_DEBUG=1 under -d, and the attempt number", () => {
    const env = jobEnv(job, { paths, debug: true, session: "S-2", baseEnv: {} }, 3);
    expect(env.CNCOP_DEBUG).toBe("1");
    expect(env.CNCOP_ATTEMPT).toBe("3");
    expect(env.CNCOP_SESSION).toBe("S-2");
  });

  test("CNCOP_CONFIG is the config file given with -c", () => {
    const p = makePaths("/srv/cncop", "/etc/other.ini");
    expect(jobEnv(job, { paths: p, debug: false, session: "s", baseEnv: {} }).CNCOP_CONFIG).toBe("/etc/other.ini");
  });
});

describe("findInBin: Bin/ only", () => {
  const posixFiles = new Set(["/srv/cncop/Bin/backupagentrsync", "/srv/cncop/Bin/tool.exe"]);
  const posixCases: [string, string | undefined][] = [
    ["backupagentrsync", "/srv/cncop/Bin/backupagentrsync"],
    ["backupagentcifs", undefined],
    ["tool", undefined], // no extension search off Windows
    ["../Bin/backupagentrsync", undefined],
    ["/srv/cncop/Bin/backupagentrsync", undefined],
    ["..", undefined],
  ];
  for (const [name, want] of posixCases) {
    test(`linux: ${name}`, () => {
      expect(findInBin("/srv/cncop/Bin", name, "linux", (p) => posixFiles.has(p))).toBe(want);
    });
  }

  const winBin = "C:\\cncop\\Bin";
  // A file system that would answer for a stream, a device or a trimmed name, as Windows does.
  const winFiles = new Set(["C:\\cncop\\Bin\\backupagentcifs.exe", "C:\\cncop\\Bin\\backupagentnq.cmd", "C:\\cncop\\Bin\\backupagentdq.bat", "C:\\cncop\\Bin\\both.exe", "C:\\cncop\\Bin\\both.cmd", "C:\\cncop\\Bin\\plain", "C:\\cncop\\Bin\\backupagentcifs.exe:s.exe", "C:\\cncop\\Bin\\nul.exe", "C:\\cncop\\Bin\\x..exe", "C:\\cncop\\Bin\\x.exe"]);
  const winCases: [string, string | undefined][] = [
    ["backupagentcifs", "C:\\cncop\\Bin\\backupagentcifs.exe"],
    ["backupagentnq", "C:\\cncop\\Bin\\backupagentnq.cmd"],
    ["backupagentdq", "C:\\cncop\\Bin\\backupagentdq.bat"],
    ["both", "C:\\cncop\\Bin\\both.exe"], // .exe before .cmd
    ["backupagentcifs.exe", "C:\\cncop\\Bin\\backupagentcifs.exe"],
    ["plain", undefined], // Windows runs only .exe, .cmd, .bat
    ["backupagentrsync", undefined],
    ["..\\Bin\\backupagentcifs", undefined],
    ["C:\\cncop\\Bin\\backupagentcifs", undefined],
    ["backupagentcifs.exe:s", undefined], // an alternate data stream
    ["nul", undefined], // a device
    ["x.", undefined], // Windows would trim the dot: x.exe is not what [agents] names
    ["x ", undefined],
  ];
  for (const [name, want] of winCases) {
    test(`win32: ${name}`, () => {
      expect(findInBin(winBin, name, "win32", (p) => winFiles.has(p))).toBe(want);
    });
  }
});

describe("planJob: the whole run as data", () => {
  const config = parseConfigText("[agents]\nMINE = agentmine\n[defaults]\ncommand_timeout = 90\n", paths.configFile, "h");
  const bin = paths.bin;
  const files = new Set(["backupagentnq", "backupagentdq", "backupagentcifs", "agentmine", "pre.sh", "post.sh"].map((f) => nodePath.join(bin, f)));
  const fs: ConfineFs = { isFile: (p) => files.has(p), realpath: (p) => p };
  const LOG = "/srv/cncop/Logs/CA-26-03-01_0200.log";
  const ctx = (dryrun: boolean) => ({ paths, config, debug: false, mode: runModeOf(dryrun), session: "S", logPath: LOG, platform: "linux" as const, fs, baseEnv: {} });
  const plan = (row: Record<string, unknown>, dryrun = true) => planJob(rowToJob({ jobid: 9, jobtitle: "t", jobtype: "CIFS", ...row }), ctx(dryrun));

  test("CCS plans backupagentnq with the jobid and backupagentdq without", () => {
    const p = plan({ jobtype: "CCS" });
    expect(p.agents).toEqual([
      { agent: "backupagentnq", program: `${bin}/backupagentnq`, argv: [`${bin}/backupagentnq`, "-c", CONFIG, "-n", "9"] },
      { agent: "backupagentdq", program: `${bin}/backupagentdq`, argv: [`${bin}/backupagentdq`, "-c", CONFIG, "-n"] },
    ]);
    expect(p.session).toBe("S");
    expect(p.label).toBe("job 9 't'");
    expect(p.env.CNCOP_SESSION).toBe("S");
    expect(p.env.CNCOP_LOG).toBeUndefined();
  });

  test("without a dry run the agents get no -n", () => {
    expect(plan({}, false).agents?.[0]?.argv).toEqual([`${bin}/backupagentcifs`, "-c", CONFIG, "9"]);
    expect(plan({}, false).mode).toBe(runModeOf(false));
  });

  test("a type from [agents]", () => {
    expect(plan({ jobtype: "mine" }).agents?.map((a) => a.program)).toEqual([`${bin}/agentmine`]);
  });

  const ruleCases: [string, Record<string, unknown>, Partial<JobPlan["rules"]>][] = [
    ["defaults", {}, { problem: undefined, hasPrerun: false, missingAgents: undefined, maxretries: 3, retrydelaySec: 60, maxruntimeSec: 0 }],
    ["retry policy and deadline rule from the row", { maxretries: 0, retrydelay: 5, maxruntime: 600 }, { maxretries: 0, retrydelaySec: 5, maxruntimeSec: 600 }],
    ["a missing agent", { jobtype: "RSYNC" }, { problem: undefined, missingAgents: `agent backupagentrsync not found in ${bin}` }],
    ["a prerun", { prerun: "pre.sh" }, { hasPrerun: true }],
    ["a refused prerun is still a prerun", { prerun: "../evil.sh" }, { hasPrerun: true }],
    ["a blank prerun is none", { prerun: "  " }, { hasPrerun: false }],
    [
      "an unknown type",
      { jobtype: "UNKNOWN" },
      { problem: `unknown job type UNKNOWN (known: CCS, CIFS, FTP, FTPS, MINE, MSSQL, RSYNC, SFTP, WIMG; add it in [agents] of ${CONFIG})`, missingAgents: undefined },
    ],
    ["an invalid row", { maxretries: -1 }, { problem: "invalid job definition: maxretries = -1 is not a whole number from 0 to 100" }],
  ];
  for (const [name, row, rules] of ruleCases) {
    test(`rules: ${name}`, () => {
      expect(plan(row).rules).toMatchObject(rules);
    });
  }

  test("an unknown type has no agents", () => {
    expect(plan({ jobtype: "UNKNOWN" }).agents).toBeUndefined();
  });

  test("a missing agent is planned without a program", () => {
    expect(plan({ jobtype: "RSYNC" }).agents).toEqual([{ agent: "backupagentrsync", program: undefined, argv: [`${bin}/backupagentrsync`, "-c", CONFIG, "-n", "9"] }]);
  });

  test("the commands are prepared in the plan, each with its environment", () => {
    const p = plan({ prerun: "pre.sh 'a b' $x", postsuccess: "post.sh --done", postfailure: "../evil.sh" });
    expect(p.commandTimeoutSec).toBe(90);
    expect(p.commands.prerun).toMatchObject({ kind: "prerun", line: "pre.sh 'a b' $x", prepared: { ok: true, argv: [`${bin}/pre.sh`, "a b", "$x"], verbatim: false } });
    expect(p.commands.postsuccess).toMatchObject({ kind: "postsuccess", prepared: { ok: true, argv: [`${bin}/post.sh`, "--done"] } });
    expect(p.commands.postfailure?.prepared).toMatchObject({ ok: false, reason: expect.stringMatching(/^the program path leads outside Bin\/: it must be a program inside /) });
    const envCases: [keyof JobPlan["commands"], string | undefined][] = [
      ["prerun", undefined],
      ["postsuccess", "OK"],
      ["postfailure", "ERROR"],
    ];
    for (const [kind, status] of envCases) {
      const env = p.commands[kind]!.env;
      expect({ kind, status: env.CNCOP_STATUS, log: env.CNCOP_LOG, session: env.CNCOP_SESSION, attempt: env.CNCOP_ATTEMPT }).toEqual({ kind, status, log: LOG, session: "S", attempt: "1" });
    }
  });

  test("a job without commands plans none", () => {
    expect(plan({}).commands).toEqual({});
  });

  test("a program missing from Bin/ is refused in the plan", () => {
    expect(plan({ postsuccess: "nothere.sh" }).commands.postsuccess?.prepared).toMatchObject({ ok: false, reason: expect.stringMatching(/^program nothere.sh not found in /) });
  });
});

describe("describeCommand: what a dry run shows instead of running a command", () => {
  const cases: [PlannedCommand["kind"], string, PlannedCommand["prepared"], string][] = [
    ["prerun", "pre.sh 'a b' $x", { ok: true, argv: ["/srv/cncop/Bin/pre.sh", "a b", "$x"], verbatim: false }, "dry run: would run prerun: /srv/cncop/Bin/pre.sh 'a b' '$x'"],
    ["postsuccess", "post.sh --done", { ok: true, argv: ["/srv/cncop/Bin/post.sh", "--done"], verbatim: false }, "dry run: would run postsuccess: /srv/cncop/Bin/post.sh --done"],
    ["postfailure", "../evil.sh", { ok: false, reason: "the program path leads outside Bin/" }, 'dry run: postfailure would be refused: "../evil.sh": the program path leads outside Bin/'],
  ];
  for (const [kind, line, prepared, want] of cases) {
    test(want, () => {
      expect(describeCommand({ kind, line, prepared, confineTo: { bin: "/srv/cncop/Bin" }, env: {} })).toBe(want);
    });
  }
});

describe("runModeOf: a dry run decided once", () => {
  const cases: [boolean, Omit<RunMode, "logNote">][] = [
    [false, { agentsGetDryRunFlag: false, commands: "run", reports: "write", takesLock: true, afterJob: true, pruning: true }],
    [true, { agentsGetDryRunFlag: true, commands: "describe", reports: "log", takesLock: false, afterJob: false, pruning: false }],
  ];
  for (const [dryrun, want] of cases) {
    test(`dryrun=${dryrun}`, () => {
      expect(runModeOf(dryrun)).toMatchObject(want);
    });
  }
  test("only a dry run notes in the log what it leaves out", () => {
    expect(runModeOf(false).logNote).toBeUndefined();
    expect(runModeOf(true).logNote).toBe("dry run: agents get -n; no pre/post command, no email, no log pruning");
  });
});

describe("planJob on Windows: .cmd/.bat agents go through cmd.exe, or are refused", () => {
  const COMSPEC = "C:\\Windows\\System32\\cmd.exe";
  const plan = (root: string, agentFile: string, debug = false) => {
    const p = makePaths(root, undefined, "C:\\", nodePath.win32);
    const files = new Set([`${p.bin}\\${agentFile}`]);
    const fs: ConfineFs = { isFile: (f) => files.has(f), realpath: (f) => f };
    const config = parseConfigText("", p.configFile, "h");
    return planJob(rowToJob({ jobid: 7, jobtitle: "t", jobtype: "CIFS" }), { paths: p, config, debug, mode: runModeOf(false), session: "S", logPath: "L", platform: "win32", fs, comspec: COMSPEC, baseEnv: {} });
  };

  test("an .exe agent is started as it is", () => {
    const p = plan("C:\\cncop", "backupagentcifs.exe");
    expect(p.agents).toEqual([{ agent: "backupagentcifs", program: "C:\\cncop\\Bin\\backupagentcifs.exe", argv: ["C:\\cncop\\Bin\\backupagentcifs.exe", "-c", "C:\\cncop\\Config\\cncop3.ini", "7"] }]);
  });

  test("a .cmd agent in a root holding blanks and &: planned, startable (started through cmd.exe: agent-launch.test.ts)", () => {
    const p = plan("C:\\Program Files\\cncop & co", "backupagentcifs.cmd", true);
    expect(p.agents).toEqual([
      {
        agent: "backupagentcifs",
        program: "C:\\Program Files\\cncop & co\\Bin\\backupagentcifs.cmd",
        argv: ["C:\\Program Files\\cncop & co\\Bin\\backupagentcifs.cmd", "-d", "-c", "C:\\Program Files\\cncop & co\\Config\\cncop3.ini", "7"],
      },
    ]);
    expect(p.rules.missingAgents).toBeUndefined();
  });

  test("a .bat agent in a root whose path holds % cannot be started: the job ends ERROR with why", () => {
    const p = plan("C:\\50%off", "backupagentcifs.bat");
    expect(p.agents?.[0]?.refused).toMatch(/backupagentcifs\.bat cannot be started safely through cmd\.exe: .*percent sign/);
    expect(p.rules.missingAgents).toMatch(/^agent backupagentcifs could not be started: /);
  });
});
