/**
 * Agents and pre/post commands on Windows: `.exe`, `.cmd` and `.bat` programs get their
 * argv and every CNCOP_* variable intact (spaces, quotes, %, ^, & included) — batch files
 * through `cmd.exe /d /v:off /s /c` with every argument quoted, or refused with why when
 * cmd.exe would re-parse one — and the confinement to Bin\ holds for Windows spellings.
 */
import { describe, expect, test } from "bun:test";
import { symlinkSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { makeScratch } from "../helpers/scratch.ts";
import { type FakeCall, finalStates, makeWinTree, sessionsOf, winPath, type WinTree } from "./helpers.ts";

const scratch = makeScratch("file");
const tree = (o?: Parameters<typeof makeWinTree>[0]): WinTree => scratch.track(makeWinTree(o));

/** A batch file that records what cmd.exe gave it (%~nx0, %~1..%~3) and hands %* on to the fake agent. */
const FORWARDER = ['@echo off', 'set "FAKE_VIA=%~nx0 [%~1] [%~2] [%~3]"', '"%~dp0fakeagent.exe" %*', "exit /b %ERRORLEVEL%"];

const AGENTS_CONFIG = ["[defaults]", "days_of_logs = 90", "[agents]", "EXEJOB = agentexe", "CMDJOB = agentcmd", "BATJOB = agentbat", "FAILJOB = agentfail", ""].join("\r\n");

function byProgram(calls: FakeCall[], name: string): FakeCall[] {
  return calls.filter((c) => c.program.toLowerCase().endsWith(`\\${name.toLowerCase()}`));
}

describe("agents as .exe, .cmd and .bat", () => {
  test.concurrent("each gets -d -c <config> <jobid>, the root as working folder and every CNCOP_* variable intact, in a root whose path holds spaces, &, ^ and '; exit 75 comes back through cmd.exe", async () => {
    const t = tree({ tag: "a b&c^d'e ", config: AGENTS_CONFIG });
    t.fake("agentexe.exe");
    // Behind both batch agents, the fake says RE-RUN (75) on a first attempt: the status comes
    // back through cmd.exe (the .cmd job re-runs and ends OK, the .bat job has no re-run left).
    t.fake("fakeagent.exe", ["first=75"]);
    t.batch("agentcmd.cmd", FORWARDER);
    t.batch("agentbat.bat", FORWARDER);
    const titles = ['Exe "quoted" 100% ^&', "Cmd & %PATH% ^ 'x'", "Bat ! (x) <y> | z"];
    const ids = [
      t.addJob({ jobtitle: titles[0]!, jobtype: "EXEJOB" }),
      t.addJob({ jobtitle: titles[1]!, jobtype: "CMDJOB", maxretries: 1, retrydelay: 0 }),
      t.addJob({ jobtitle: titles[2]!, jobtype: "BATJOB", maxretries: 0 }),
    ];
    const r = await t.run("cncopagent", ["-d", ...ids.map(String)]);
    expect({ code: r.exitCode, log: r.exitCode === 1 ? "" : `${r.stderr}\n${t.caLogText()}` }).toEqual({ code: 1, log: "" });
    const calls = t.calls();
    const sessions = sessionsOf(t.caLogText());
    expect(calls.filter((c) => c.env.CNCOP_JOBID === String(ids[1])).map((c) => c.env.CNCOP_ATTEMPT)).toEqual(["1", "2"]);
    ids.forEach((id, i) => {
      const call = calls.find((c) => c.env.CNCOP_JOBID === String(id));
      expect(call).toBeDefined();
      expect(call!.argv).toEqual(["-d", "-c", t.winConfig, String(id)]);
      expect(call!.cwd.toLowerCase()).toBe(t.winRoot.toLowerCase());
      const session = sessions[id] ?? "not in the CA log";
      expect(call!.env).toEqual({
        CNCOP_HOME: t.winRoot,
        CNCOP_CONFIG: t.winConfig,
        CNCOP_JOBID: String(id),
        CNCOP_JOBTITLE: titles[i]!,
        CNCOP_JOBTYPE: ["EXEJOB", "CMDJOB", "BATJOB"][i]!,
        CNCOP_SESSION: session,
        CNCOP_ATTEMPT: "1",
        CNCOP_DEBUG: "1",
        ...(i === 0 ? {} : { FAKE_VIA: `agent${i === 1 ? "cmd.cmd" : "bat.bat"} [-d] [-c] [${t.winConfig}]` }),
      });
    });
    expect(finalStates(r)).toEqual({ [ids[0]!]: "OK", [ids[1]!]: "OK", [ids[2]!]: "ERROR" });
    // The fake agent writes no JF- of its own: cncopagent writes one per run (SPEC §5), in order.
    const jfs = t.reports("JF-").map((j) => [j.body.jobid, j.body.status, j.body.reason] as [number, string, string]);
    expect(jfs.sort((a, b) => a[0] - b[0])).toEqual([
      [ids[0]!, "OK", "completed"],
      [ids[1]!, "OK", "completed on attempt 2"],
      [ids[2]!, "ERROR", "agent asked for a re-run but maxretries is 0"],
    ]);
    // The CA log shows what was started: the batch agents through cmd.exe.
    expect(t.caLogText()).toMatch(/attempt 1: run: 'C:\\windows\\System32\\cmd\.exe' \/d \/v:off \/s \/c /i);
  });

  test.concurrent("a .cmd agent in a root whose path holds % cannot be started safely: ERROR with why; cncopjobs -t x says so; an .exe agent there runs", async () => {
    const t = tree({ tag: "50%off ", config: AGENTS_CONFIG });
    t.fake("agentexe.exe");
    t.fake("fakeagent.exe");
    t.batch("agentcmd.cmd", FORWARDER);
    writeFileSync(nodePath.join(t.bin, "agentbat.bat.exe"), "");
    writeFileSync(nodePath.join(t.bin, "agentfail.exe"), "not a program");
    const cmdJob = t.addJob({ jobtitle: "cmd", jobtype: "CMDJOB", maxretries: 0 });
    const exeJob = t.addJob({ jobtitle: "exe", jobtype: "EXEJOB" });
    const [run, types] = await Promise.all([t.run("cncopagent", [String(cmdJob), String(exeJob)]), t.run("cncopjobs", ["-t", "x"])]);
    expect(run.exitCode).toBe(1);
    const jf = Object.fromEntries(t.reports("JF-").map((j) => [j.body.jobid as number, j.body]));
    expect(finalStates(run)).toEqual({ [cmdJob]: "ERROR", [exeJob]: "OK" });
    expect(jf[cmdJob]?.status).toBe("ERROR");
    expect(String(jf[cmdJob]?.reason)).toMatch(/agent agentcmd could not be started: .*agentcmd\.cmd cannot be started safely through cmd\.exe: .*percent sign/);
    const je = t.reports("JE-").map((j) => j.body);
    expect(je).toEqual([expect.objectContaining({ jobid: cmdJob, source: "agent", exitcode: null, message: expect.stringContaining("percent sign") })]);
    expect(t.calls().map((c) => [c.env.CNCOP_JOBID, c.argv, c.env.CNCOP_CONFIG])).toEqual([[String(exeJob), ["-c", t.winConfig, String(exeJob)], t.winConfig]]);
    expect(t.winConfig).toContain("50%off");

    expect(types.exitCode).toBe(0);
    expect(types.stdout).toMatch(/^CMDJOB\s+.*agentcmd\s+\S+\s+CANNOT START\s/m);
    expect(types.stdout).toMatch(/^EXEJOB\s+.*agentexe\s+\S+\s+yes\s/m);
    expect(types.stdout).toMatch(/^FAILJOB\s+.*agentfail\s+\S+\s+CANNOT START\s/m);
    expect(types.stderr).toContain("agent agentcmd cannot be started:");
    expect(types.stderr).toMatch(/agent agentfail cannot be started: .*agentfail\.exe is not a Windows program/);
  });
});

describe("pre/post commands as .exe and .cmd", () => {
  test.concurrent("quoted arguments reach them intact; a failing .cmd prerun and a refused post command end their jobs ERROR with JE reports", async () => {
    const t = tree({ tag: "prepost ", config: AGENTS_CONFIG });
    t.fake("agentexe.exe");
    t.fake("agentfail.exe", ["err=agent failed on purpose", "exit=1"]);
    t.fake("pre.exe");
    t.fake("fakeagent.exe");
    t.batch("post.cmd", FORWARDER);
    t.batch("failpre.cmd", ["@echo off", "echo prerun says no 1>&2", "exit /b 3"]);
    const ok = t.addJob({
      jobtitle: "ok",
      jobtype: "EXEJOB",
      prerun: `pre.exe "a b" 'x&y' c^d 100% "q\\"uote" "" 'end\\'`,
      postsuccess: `post.cmd "a b" 'x&y' 'c^d' '!x!' '(p) <>|' 'C:\\dir\\'`,
    });
    const refusedPost = t.addJob({ jobtitle: "refused post", jobtype: "FAILJOB", maxretries: 0, postfailure: 'post.cmd "%PATH%"' });
    const failedPre = t.addJob({ jobtitle: "failed pre", jobtype: "EXEJOB", prerun: "failpre.cmd", postfailure: "post.cmd failure" });
    const r = await t.run("cncopagent", [String(ok), String(refusedPost), String(failedPre)]);
    expect(r.exitCode).toBe(1);
    const calls = t.calls();
    const pre = byProgram(calls, "pre.exe");
    expect(pre.map((c) => c.argv)).toEqual([["a b", "x&y", "c^d", "100%", 'q"uote', "", "end\\"]]);
    expect(pre[0]!.env).toMatchObject({ CNCOP_JOBID: String(ok), CNCOP_JOBTITLE: "ok" });
    const post = byProgram(calls, "fakeagent.exe");
    expect(post.map((c) => [c.env.CNCOP_JOBID, c.env.CNCOP_STATUS, c.argv])).toEqual([
      [String(ok), "OK", ["a b", "x&y", "c^d", "!x!", "(p) <>|", "C:\\dir\\"]],
      [String(failedPre), "ERROR", ["failure"]],
    ]);
    expect(post[0]!.env.FAKE_VIA).toBe("post.cmd [a b] [x&y] [c^d]");

    const jf = Object.fromEntries(t.reports("JF-").map((j) => [j.body.jobid as number, j.body]));
    expect(finalStates(r)).toEqual({ [ok]: "OK", [refusedPost]: "ERROR", [failedPre]: "ERROR" });
    expect(jf[failedPre]).toMatchObject({ status: "ERROR", reason: "prerun failed: exited with status 3" });
    const je = t.reports("JE-").map((j) => j.body);
    expect(je.find((e) => e.jobid === failedPre)).toMatchObject({ source: "prerun", exitcode: 3, message: "prerun says no \n" }); // CRLF normalised (issue 15)
    expect(je.find((e) => e.jobid === refusedPost)).toMatchObject({ source: "postfailure", exitcode: null, message: expect.stringContaining("percent sign") });
    expect(byProgram(calls, "agentexe.exe").map((c) => c.env.CNCOP_JOBID)).toEqual([String(ok)]);
  });
});

describe("confinement to Bin\\ with Windows spellings", () => {
  test.concurrent("..\\, another drive, an absolute path outside, UNC, a stream, a device name, a trailing dot and a link out are refused; another case and a way back in are not", async () => {
    const t = tree({ tag: "confine ", config: AGENTS_CONFIG });
    t.fake("agentexe.exe");
    t.fake("ok.exe");
    const outside = nodePath.join(t.root, "outside.exe");
    t.fake("../outside.exe");
    symlinkSync(outside, nodePath.join(t.bin, "linked.exe"));
    const refused: [string, RegExp][] = [
      ["..\\outside.exe", /leads outside Bin/],
      ["C:\\windows\\system32\\cmd.exe /c echo x", /on drive C: but Bin\/ is on drive Z:/],
      [`"${winPath(outside)}"`, /leads outside Bin/],
      ["'\\\\localhost\\c$\\windows\\system32\\cmd.exe'", /UNC/],
      ["'\\\\?\\Z:\\tmp\\x.exe'", /UNC and device paths/],
      ["ok.exe:stream", /alternate data streams/],
      ["nul", /reserved device name/],
      ["ok.exe.", /ends with a dot or a space/],
      ["linked.exe", /outside/],
    ];
    const accepted = ["OK.EXE", "..\\BIN\\ok.exe", `"${t.winBin.toUpperCase()}\\Ok.Exe"`];
    const refusedIds = refused.map(([line], i) => t.addJob({ jobtitle: `refused ${i}`, jobtype: "EXEJOB", prerun: line }));
    const acceptedIds = accepted.map((line, i) => t.addJob({ jobtitle: `accepted ${i}`, jobtype: "EXEJOB", prerun: line }));
    const r = await t.run("cncopagent", ["-t", "EXEJOB"]);
    expect(r.exitCode).toBe(1);
    const jf = Object.fromEntries(t.reports("JF-").map((j) => [j.body.jobid as number, j.body]));
    const je = Object.fromEntries(t.reports("JE-").map((j) => [j.body.jobid as number, j.body]));
    refused.forEach(([line, why], i) => {
      const id = refusedIds[i]!;
      expect({ line, status: jf[id]?.status, source: je[id]?.source }).toEqual({ line, status: "ERROR", source: "prerun" });
      expect({ line, message: String(je[id]?.message) }).toEqual({ line, message: expect.stringMatching(why) });
    });
    const states = finalStates(r);
    accepted.forEach((line, i) => expect({ line, status: states[acceptedIds[i]!], je: je[acceptedIds[i]!]?.message }).toEqual({ line, status: "OK", je: undefined }));
    const ran = t.calls().filter((c) => c.program.toLowerCase().endsWith("\\ok.exe")).map((c) => Number(c.env.CNCOP_JOBID));
    expect(ran.sort((a, b) => a - b)).toEqual(acceptedIds);
    expect(t.calls().some((c) => c.program.toLowerCase().includes("outside"))).toBe(false);
  });
});
