/**
 * Pre/post commands end to end (SPEC §5 "Pre/post commands", issue 3): which command runs
 * after which outcome, exactly once; output capture; environment; quoting without a shell;
 * confinement to Bin/ with nothing run; command_timeout; --dryrun.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import nodePath from "node:path";
import { type Tree, waitFor } from "../helpers/tree.ts";
import { collect, FAST_GRACE, fakeTree, lockRecordPath, LOOP_SH, mark, processGone, readMarker, waitForFileSh, waitForMarker } from "../helpers/fake.ts";
import { makeScratch } from "../helpers/scratch.ts";

// Real processes on a shared 2-core machine: give each test room (waits poll with deadlines).
setDefaultTimeout(60_000);

const scratch = makeScratch();
function tree(defaults = ""): Tree {
  return scratch.track(fakeTree(defaults));
}

/** Post commands that record which one ran and with which CNCOP_STATUS. */
function postScripts(t: Tree): void {
  t.script("post-ok.sh", mark("post", "postsuccess $CNCOP_STATUS"));
  t.script("post-fail.sh", mark("post", "postfailure $CNCOP_STATUS"));
}

describe("which post command runs, exactly once per job run", () => {
  type Case = { name: string; agent?: string; prerun?: string; job?: Record<string, number>; exit: number; post: string; reason: RegExp };
  const cases: Case[] = [
    { name: "OK", agent: "exit 0", exit: 0, post: "postsuccess OK", reason: /OK \(completed\)/ },
    { name: "OK after a re-run", agent: `[ "$CNCOP_ATTEMPT" = 2 ] && exit 0; exit 75`, job: { maxretries: 2, retrydelay: 0 }, exit: 0, post: "postsuccess OK", reason: /OK \(completed on attempt 2\)/ },
    { name: "agent ERROR", agent: "exit 1", exit: 1, post: "postfailure ERROR", reason: /ERROR \(agent exited with status 1\)/ },
    { name: "re-runs exhausted", agent: "exit 75", job: { maxretries: 1, retrydelay: 0 }, exit: 1, post: "postfailure ERROR", reason: /ERROR \(re-runs exhausted/ },
    { name: "maxruntime passed", agent: "exec sleep 60", job: { maxruntime: 1 }, exit: 1, post: "postfailure ERROR", reason: /ERROR \(timed out after 1 s\)/ },
    { name: "agent killed by a signal", agent: "kill -KILL $$", exit: 1, post: "postfailure ERROR", reason: /ERROR \(killed by SIGKILL\)/ },
    { name: "agent missing", exit: 1, post: "postfailure ERROR", reason: /ERROR \(agent fakeagent not found/ },
    { name: "prerun failed", agent: "exit 0", prerun: "fail.sh", exit: 1, post: "postfailure ERROR", reason: /ERROR \(prerun failed: exited with status 4\)/ },
    { name: "prerun refused", agent: "exit 0", prerun: "../nope.sh", exit: 1, post: "postfailure ERROR", reason: /ERROR \(prerun failed: refused/ },
  ];
  test.each(cases)("$name", async (c) => {
    const t = tree();
    postScripts(t);
    t.script("fail.sh", "exit 4");
    if (c.agent !== undefined) t.script("fakeagent", `${mark("agent")}\n${c.agent}`);
    t.addJob({ jobtitle: "Payroll", jobtype: "FAKE", prerun: c.prerun ?? null, postsuccess: "post-ok.sh", postfailure: "post-fail.sh", ...c.job });
    const r = await t.run("cncopagent", ["1"], { env: FAST_GRACE });
    expect(r.exitCode).toBe(c.exit);
    expect(readMarker(t, "post")).toEqual([c.post]);
    expect(t.caLogText()).toMatch(new RegExp(`job 1 'Payroll' final state: ${c.reason.source}`));
    if (c.prerun) expect(readMarker(t, "agent")).toEqual([]);
    expect(existsSync(lockRecordPath(t, 1))).toBe(false);
  });

  test("jobs without post commands, and a prerun that succeeds, run the agent", async () => {
    const t = tree();
    t.script("pre.sh", mark("pre"));
    t.script("fakeagent", mark("agent"));
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "pre.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(readMarker(t, "pre").length).toBe(1);
    expect(readMarker(t, "agent").length).toBe(1);
  });
});

describe("output, environment, working folder, stdin", () => {
  test("every line of stdout and stderr goes into the CA log, marked with command and stream", async () => {
    const t = tree();
    t.script("talk.sh", `echo "out one"; echo "err one" >&2; printf 'out two\\nout three'; printf 'err\\ttwo\\n' >&2`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "talk.sh", postsuccess: "talk.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    const log = t.caLogText();
    for (const kind of ["prerun", "postsuccess"]) {
      for (const line of [`[${kind} stdout] out one`, `[${kind} stderr] err one`, `[${kind} stdout] out two`, `[${kind} stdout] out three`, `[${kind} stderr] err\ttwo`]) {
        expect(log).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} ${line.replace(/[[\]]/g, "\\$&")}$`, "m"));
      }
      expect(log).toContain(`${kind}: run: ${nodePath.join(t.bin, "talk.sh")}`);
      expect(log).toMatch(new RegExp(`${kind}: exited with status 0 after`));
    }
  });

  test("a line is in the log while the command still runs", async () => {
    const t = tree();
    const go = nodePath.join(t.root, "go");
    t.script("slow.sh", `echo "first line"; ${waitForFileSh(go)}; echo "second line"`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "slow.sh" });
    const proc = t.spawn("cncopagent", ["1"]);
    await waitFor(() => t.caLogText().includes("[prerun stdout] first line"), 20_000, "the first line in the log");
    expect(t.caLogText()).not.toContain("second line");
    writeFileSync(go, "");
    const r = await collect(proc);
    expect(r.exitCode).toBe(0);
    expect(t.caLogText()).toContain("[prerun stdout] second line");
  });

  test("commands get the job environment, CNCOP_LOG, CNCOP_STATUS (post only), the root as cwd, empty stdin", async () => {
    const t = tree();
    const dump = (name: string) =>
      t.script(
        name,
        `{ echo "cwd=$(pwd)"; for v in CNCOP_HOME CNCOP_CONFIG CNCOP_JOBID CNCOP_JOBTITLE CNCOP_JOBTYPE CNCOP_SESSION CNCOP_ATTEMPT CNCOP_LOG CNCOP_DEBUG; do eval "echo $v=\\\${$v-unset}"; done; echo "STATUS=\${CNCOP_STATUS-unset}"; echo "stdin=$(cat | wc -c)"; } > "$CNCOP_HOME/${name}.env"`,
      );
    dump("pre.sh");
    dump("post.sh");
    t.script("fakeagent", `[ "$CNCOP_ATTEMPT" = 2 ] && exit 0; exit 75`);
    t.addJob({ jobid: 42, jobtitle: "Pay roll", jobtype: "fake", prerun: "pre.sh", postsuccess: "post.sh", maxretries: 1, retrydelay: 0 });
    const r = await t.run("cncopagent", ["42"]);
    expect(r.exitCode).toBe(0);
    const read = (n: string) => Object.fromEntries(readFileSync(nodePath.join(t.root, `${n}.env`), "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    const pre = read("pre.sh");
    const post = read("post.sh");
    const caLog = nodePath.join(t.root, "Logs", t.caLogs()[0]!);
    for (const env of [pre, post]) {
      expect(env).toMatchObject({ cwd: t.root, CNCOP_HOME: t.root, CNCOP_CONFIG: t.configFile, CNCOP_JOBID: "42", CNCOP_JOBTITLE: "Pay roll", CNCOP_JOBTYPE: "FAKE", CNCOP_LOG: caLog, CNCOP_DEBUG: "unset", stdin: "0" });
      expect(env.CNCOP_SESSION).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(pre.CNCOP_SESSION).toBe(post.CNCOP_SESSION!);
    expect(t.caLogText()).toContain(`session ${pre.CNCOP_SESSION}`);
    expect(pre.STATUS).toBe("unset");
    expect(post.STATUS).toBe("OK");
    expect(pre.CNCOP_ATTEMPT).toBe("1");
    // Post commands learn how many attempts the job took.
    expect(post.CNCOP_ATTEMPT).toBe("2");
  });
});

describe("command lines: quoting, and no shell", () => {
  test("quotes, escapes and shell metacharacters arrive as literal arguments", async () => {
    const t = tree();
    t.script("args.sh", `for a in "$@"; do printf '<%s>\\n' "$a"; done > "$CNCOP_HOME/args.txt"`);
    t.script("fakeagent", "exit 0");
    writeFileSync(nodePath.join(t.root, "glob-me.txt"), "");
    const line = `args.sh 'a b' "say \\"hi\\"" c\\ d ';' '|' && $(touch pwned) \`touch pwned2\` * ?lob* %PATH% $HOME ~ > out.txt 'it'\\''s' "" C:\\data`;
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: line });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    const args = readFileSync(nodePath.join(t.root, "args.txt"), "utf8").trim().split("\n");
    expect(args).toEqual(["<a b>", '<say "hi">', "<c d>", "<;>", "<|>", "<&&>", "<$(touch>", "<pwned)>", "<`touch>", "<pwned2`>", "<*>", "<?lob*>", "<%PATH%>", "<$HOME>", "<~>", "<>>", "<out.txt>", "<it's>", "<>", "<C:\\data>"]);
    expect(readdirSync(t.root).filter((n) => /pwned|out\.txt/.test(n))).toEqual([]);
  });

  test("an unreadable command line is refused with a JE, and nothing runs", async () => {
    const t = tree();
    t.script("pre.sh", mark("pre"));
    t.script("fakeagent", mark("agent"));
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "pre.sh 'unterminated" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(readMarker(t, "pre")).toEqual([]);
    expect(readMarker(t, "agent")).toEqual([]);
    const [je] = t.reports("JE-");
    expect(je?.body).toMatchObject({ source: "prerun", exitcode: null });
    expect(String(je?.body.message)).toContain("unterminated single quote");
  });
});

describe("confinement to Bin/: every escape is refused before anything runs", () => {
  function escapeTree(): Tree {
    const t = tree();
    // A program outside Bin/ that would leave a mark if it ever ran.
    mkdirSync(nodePath.join(t.root, "outside"));
    const evil = nodePath.join(t.root, "outside", "evil.sh");
    writeFileSync(evil, `#!/bin/sh\n${mark("evil")}\n`);
    chmodSync(evil, 0o755);
    writeFileSync(nodePath.join(t.root, "evil.sh"), `#!/bin/sh\n${mark("evil")}\n`);
    chmodSync(nodePath.join(t.root, "evil.sh"), 0o755);
    symlinkSync(evil, nodePath.join(t.bin, "link-out.sh"));
    symlinkSync("../outside/evil.sh", nodePath.join(t.bin, "rel-link-out.sh"));
    symlinkSync(nodePath.join(t.root, "outside"), nodePath.join(t.bin, "dir-out"));
    mkdirSync(nodePath.join(t.bin, "sub"));
    t.script("fakeagent", mark("agent"));
    return t;
  }
  const spellings: [string, (t: Tree) => string][] = [
    ["parent folder", () => "../evil.sh"],
    ["parent of a subfolder", () => "sub/../../outside/evil.sh"],
    ["absolute path outside", (t) => nodePath.join(t.root, "outside", "evil.sh")],
    ["absolute system program", () => "/bin/sh -c 'touch pwned'"],
    ["a Bin/ look-alike", (t) => `${t.bin}/../outside/evil.sh`],
    ["symlink pointing out", () => "link-out.sh"],
    ["relative symlink pointing out", () => "rel-link-out.sh"],
    ["symlinked folder pointing out", () => "dir-out/evil.sh"],
    ["program not found", () => "missing.sh"],
    ["a folder", () => "sub"],
    ["a program found only on PATH", () => "sh -c 'touch pwned'"],
  ];
  test.each(spellings)("%s", async (_name, spell) => {
    const t = escapeTree();
    const line = spell(t);
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: line, postfailure: line });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    expect(readMarker(t, "evil")).toEqual([]);
    expect(readMarker(t, "agent")).toEqual([]);
    expect(existsSync(nodePath.join(t.root, "pwned"))).toBe(false);
    const log = t.caLogText();
    expect(log).toContain(`prerun: refused ${JSON.stringify(line)}`);
    expect(log).toContain(`postfailure: refused ${JSON.stringify(line)}`);
    expect(log).toContain(`it must be a program inside ${t.bin}`);
    const je = t.reports("JE-").map((x) => x.body);
    expect(je.map((b) => b.source).sort()).toEqual(["postfailure", "prerun"]);
    for (const b of je) expect(String(b.message)).toContain(`it must be a program inside ${t.bin}`);
    expect(t.reports("JF-").map((x) => x.body)).toMatchObject([{ status: "ERROR", reason: expect.stringMatching(/^prerun failed: refused/) }]);
  });
});

describe("confinement is checked when a command starts, not only when the job is planned", () => {
  test("a prerun that points a Bin/ link outside: the post command is refused, nothing outside runs", async () => {
    const t = tree();
    const outside = nodePath.join(t.root, "outside.sh");
    writeFileSync(outside, `#!/bin/sh\n${mark("evil")}\n`);
    chmodSync(outside, 0o755);
    t.script("post.sh", mark("post", "inside"));
    t.script("swap.sh", `ln -sf "${outside}" "$CNCOP_HOME/Bin/post.sh"`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "swap.sh", postsuccess: "post.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(readMarker(t, "evil")).toEqual([]);
    expect(readMarker(t, "post")).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(t.caLogText()).toContain(`postsuccess: refused "post.sh": ${t.bin}/post.sh resolves to ${outside}, outside`);
    expect(t.reports("JE-").map((x) => x.body)).toMatchObject([{ source: "postsuccess" }]);
  });

  test("a program the prerun installs in Bin/ runs as the post command", async () => {
    const t = tree();
    t.script("install.sh", `printf '#!/bin/sh\\necho installed >> "$CNCOP_HOME/later-ran"\\n' > "$CNCOP_HOME/Bin/later.sh"; chmod 755 "$CNCOP_HOME/Bin/later.sh"`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "install.sh", postsuccess: "later.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(nodePath.join(t.root, "later-ran"), "utf8")).toBe("installed\n");
    expect(t.reports("JE-")).toEqual([]);
  });
});

describe("command_timeout", () => {
  test("a hung prerun's whole tree is stopped (TERM, then KILL) and counts as failed", async () => {
    const t = tree("command_timeout = 1");
    // Ignores TERM, and leaves a child in its group that ignores it too.
    t.script("hang.sh", `trap '' TERM; sh -c "trap '' TERM; echo \\$\\$ > '$CNCOP_HOME/child.pid'; ${LOOP_SH.replace(/"/g, '\\"')}" & echo $$ > "$CNCOP_HOME/hang.pid"; echo "hung" >&2; ${LOOP_SH}`);
    t.script("fakeagent", mark("agent"));
    t.script("post-fail.sh", mark("post", "postfailure $CNCOP_STATUS"));
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "hang.sh", postfailure: "post-fail.sh" });
    const began = Date.now();
    const r = await t.run("cncopagent", ["1"], { env: FAST_GRACE });
    expect(r.exitCode).toBe(1);
    expect(Date.now() - began).toBeLessThan(20_000);
    for (const f of ["hang.pid", "child.pid"]) {
      const pid = Number(readFileSync(nodePath.join(t.root, f), "utf8"));
      expect(processGone(pid)).toBe(true);
    }
    expect(readMarker(t, "agent")).toEqual([]);
    expect(readMarker(t, "post")).toEqual(["postfailure ERROR"]);
    expect(t.caLogText()).toContain("prerun: timed out after 1 s and was stopped");
    const [je] = t.reports("JE-");
    expect(je?.body).toMatchObject({ source: "prerun", exitcode: null, message: "hung\n" });
    expect(t.reports("JF-")[0]?.body).toMatchObject({ status: "ERROR", reason: "prerun failed: timed out after 1 s and was stopped" });
  });

  test("a hung post command is stopped too, gives a JE, and leaves an OK job OK", async () => {
    const t = tree("command_timeout = 1");
    t.script("hang.sh", "exec sleep 60");
    t.script("fakeagent", `${OWN_JF("OK")}; exit 0`);
    t.addJob({ jobtitle: "A", jobtype: "FAKE", postsuccess: "hang.sh" });
    const r = await t.run("cncopagent", ["1"], { env: FAST_GRACE });
    expect(r.exitCode).toBe(0);
    expect(t.reports("JE-").map((x) => x.body)).toMatchObject([{ source: "postsuccess", exitcode: null, message: expect.stringContaining("timed out after 1 s") }]);
    // The agent's own JF- stands: cncopagent adds none.
    expect(t.reports("JF-").map((x) => x.name)).toEqual(["JF-own.json"]);
  });
});

/** Shell code: the agent writes its own JF- for its session (as the suite's agents do). */
const OWN_JF = (status: string) =>
  `printf '{"type":"jobfinished","jobid":1,"session":"%s","status":"${status}","reason":"own"}' "$CNCOP_SESSION" > "$CNCOP_HOME/Spool/Messages/JF-own.json"`;

describe("failing post commands", () => {
  test.each([
    ["postsuccess", `${OWN_JF("OK")}; exit 0`, 0],
    ["postfailure", `${OWN_JF("ERROR")}; exit 1`, 1],
  ] as const)("a failing %s gives a JE with its exit code and stderr, and does not change the job's state", async (kind, agent, exit) => {
    const t = tree();
    t.script("bad.sh", `echo "disk full" >&2; exit 9`);
    t.script("fakeagent", agent);
    t.addJob({ jobtitle: "A", jobtype: "FAKE", [kind]: "bad.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(exit);
    const je = t.reports("JE-").map((x) => x.body);
    expect(je).toMatchObject([{ type: "jobexception", source: kind, exitcode: 9 }]);
    expect(String(je[0]!.message)).toContain("exited with status 9");
    expect(String(je[0]!.message)).toContain("disk full");
    expect(r.stderr).toContain(`${kind} command exited with status 9`);
    // The agent's own exit gives the final state and it wrote its JF-: cncopagent writes none.
    expect(t.reports("JF-").map((x) => x.name)).toEqual(["JF-own.json"]);
  });
});

describe("--dryrun", () => {
  test("prints each command line it would run, and runs none", async () => {
    const t = tree();
    t.script("pre.sh", mark("pre"));
    t.script("post.sh", mark("post"));
    t.script("fakeagent", `${mark("agent", "$*")}\nexit 0`);
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "pre.sh 'a b' $x", postsuccess: "post.sh --done", postfailure: "post.sh --failed" });
    const r = await t.run("cncopagent", ["-n", "1"]);
    expect(r.exitCode).toBe(0);
    expect(readMarker(t, "pre")).toEqual([]);
    expect(readMarker(t, "post")).toEqual([]);
    expect(readMarker(t, "agent")).toEqual([`-c ${t.configFile} -n 1`]);
    expect(r.stderr).toContain(`dry run: would run prerun: ${t.bin}/pre.sh 'a b' '$x'`);
    expect(r.stderr).toContain(`dry run: would run postsuccess: ${t.bin}/post.sh --done`);
    expect(r.stderr).not.toContain("--failed");
    expect(t.reports()).toEqual([]);
  });

  test("shows a command that would be refused", async () => {
    const t = tree();
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "../evil.sh" });
    const r = await t.run("cncopagent", ["--dryrun", "1"]);
    expect(r.stderr).toContain(`dry run: prerun would be refused: "../evil.sh": the program path leads outside Bin/`);
  });
});

