/** What cncopagent adds to the environment of the suite's own agents (src/dispatcher/agent-env.ts). */
import { describe, expect, test } from "bun:test";
import { agentRuntimeEnv } from "../../src/dispatcher/agent-env.ts";

describe("agentRuntimeEnv", () => {
  test("backupagentsftp and backupagentftp, by name, path or .exe in any case, get the allocator setting", () => {
    for (const a of ["backupagentsftp", "/opt/cncop/Bin/backupagentsftp", "C:\\cncop\\Bin\\BackupAgentSFTP.exe", "backupagentftp", "D:\\Bin\\backupagentftp.EXE"]) {
      expect(agentRuntimeEnv(a)).toEqual({ MIMALLOC_PURGE_DELAY: "-1" });
    }
  });
  test("a value already in the environment is kept (nothing added)", () => {
    expect(agentRuntimeEnv("backupagentsftp", { MIMALLOC_PURGE_DELAY: "10" })).toEqual({});
  });
  test("other agents and third-party programs get nothing", () => {
    for (const a of ["backupagentcifs", "backupagentrsync", "myagent.cmd", "backupagentsftp.sh"]) expect(agentRuntimeEnv(a)).toEqual({});
  });
});
