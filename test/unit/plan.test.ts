/** SPEC §5 "Agents": the job-type table, agent lookup in Bin/ only, command line and environment. */
import { describe, expect, test } from "bun:test";
import nodePath from "node:path";
import { agentArgv, findInBin, jobEnv, planJob } from "../../src/dispatcher/plan.ts";
import { parseConfigText } from "../../src/install/config.ts";
import { agentsForType, jobTypeTable, knownJobTypes } from "../../src/install/job-types.ts";
import { rowToJob } from "../../src/install/jobs-db.ts";
import { makePaths } from "../../src/install/paths.ts";

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
  const winFiles = new Set(["C:\\cncop\\Bin\\backupagentcifs.exe", "C:\\cncop\\Bin\\backupagentnq.cmd", "C:\\cncop\\Bin\\backupagentdq.bat", "C:\\cncop\\Bin\\both.exe", "C:\\cncop\\Bin\\both.cmd", "C:\\cncop\\Bin\\plain"]);
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
  ];
  for (const [name, want] of winCases) {
    test(`win32: ${name}`, () => {
      expect(findInBin(winBin, name, "win32", (p) => winFiles.has(p))).toBe(want);
    });
  }
});

describe("planJob", () => {
  const config = parseConfigText("[agents]\nMINE = agentmine\n", paths.configFile, "h");
  const present = new Set([nodePath.join(paths.bin, "backupagentnq"), nodePath.join(paths.bin, "backupagentdq"), nodePath.join(paths.bin, "agentmine")]);
  const ctx = { paths, config, debug: false, dryrun: true, session: "S", platform: "linux" as const, isFile: (p: string) => present.has(p), baseEnv: {} };

  test("CCS plans backupagentnq with the jobid and backupagentdq without", () => {
    const plan = planJob(rowToJob({ jobid: 9, jobtitle: "cloud", jobtype: "CCS" }), ctx);
    expect(plan.agents).toEqual([
      { agent: "backupagentnq", program: "/srv/cncop/Bin/backupagentnq", argv: ["/srv/cncop/Bin/backupagentnq", "-c", CONFIG, "-n", "9"] },
      { agent: "backupagentdq", program: "/srv/cncop/Bin/backupagentdq", argv: ["/srv/cncop/Bin/backupagentdq", "-c", CONFIG, "-n"] },
    ]);
    expect(plan.session).toBe("S");
    expect(plan.env.CNCOP_SESSION).toBe("S");
  });

  test("a missing agent is planned without a program", () => {
    const plan = planJob(rowToJob({ jobid: 1, jobtitle: "r", jobtype: "RSYNC" }), ctx);
    expect(plan.agents).toEqual([{ agent: "backupagentrsync", program: undefined, argv: ["/srv/cncop/Bin/backupagentrsync", "-c", CONFIG, "-n", "1"] }]);
  });

  test("a type from [agents]", () => {
    const plan = planJob(rowToJob({ jobid: 2, jobtitle: "m", jobtype: "mine" }), ctx);
    expect(plan.agents?.map((a) => a.program)).toEqual(["/srv/cncop/Bin/agentmine"]);
  });

  test("an unknown type has no agents", () => {
    expect(planJob(rowToJob({ jobid: 3, jobtitle: "u", jobtype: "UNKNOWN" }), ctx).agents).toBeUndefined();
  });
});