describe("process groups", () => {
  test("the prerun, the agent and post commands each lead a process group and session of their own", async () => {
    const t = tree();
    const stat = (name: string) => `read -r line < /proc/$$/stat; echo "$$ $line" > "$CNCOP_HOME/${name}.stat"`;
    t.script("pre.sh", stat("pre"));
    t.script("post.sh", stat("post"));
    t.script("fakeagent", stat("agent"));
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "pre.sh", postsuccess: "post.sh" });
    expect((await t.run("cncopagent", ["1"])).exitCode).toBe(0);
    for (const name of ["pre", "agent", "post"]) {
      const text = readFileSync(nodePath.join(t.root, `${name}.stat`), "utf8");
      const pid = text.slice(0, text.indexOf(" "));
      // After "(comm)": state, ppid, pgrp, session.
      const [, , pgrp, sid] = text.slice(text.lastIndexOf(")") + 2).split(" ");
      expect({ name, pgrp, sid }).toEqual({ name, pgrp: pid, sid: pid });
    }
  });
});

describe("processes of commands do not outlive them", () => {
  test("a background child left by a prerun that exited is stopped with it", async () => {
    const t = tree();
    t.script("pre.sh", `sleep 60 & echo $! > "$CNCOP_HOME/bg.pid"; exit 0`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "pre.sh" });
    const r = await t.run("cncopagent", ["1"], { env: FAST_GRACE });
    expect(r.exitCode).toBe(0);
    const pid = Number(readFileSync(nodePath.join(t.root, "bg.pid"), "utf8"));
    await waitFor(() => processGone(pid), 10_000, "the background child to be gone");
  });
});

// Keep the marker helper honest: a marker file only exists once written.
test("markers are empty until written", async () => {
  const t = tree();
  t.script("fakeagent", mark("agent", "ran"));
  t.addJob({ jobtitle: "A", jobtype: "FAKE" });
  expect(readMarker(t, "agent")).toEqual([]);
  await t.run("cncopagent", ["1"]);
  expect(await waitForMarker(t, "agent")).toEqual(["ran"]);
});
