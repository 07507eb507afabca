/**
 * The agent contract end to end (SPEC §5 "Agents", "Finish states", "Session", "Exit
 * status"): lookup in Bin/ only, the command line and environment, CCS running nq and
 * dq together, finish states from exit statuses, and cncopagent's own exit status.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { CONFIG_WITH_AGENTS, recorded, recordingAgent, recordings } from "./cncopagent-fakes.ts";

// Processes on a busy 2-core machine: room beyond bun's 5 s default, never a sleep. The
// tests run concurrently and each starts cncopagent (from source: a transpiling start-up)
// once or more: under npm test's load one took 29 s, so they get npm test's 60 s.
setDefaultTimeout(60_000);

// The tests run concurrently: their trees are removed after the file.
const scratch = makeScratch("file");
function tree(config?: string): Tree {
  return scratch.tree(config === undefined ? {} : { config });
}

describe("command line and environment", () => {
  test.concurrent("<Bin>/<agent> -c <absolute config> <jobid>; root as working folder; stdin empty; the job environment", async () => {
    const t = tree();
    t.addJob({ jobid: 3, jobtitle: "Bob's $(files) `x`", jobtype: "rsync" });
    recordingAgent(t, "backupagentrsync");
    const r = await t.run("cncopagent", ["3"], { env: { CNCOP_TEST_MARK: "inherited", CNCOP_DEBUG: "1", CNCOP_ATTEMPT: "9" } });
    expect(r.exitCode).toBe(0);
    const rec = recorded(t, "backupagentrsync", 3)!;
    expect(rec.argv).toEqual([nodePath.join(t.bin, "backupagentrsync"), "-c", t.configFile, "3"]);
    expect(realpathSync(rec.cwd)).toBe(realpathSync(t.root));
    expect(rec.stdin).toBe("");
    expect(rec.env.CNCOP_HOME).toBe(t.root);
    expect(rec.env.CNCOP_CONFIG).toBe(t.configFile);
    expect(rec.env.CNCOP_JOBID).toBe("3");
    expect(rec.env.CNCOP_JOBTITLE).toBe("Bob's $(files) `x`");
    expect(rec.env.CNCOP_JOBTYPE?.toUpperCase()).toBe("RSYNC");
    expect(rec.env.CNCOP_ATTEMPT).toBe("1");
    expect(rec.env.CNCOP_SESSION).toMatch(/^\S{8,}$/);
    expect(rec.env.CNCOP_TEST_MARK).toBe("inherited");
    expect(rec.env.CNCOP_DEBUG).toBeUndefined(); // only under -d
    expect(t.caLogText()).toContain(rec.env.CNCOP_SESSION!);
  });

  test.concurrent("-d and -n are passed on; CNCOP_DEBUG=1 under -d", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "CIFS" });
    recordingAgent(t, "backupagentcifs");
    const cfg = t.configFile;
    const agent = nodePath.join(t.bin, "backupagentcifs");
    const variants: [string[], string[], string | undefined][] = [
      [["-d", "1"], [agent, "-d", "-c", cfg, "1"], "1"],
      [["-n", "1"], [agent, "-c", cfg, "-n", "1"], undefined],
      [["-dn", "1"], [agent, "-d", "-c", cfg, "-n", "1"], "1"],
      [["--debug", "--dryrun", "a"], [agent, "-d", "-c", cfg, "-n", "1"], "1"],
    ];
    for (const [args, argv, debug] of variants) {
      const r = await t.run("cncopagent", args);
      expect(r.exitCode).toBe(0);
      const rec = recorded(t, "backupagentcifs", 1)!;
      expect(rec.argv).toEqual(argv);
      expect(rec.env.CNCOP_DEBUG).toBe(debug as string);
    }
  });

  test.concurrent("-n: the agent gets -n; no pre/post command runs", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "dry", jobtype: "CIFS", prerun: "mark pre", postsuccess: "mark post", postfailure: "mark fail" });
    recordingAgent(t, "backupagentcifs");
    t.script("mark", `touch "$CNCOP_HOME/ran-$1"`);
    const r = await t.run("cncopagent", ["-n", "dry"]);
    expect(r.exitCode).toBe(0);
    expect(recorded(t, "backupagentcifs", 1)!.argv).toEqual([nodePath.join(t.bin, "backupagentcifs"), "-c", t.configFile, "-n", "1"]);
    for (const m of ["pre", "post", "fail"]) expect(existsSync(nodePath.join(t.root, `ran-${m}`))).toBe(false);
    // Without -n the same job runs its commands: the markers above would have appeared.
    expect((await t.run("cncopagent", ["dry"])).exitCode).toBe(0);
    expect(existsSync(nodePath.join(t.root, "ran-pre"))).toBe(true);
    expect(existsSync(nodePath.join(t.root, "ran-post"))).toBe(true);
  });

  test.concurrent("no shell: a config path with spaces and shell characters is one argument", async () => {
    const t = tree();
    t.addJob({ jobid: 2, jobtitle: "b", jobtype: "CIFS" });
    recordingAgent(t, "backupagentcifs");
    const dir = nodePath.join(t.root, "odd $HOME; dir");
    mkdirSync(dir);
    const cfg = nodePath.join(dir, "my cncop3.ini");
    writeFileSync(cfg, "[defaults]\n");
    const r = await t.run("cncopagent", ["-c", cfg, "2"]);
    expect(r.exitCode).toBe(0);
    const rec = recorded(t, "backupagentcifs", 2)!;
    expect(rec.argv).toEqual([nodePath.join(t.bin, "backupagentcifs"), "-c", cfg, "2"]);
    expect(rec.env.CNCOP_CONFIG).toBe(cfg);
  });

  test.concurrent("-c with a relative path inside Config/ sets the root (no CNCOP_HOME); the agent gets it absolute", async () => {
    const t = tree();
    t.addJob({ jobid: 4, jobtitle: "c", jobtype: "CIFS" });
    recordingAgent(t, "backupagentcifs");
    writeFileSync(nodePath.join(t.root, "Config", "alt.ini"), "[defaults]\n");
    const r = await t.run("cncopagent", ["-c", "Config/alt.ini", "4"], { env: { CNCOP_HOME: "" } });
    expect(r.exitCode).toBe(0);
    const rec = recorded(t, "backupagentcifs", 4)!;
    expect(rec.argv).toEqual([nodePath.join(t.bin, "backupagentcifs"), "-c", nodePath.join(t.root, "Config", "alt.ini"), "4"]);
    expect(rec.env.CNCOP_HOME).toBe(t.root);
    expect(t.caLogs().length).toBe(1);
    for (const d of ["Messages", "Logs", "Work"]) expect(existsSync(nodePath.join(t.root, "Spool", d))).toBe(true);
  });

  test.concurrent("each job run has its own session; attempts of one run share it", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "CIFS", maxretries: 1, retrydelay: 0 });
    t.addJob({ jobid: 2, jobtitle: "b", jobtype: "CIFS" });
    t.script(
      "backupagentcifs",
      `d="$CNCOP_HOME/rec/backupagentcifs-$CNCOP_JOBID-$CNCOP_ATTEMPT"; mkdir -p "$d"; env > "$d/env"; printf '%s\\n' "$0" "$@" > "$d/argv"; pwd > "$d/cwd"; : > "$d/stdin"
[ "$CNCOP_JOBID" = 1 ] && [ "$CNCOP_ATTEMPT" = 1 ] && exit 75
exit 0`,
    );
    const r = await t.run("cncopagent", ["1", "2"]);
    expect(r.exitCode).toBe(0);
    const s11 = recorded(t, "backupagentcifs", 1, 1)!.env.CNCOP_SESSION;
    const s12 = recorded(t, "backupagentcifs", 1, 2)!.env.CNCOP_SESSION;
    const s21 = recorded(t, "backupagentcifs", 2, 1)!.env.CNCOP_SESSION;
    expect(recorded(t, "backupagentcifs", 1, 2)!.env.CNCOP_ATTEMPT).toBe("2");
    expect(s11).toBe(s12!);
    expect(s21).not.toBe(s11!);
    // And a second invocation gets new sessions.
    await t.run("cncopagent", ["2"]);
    expect(recorded(t, "backupagentcifs", 2, 1)!.env.CNCOP_SESSION).not.toBe(s21!);
  });
});

describe("the suite's own agents' runtime settings", () => {
  test.concurrent("backupagentsftp (and backupagentftp) gets MIMALLOC_PURGE_DELAY=-1 unless the environment has one; other agents get the environment as it is", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "sftp", jobtype: "SFTP" });
    t.addJob({ jobid: 2, jobtitle: "rsync", jobtype: "rsync" });
    recordingAgent(t, "backupagentsftp");
    recordingAgent(t, "backupagentrsync");
    const r = await t.run("cncopagent", ["1", "2"]);
    expect(r.exitCode).toBe(0);
    expect(recorded(t, "backupagentsftp", 1)!.env.MIMALLOC_PURGE_DELAY).toBe("-1");
    expect(recorded(t, "backupagentrsync", 2)!.env.MIMALLOC_PURGE_DELAY).toBe(process.env.MIMALLOC_PURGE_DELAY);
    rmSync(nodePath.join(t.root, "rec"), { recursive: true, force: true });
    const kept = await t.run("cncopagent", ["1"], { env: { MIMALLOC_PURGE_DELAY: "25" } });
    expect(kept.exitCode).toBe(0);
    expect(recorded(t, "backupagentsftp", 1)!.env.MIMALLOC_PURGE_DELAY).toBe("25");
  });
});

describe("agent lookup: Bin/ only", () => {
  test.concurrent("an agent on PATH or in the working folder but not in Bin/ is missing: ERROR", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "MSSQL" });
    const elsewhere = nodePath.join(t.root, "elsewhere");
    mkdirSync(elsewhere);
    for (const p of [nodePath.join(elsewhere, "backupagentmssql"), nodePath.join(t.root, "backupagentmssql")]) {
      writeFileSync(p, `#!/bin/sh\ntouch "$CNCOP_HOME/ran-outside-bin"\n`);
      chmodSync(p, 0o755);
    }
    const r = await t.run("cncopagent", ["1"], { env: { PATH: `${elsewhere}:${process.env.PATH}` } });
    expect(r.exitCode).toBe(1);
    expect(existsSync(nodePath.join(t.root, "ran-outside-bin"))).toBe(false);
    expect(t.caLogText()).toMatch(/final state: ERROR \(.*backupagentmssql.*not found/);
  });

  test.concurrent("[agents] overrides a built-in type and adds a new one", async () => {
    const t = tree(CONFIG_WITH_AGENTS({ rsync: "myrsync", NEWTYPE: "agentnew" }));
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "RSYNC" });
    t.addJob({ jobid: 2, jobtitle: "b", jobtype: "newtype" });
    recordingAgent(t, "backupagentrsync");
    recordingAgent(t, "myrsync");
    recordingAgent(t, "agentnew");
    const r = await t.run("cncopagent", ["1", "2"]);
    expect(r.exitCode).toBe(0);
    expect(recordings(t)).toEqual(["agentnew-2-1", "myrsync-1-1"]);
  });

  test.concurrent("a job whose type is unknown ends as ERROR; the others run", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "FLOPPY" });
    t.addJob({ jobid: 2, jobtitle: "b", jobtype: "CIFS" });
    recordingAgent(t, "backupagentcifs");
    const r = await t.run("cncopagent", ["1", "2"]);
    expect(r.exitCode).toBe(1);
    expect(recordings(t)).toEqual(["backupagentcifs-2-1"]);
    expect(t.caLogText()).toMatch(/job 1 .*final state: ERROR \(.*FLOPPY/);
  });
});

describe("finish states from exit statuses", () => {
  const cases: [string, string, number, RegExp][] = [
    ["exit 0 is OK", "exit 0", 0, /final state: OK/],
    ["exit 1 is ERROR", "exit 1", 1, /final state: ERROR \(.*status 1\b/],
    ["exit 3 is ERROR", "exit 3", 1, /final state: ERROR \(.*status 3\b/],
    ["exit 74 is ERROR, not a re-run", "exit 74", 1, /final state: ERROR \(.*status 74\b/],
    ["death by a signal is ERROR", "kill -KILL $$", 1, /final state: ERROR \(.*SIGKILL/],
    ["death by SIGSEGV is ERROR", "kill -SEGV $$", 1, /final state: ERROR \(.*SIGSEGV/],
    ["exit 75 with no re-run left is ERROR", "exit 75", 1, /final state: ERROR \(.*re-run/],
  ];
  for (const [name, body, exit, logLine] of cases) {
    test.concurrent(name, async () => {
      const t = tree();
      t.addJob({ jobid: 1, jobtitle: "a", jobtype: "CIFS", maxretries: 0 });
      t.script("backupagentcifs", `echo "ran $CNCOP_ATTEMPT" >> "$CNCOP_HOME/ran"\n${body}`);
      const r = await t.run("cncopagent", ["1"]);
      expect(r.exitCode).toBe(exit);
      expect(readFileSync(nodePath.join(t.root, "ran"), "utf8")).toBe("ran 1\n");
      expect(t.caLogText()).toMatch(logLine);
      expect(r.stderr).toMatch(exit === 0 ? /\bOK\b/ : /\bERROR\b/);
    });
  }

  /** Put a file in Bin/ (unlinked first: with CNCOP_BIN, Bin/ holds hard links to dist/). */
  const put = (t: Tree, data: string | Uint8Array, mode: number) => {
    const p = nodePath.join(t.bin, "backupagentcifs");
    rmSync(p, { force: true });
    writeFileSync(p, data);
    chmodSync(p, mode);
  };
  const unstartable: [string, (t: Tree) => void][] = [
    ["missing", (t) => rmSync(nodePath.join(t.bin, "backupagentcifs"), { force: true })],
    ["not executable", (t) => put(t, "#!/bin/sh\nexit 0\n", 0o644)],
    ["with a missing interpreter", (t) => put(t, "#!/nonexistent/interpreter\nexit 0\n", 0o755)],
    ["not a program at all", (t) => put(t, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0]), 0o755)],
    ["a folder", (t) => {
      rmSync(nodePath.join(t.bin, "backupagentcifs"), { force: true });
      mkdirSync(nodePath.join(t.bin, "backupagentcifs"));
    }],
  ];
  for (const [name, make] of unstartable) {
    test.concurrent(`an agent ${name}: ERROR, no re-run, the next job still runs`, async () => {
      const t = tree();
      t.addJob({ jobid: 1, jobtitle: "a", jobtype: "CIFS", maxretries: 2, retrydelay: 0 });
      t.addJob({ jobid: 2, jobtitle: "b", jobtype: "RSYNC" });
      recordingAgent(t, "backupagentrsync");
      make(t);
      const r = await t.run("cncopagent", ["1", "2"]);
      expect(r.exitCode).toBe(1);
      const log = t.caLogText();
      expect(log).toMatch(/job 1 'a' final state: ERROR/);
      expect(log).not.toMatch(/job 1 'a': attempt 2/);
      expect(log).toMatch(/job 2 'b' final state: OK/);
      expect(recordings(t)).toEqual(["backupagentrsync-2-1"]);
    });
  }
});

