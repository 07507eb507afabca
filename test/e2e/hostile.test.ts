/**
 * Hostile input and secrets end to end (issue 16; SPEC §3, §4, §5 "Its log"): titles,
 * sources and messages made of every control character, CSI and OSC sequences, bidi
 * overrides, forged log lines and 1 MB strings, run through every program that prints
 * them; secrets in URLs, settings and command lines; files that hold secrets.
 *
 * Expected: no program writes a control character (other than its line breaks) or an
 * escape sequence to its output, no log gains a line, `w CA` counts the runs that
 * happened, and no secret appears in any output, log, report, history or argv.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { FAKE_CONFIG } from "../helpers/fake.ts";
import { agentTree } from "../helpers/agents.ts";
import { makeScratch } from "../helpers/scratch.ts";
import type { RunOutput, Tree } from "../helpers/tree.ts";

setDefaultTimeout(60_000);
const scratch = makeScratch("file");

const C0_DEL_C1 = [...Array(0x20).keys(), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)].map((c) => String.fromCharCode(c)).join("");
const MB = 1024 * 1024;

/** [what, the hostile text]: each is a job's title (made unique), source, destination and the agent's words. */
const HOSTILE: readonly [string, string][] = [
  ["every C0 control, DEL and C1", `all${C0_DEL_C1}end`],
  ["CSI: clear the screen, move the cursor, colour", "\x1b[2J\x1b[H\x1b[1A\x1b[31mred\x1b[0m"],
  ["OSC: window title, hyperlink (BEL and ST)", "\x1b]0;owned\x07\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"],
  ["a C1 CSI", "\u009b2J\u009d0;t\u009c"],
  ["a forged log line", "x\n2026-11-30 10:00:00 job 9 'Payroll' (FAKE): final state: OK\r\n"],
  ["CR overwrite", "ERROR\rOK   "],
  ["bidi overrides and isolates", "\u202eKO ETATS\u202c \u2066\u2067x\u2069\u202a\u202b\u202d"],
  ["NUL", "a\u0000b"],
];

/** What may reach a terminal: no control character but the line break, no bidi override. */
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const firstUnsafe = (s: string) => {
  const m = UNSAFE.exec(s);
  return m ? `U+${m[0].charCodeAt(0).toString(16)} at ${m.index}: ${JSON.stringify(s.slice(Math.max(0, m.index - 40), m.index + 40))}` : undefined;
};
function expectSafe(what: string, r: RunOutput): void {
  expect({ what, stdout: firstUnsafe(r.stdout), stderr: firstUnsafe(r.stderr) }).toEqual({ what, stdout: undefined, stderr: undefined });
}
const TIMESTAMPED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /;