describe("CCS: backupagentnq and backupagentdq together", () => {
  test.concurrent("started together; nq gets the jobid, dq none; both OK is OK", async () => {
    const t = tree();
    t.addJob({ jobid: 5, jobtitle: "cloud", jobtype: "CCS" });
    // Each waits (up to 20 s) for the other to have started: they cannot run one after the other.
    for (const [me, other] of [["nq", "dq"], ["dq", "nq"]]) {
      t.script(
        `backupagent${me}`,
        `printf '%s\\n' "$0" "$@" > "$CNCOP_HOME/${me}.argv"
echo "$CNCOP_JOBID $CNCOP_SESSION" > "$CNCOP_HOME/${me}.env"
touch "$CNCOP_HOME/${me}.started"
i=0; while [ ! -e "$CNCOP_HOME/${other}.started" ]; do i=$((i+1)); [ $i -gt 400 ] && exit 1; sleep 0.05; done
exit 0`,
      );
    }
    const r = await t.run("cncopagent", ["cloud"]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(nodePath.join(t.root, "nq.argv"), "utf8")).toBe(`${nodePath.join(t.bin, "backupagentnq")}\n-c\n${t.configFile}\n5\n`);
    expect(readFileSync(nodePath.join(t.root, "dq.argv"), "utf8")).toBe(`${nodePath.join(t.bin, "backupagentdq")}\n-c\n${t.configFile}\n`);
    // Both get the job's environment, with one session.
    expect(readFileSync(nodePath.join(t.root, "nq.env"), "utf8")).toBe(readFileSync(nodePath.join(t.root, "dq.env"), "utf8"));
  });

  const table: [number, number, number, string][] = [
    [0, 1, 1, "ERROR"],
    [1, 0, 1, "ERROR"],
    [75, 1, 1, "ERROR"],
    [1, 75, 1, "ERROR"],
    [0, 75, 1, "ERROR"], // RE-RUN with maxretries 0 ends as ERROR
  ];
  for (const [nq, dq, exit, state] of table) {
    test.concurrent(`nq exits ${nq}, dq exits ${dq}: ${state}, one attempt`, async () => {
      const t = tree();
      t.addJob({ jobid: 1, jobtitle: "c", jobtype: "CCS", maxretries: 0 });
      t.script("backupagentnq", `echo nq >> "$CNCOP_HOME/ran"; exit ${nq}`);
      t.script("backupagentdq", `echo dq >> "$CNCOP_HOME/ran"; exit ${dq}`);
      const r = await t.run("cncopagent", ["1"]);
      expect(r.exitCode).toBe(exit);
      expect(readFileSync(nodePath.join(t.root, "ran"), "utf8").split("\n").sort().join(" ").trim()).toBe("dq nq");
      expect(t.caLogText()).toMatch(new RegExp(`final state: ${state}`));
    });
  }

  test.concurrent("RE-RUN from one agent re-runs both; then OK", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "c", jobtype: "CCS", maxretries: 1, retrydelay: 0 });
    t.script("backupagentnq", `echo "nq $CNCOP_ATTEMPT" >> "$CNCOP_HOME/ran"; exit 0`);
    t.script("backupagentdq", `echo "dq $CNCOP_ATTEMPT" >> "$CNCOP_HOME/ran"; [ "$CNCOP_ATTEMPT" = 1 ] && exit 75; exit 0`);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(nodePath.join(t.root, "ran"), "utf8").trim().split("\n").sort()).toEqual(["dq 1", "dq 2", "nq 1", "nq 2"]);
  });

  test.concurrent("ERROR wins over RE-RUN: no re-run", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "c", jobtype: "CCS", maxretries: 3, retrydelay: 0 });
    t.script("backupagentnq", `echo "nq $CNCOP_ATTEMPT" >> "$CNCOP_HOME/ran"; exit 75`);
    t.script("backupagentdq", `echo "dq $CNCOP_ATTEMPT" >> "$CNCOP_HOME/ran"; exit 2`);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(readFileSync(nodePath.join(t.root, "ran"), "utf8").trim().split("\n").sort()).toEqual(["dq 1", "nq 1"]);
  });

  test.concurrent("a missing backupagentdq: ERROR, backupagentnq not started alone", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "c", jobtype: "CCS" });
    t.script("backupagentnq", `touch "$CNCOP_HOME/nq-ran"`);
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(existsSync(nodePath.join(t.root, "nq-ran"))).toBe(false);
    expect(t.caLogText()).toMatch(/final state: ERROR \(.*backupagentdq/);
  });
});

describe("cncopagent's exit status", () => {
  test.concurrent("0 when every job is OK, 1 when one failed", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "good", jobtype: "CIFS" });
    t.addJob({ jobid: 2, jobtitle: "bad", jobtype: "RSYNC" });
    t.script("backupagentcifs", "exit 0");
    t.script("backupagentrsync", "exit 1");
    expect((await t.run("cncopagent", ["good"])).exitCode).toBe(0);
    expect((await t.run("cncopagent", ["bad", "good"])).exitCode).toBe(1);
    expect((await t.run("cncopagent", ["-a"])).exitCode).toBe(1);
  });

  test.concurrent("3 when a job was skipped as already running; 1 over 3; 2 over 1", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "long", jobtype: "CIFS" });
    t.addJob({ jobid: 2, jobtitle: "bad", jobtype: "RSYNC" });
    t.script("backupagentcifs", `touch "$CNCOP_HOME/started"; while [ ! -e "$CNCOP_HOME/release" ]; do sleep 0.05; done; exit 0`);
    t.script("backupagentrsync", "exit 1");
    const first = t.spawn("cncopagent", ["long"]);
    try {
      await waitFor(() => existsSync(nodePath.join(t.root, "started")), 20_000, "the first run's agent");
      const skipped = await t.run("cncopagent", ["long"]);
      expect(skipped.exitCode).toBe(3);
      expect(skipped.stderr).toMatch(/already running/);
      expect((await t.run("cncopagent", ["long", "bad"])).exitCode).toBe(1);
      expect((await t.run("cncopagent", ["long", "nosuch"])).exitCode).toBe(2);
    } finally {
      writeFileSync(nodePath.join(t.root, "release"), "");
    }
    expect(await first.exited).toBe(0);
    // Once the first run has ended, the job runs again.
    expect((await t.run("cncopagent", ["long"])).exitCode).toBe(0);
  }, 60_000);
});

describe("the job database is never altered", () => {
  test.concurrent("same bytes after runs; no journal or WAL files left in Config/", async () => {
    const t = tree();
    t.addJob({ jobid: 1, jobtitle: "a", jobtype: "CIFS" });
    t.addJob({ jobid: 2, jobtitle: "b", jobtype: "RSYNC", maxretries: 0 });
    t.script("backupagentcifs", "exit 0");
    t.script("backupagentrsync", "exit 75");
    const before = readFileSync(t.dbFile);
    const files = readdirSync(nodePath.join(t.root, "Config")).sort();
    expect((await t.run("cncopagent", ["-a"])).exitCode).toBe(1);
    expect((await t.run("cncopagent", ["-d", "-n", "1"])).exitCode).toBe(0);
    expect(readFileSync(t.dbFile).equals(before)).toBe(true);
    expect(readdirSync(nodePath.join(t.root, "Config")).sort()).toEqual(files);
  });
});