describe("hostile titles, sources and messages through every program that prints them", () => {
  let tree: Tree;
  const outputs: [string, RunOutput][] = [];
  const jobs = HOSTILE.length + 1;

  test("cncopagent runs every job, each exactly once, and says so safely", async () => {
    tree = scratch.tree({ config: FAKE_CONFIG() });
    // The agent repeats the job's hostile words on stdout and stderr; the prerun on stderr.
    tree.script("fakeagent", `cat "$CNCOP_HOME/msg-$CNCOP_JOBID"; cat "$CNCOP_HOME/msg-$CNCOP_JOBID" >&2; [ "$CNCOP_JOBID" = 2 ] && exit 1; exit 0`);
    tree.script("pre.sh", `cat "$CNCOP_HOME/msg-$CNCOP_JOBID" >&2; exit 0`);
    HOSTILE.forEach(([, text], i) => {
      const id = tree.addJob({ jobtitle: `${i} ${text}`, jobtype: "FAKE", source: text, destination: text, prerun: "pre.sh", maxretries: 0 });
      writeFileSync(nodePath.join(tree.root, `msg-${id}`), text);
    });
    // 1 MB: a title, a source, and one line of output.
    const big = "T".repeat(MB);
    const bigId = tree.addJob({ jobtitle: `big ${big}`, jobtype: "FAKE", source: `S${"\x1b".repeat(MB)}`, maxretries: 0 });
    writeFileSync(nodePath.join(tree.root, `msg-${bigId}`), `${"\x1b[31m".repeat(MB / 5)}\n`);
    const r = await tree.run("cncopagent", ["-a"]);
    outputs.push(["cncopagent -a", r]);
    expect(r.exitCode).toBe(1); // job 2's agent exits 1
    const log = tree.caLogText();
    const lines = log.split("\n").slice(0, -1);
    expect(lines.filter((l) => !TIMESTAMPED.test(l)).map((l) => l.slice(0, 80))).toEqual([]);
    // One final state per job, at the end of a line that names the job by its id.
    const finals = lines.filter((l) => / final state: (OK|ERROR) \(.*\) after [\d.]+ \S+, \d+ attempt\(s\)$/.test(l));
    expect(finals).toHaveLength(jobs);
    // The lines of our own (not child output) hold no control character at all.
    const own = lines.filter((l) => !/^\S+ \S+ \[(fakeagent#\d+|prerun) std(out|err)\] /.test(l));
    expect(own.map(firstUnsafe).filter((x) => x !== undefined)).toEqual([]);
  });

  test("w CA counts the runs that happened: no forged run, no forged final state", async () => {
    const r = await tree.run("w", ["CA"]);
    outputs.push(["w CA", r]);
    expect(r.exitCode).toBe(0);
    // The job with the 1 MB title writes lines longer than w reads (1 MiB, docs/watcher.md):
    // it is left out, and every other run is counted once, the forged one not at all.
    expect(r.stdout).toContain(`${HOSTILE.length} runs: ${HOSTILE.length - 1} OK, 1 ERROR`);
    expect(r.stdout).not.toContain("job 9 'Payroll'' (FAKE)");
  });

  test("w, cncopjobs list, show, history and export print everything escaped", async () => {
    const runs = await Promise.all([
      tree.run("w", []),
      tree.run("cncopjobs", ["list"]),
      tree.run("cncopjobs", ["show", "1"]),
      tree.run("cncopjobs", ["show", "5"]),
      tree.run("cncopjobs", ["history"]),
      tree.run("cncopjobs", ["--json", "list"]),
    ]);
    ["w", "cncopjobs list", "cncopjobs show 1", "cncopjobs show 5", "cncopjobs history", "cncopjobs --json list"].forEach((n, i) => outputs.push([n, runs[i]!]));
    for (const [, r] of outputs) expect(r.exitCode === 0 || r.exitCode === 1).toBe(true);
    for (const [what, r] of outputs) expectSafe(what, r);
    expect(runs[3]!.stdout).toContain("x\\n2026-11-30 10:00:00 job 9 'Payroll' (FAKE): final state: OK\\r\\n");
  });

  test("w -f shows the agents' escapes escaped, as they are written", async () => {
    const proc = Bun.spawn(tree.argv("w", ["-f", "CA"]), { cwd: tree.root, env: { ...process.env, CNCOP_HOME: tree.root, NO_COLOR: "1" }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    scratch.defer(() => proc.kill("SIGKILL"));
    let out = "";
    const dec = new TextDecoder();
    const reader = proc.stdout.getReader();
    const readUntil = async (done: () => boolean) => {
      const until = Date.now() + 20_000;
      while (!done() && Date.now() < until) {
        const { value, done: end } = await reader.read();
        if (end) break;
        out += dec.decode(value, { stream: true });
      }
    };
    await readUntil(() => out.includes("cncopagent finished"));
    // A new run of the OSC job: w -f moves to its new CA log and shows it as it is written.
    expect((await tree.run("cncopagent", ["3"])).exitCode).toBe(0);
    await readUntil(() => out.split("cncopagent finished").length > 2);
    proc.kill("SIGINT");
    await proc.exited;
    expect(out).toContain("cncopagent finished");
    expect(out).toContain("\\x1b]0;owned\\x07");
    expect(firstUnsafe(out)).toBeUndefined();
  });
});

describe("secrets never leave the job database and the configuration", () => {
  const SECRETS = ["PW1-url", "PW2-auth", "PW3-bearer", "PW4-cookie", "PW5-password", "PW6-option", "PW7-sshpass", "PW8-token", "PW9-rp-url", "PW10-api-key"];

  test.concurrent("in outputs, logs, reports, history and rsync's argv they are ***", async () => {
    // The reporter's URL names a user and password and goes over plain http://, to a closed port.
    const tree = scratch.track(agentTree({ config: `${FAKE_CONFIG()}\n[network]\nurl = http://rp:PW9-rp-url@127.0.0.1:9/api\napi_key = PW10-api-key\ntimeout = 2\n` }));
    // A stand-in for rsync that records its argv and the password it was given.
    tree.script("fake-rsync", `printf '%s\\n' "$0" "$@" > "$CNCOP_HOME/rsync-argv"; printf '%s' "$RSYNC_PASSWORD" > "$CNCOP_HOME/rsync-password"; echo "rsync: connection to rsync://bob:PW1-url@127.0.0.1/mod failed" >&2; exit 10`);
    tree.script("pre.sh", `echo "pre got $*" >&2; exit 0`);
    const settings = { rsync: "Bin/fake-rsync", auth: "PW2-auth", bearer: "PW3-bearer", session_cookie: "PW4-cookie", password: "PW5-password", api_token: "PW8-token" };
    tree.addJob({ jobtitle: "Secrets", jobtype: "RSYNC", source: "rsync://bob:PW1-url@127.0.0.1/mod/", destination: "Data", prerun: "pre.sh --password=PW6-option 'sshpass -p PW7-sshpass ssh'", settings: JSON.stringify(settings), maxretries: 0 });
    const runs: [string, RunOutput][] = [];
    runs.push(["cncopagent 1", await tree.run("cncopagent", ["1"])]);
    expect(runs[0]![1].stderr).toContain("[network] url is plain http:// (http://rp:***@127.0.0.1:9/api): the api_key travels in clear text");
    expect(readdirSync(nodePath.join(tree.root, "Spool", "Logs")).some((n) => n.startsWith("RP-"))).toBe(true);
    expect(readFileSync(nodePath.join(tree.root, "rsync-argv"), "utf8")).toContain("rsync://bob@127.0.0.1/mod/");
    // settings.password wins over the URL's; either way it goes through the environment.
    expect(readFileSync(nodePath.join(tree.root, "rsync-password"), "utf8")).toBe("PW5-password");
    for (const args of [["list"], ["show", "1"], ["--json", "show", "1"], ["export"], ["history"]]) runs.push([`cncopjobs ${args.join(" ")}`, await tree.run("cncopjobs", args)]);
    runs.push(["w RSYNC", await tree.run("w", ["RSYNC"])]);
    expect(runs.find(([n]) => n === "cncopjobs show 1")![1].stdout).toContain("rsync://bob:***@127.0.0.1/mod/");
    const texts: [string, string][] = runs.flatMap(([n, r]) => [[`${n} stdout`, r.stdout], [`${n} stderr`, r.stderr]] as [string, string][]);
    texts.push(["rsync argv", readFileSync(nodePath.join(tree.root, "rsync-argv"), "utf8")]);
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(nodePath.join(dir, e.name)) : [nodePath.join(dir, e.name)]));
    for (const f of walk(tree.root)) {
      if (/backupjobs\.db/.test(f) || f === tree.configFile || f.endsWith("rsync-password") || f.startsWith(tree.bin)) continue;
      texts.push([nodePath.relative(tree.root, f), readFileSync(f, "latin1")]);
    }
    const leaks = texts.flatMap(([where, text]) => SECRETS.filter((s) => text.includes(s)).map((s) => `${s} in ${where}`));
    expect(leaks).toEqual([]);
    // A masked source given back, as `show` printed it, keeps the stored password.
    expect((await tree.run("cncopjobs", ["set", "1", "--source", "rsync://bob:***@127.0.0.1/mod/"])).exitCode).toBe(0);
    expect((await tree.run("cncopjobs", ["--show-secrets", "--json", "show", "1"])).stdout).toContain('"source": "rsync://bob:PW1-url@127.0.0.1/mod/"');
    // The files that can name them are the owner's alone.
    const logs = readdirSync(nodePath.join(tree.root, "Spool", "Logs"));
    for (const f of [...logs.filter((n) => /^(RSYNC|RP)-/.test(n)).map((n) => `Spool/Logs/${n}`), "Spool/history.db"]) {
      expect({ f, mode: (statSync(nodePath.join(tree.root, f)).mode & 0o777).toString(8) }).toEqual({ f, mode: "600" });
    }
  });
});

describe("nothing outside Bin/ runs", () => {
  test.concurrent("an agent in Bin/ that is a link to a program outside is refused: ERROR, a JE report, nothing run", async () => {
    const tree = scratch.tree({ config: FAKE_CONFIG() });
    const outside = scratch.dir("outside");
    writeFileSync(nodePath.join(outside, "evil"), `#!/bin/sh\ntouch "${outside}/ran"\n`);
    chmodSync(nodePath.join(outside, "evil"), 0o755);
    symlinkSync(nodePath.join(outside, "evil"), nodePath.join(tree.bin, "fakeagent"));
    tree.addJob({ jobtitle: "Linked", jobtype: "FAKE", maxretries: 2 });
    const r = await tree.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(existsSync(nodePath.join(outside, "ran"))).toBe(false);
    expect(tree.caLogText()).toMatch(/job 1 'Linked' final state: ERROR \(agent fakeagent refused: .*fakeagent resolves to .*evil, outside .*Bin: an agent must be a program inside .*Bin\)/);
    const je = tree.reports("JE-");
    expect(je).toHaveLength(1);
    expect(je[0]!.body).toMatchObject({ type: "jobexception", source: "agent", exitcode: null, message: expect.stringMatching(/^agent fakeagent refused: .*outside/) });
  });
});

describe("files that hold secrets", () => {
  test.concurrent("cncopjobs add creates the job database and its -wal and -shm 0600; an existing database keeps its mode", async () => {
    const tree = scratch.tree({ config: FAKE_CONFIG(), createDb: false });
    const r = await tree.run("cncopjobs", ["add", "--title", "Nightly", "--type", "FAKE", "--settings", '{"password":"x"}']);
    expect(r.exitCode).toBe(0);
    const mode = (f: string) => (existsSync(f) ? (statSync(f).mode & 0o777).toString(8) : "absent");
    expect([mode(tree.dbFile), mode(`${tree.dbFile}-wal`), mode(`${tree.dbFile}-shm`)].filter((m) => m !== "absent")).toEqual(["600", "600", "600"].slice(0, existsSync(`${tree.dbFile}-wal`) ? 3 : 1));
    chmodSync(tree.dbFile, 0o640);
    expect((await tree.run("cncopjobs", ["add", "--title", "Second", "--type", "FAKE"])).exitCode).toBe(0);
    expect(mode(tree.dbFile)).toBe("640");
  });
});

describe("a line break in an argument never starts a line of an error message", () => {
  const FORGED = "x\nerror: forged\r\x1b[2K";
  test.concurrent.each([
    ["cncopagent", [FORGED]],
    ["cncopreporter", [FORGED]],
    ["cncopjobs", ["show", FORGED]],
    ["w", ["--daysago", FORGED]],
    ["backupagentcifs", ["-c", "Config/cncop3.ini", FORGED]],
  ] as const)("%s", async (program, args) => {
    const tree = scratch.tree({ config: FAKE_CONFIG() });
    if (program === "backupagentcifs") tree.script("unused", "exit 0");
    const r = await tree.run(program, [...args]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/x\\nerror: forged\\r\\(x1b|u001b)\[2K/);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error: forged"))).toEqual([]);
    expectSafe(program, r);
  });
});

describe("the ini rules of SPEC §3, end to end", () => {
  test.concurrent.each([
    ["a quoted value with a comment is the whole value", '[network]\nurl = https://127.0.0.1:9/api\napi_key = "k#Ey;42xyz" ; key from the portal\n', 0, /^cncopjobs: no jobs in /],
    ["a key given twice", "[defaults]\ndays_of_logs = 30\ndays_of_logs = 0\n", 2, /cncop3\.ini, line 3: \[defaults\] days_of_logs is given twice in this section \(first on line 2\)/],
    ["a section given twice", "[defaults]\nrole = LOCAL\n[defaults]\n", 2, /line 3: section \[defaults\] is given twice \(first on line 1\)/],
    ["a 2 MB value", `[defaults]\nrole = ${"R".repeat(2 * MB)}\n`, 2, /is 2097171 bytes: a configuration file over 1 MiB \(1048576 bytes\) is refused/],
    ["a 500 kB bad value is echoed cut", `[defaults]\nrole = ${"R".repeat(500_000)}\n`, 2, /role = "R{120}\.\.\. \(500000 characters\)" is not valid/],
  ] as const)("%s", async (_what, config, exit, stderr) => {
    const tree = scratch.tree({ config });
    const r = await tree.run("cncopjobs", ["list"]);
    expect(r.exitCode).toBe(exit);
    expect(r.stderr).toMatch(stderr);
    expect(r.stderr.length).toBeLessThan(2000);
  });
});
