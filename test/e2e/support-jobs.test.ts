/**
 * Issue 18, as support staff meet it at the job database and the command line: job ids
 * are never reused (SPEC §4), typos get "did you mean", add/set warn about what will fail
 * at night, a (!) row shows what is stored, every message speaks as its program.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import nodePath from "node:path";
import { makeScratch } from "../helpers/scratch.ts";
import type { Tree } from "../helpers/tree.ts";

const scratch = makeScratch("file");
const CONFIG = "[defaults]\ndays_of_logs = 0\n[agents]\nOKT = okagent\nCIFS = backupagentcifs_missing\n";

function okTree(): Tree {
  const t = scratch.tree({ config: CONFIG });
  t.script("okagent", "exit 0");
  return t;
}

const jobs = (t: Tree, ...args: string[]) => t.run("cncopjobs", args);
const E2E_TIMEOUT_MS = 60_000;

describe("job ids are never reused", () => {
  test.concurrent("a new job gets one more than the highest id ever used: in the table, of a removed job, in the run history", async () => {
    const t = okTree();
    // A database made by another program (no table of the suite's own), two jobs.
    t.addJob({ jobid: 1, jobtitle: "Fast one", jobtype: "OKT" });
    t.addJob({ jobid: 6, jobtitle: "Slow one", jobtype: "OKT" });
    expect((await t.run("cncopagent", ["Slow one"])).exitCode).toBe(0);
    expect((await jobs(t, "remove", "Slow one")).exitCode).toBe(0);
    const added = await jobs(t, "add", "--title", "Brand new", "--type", "OKT");
    expect(added.stderr).toContain("cncopjobs: job 7 'Brand new' added (OKT)");
    const table = await jobs(t);
    expect(table.stdout).toMatch(/^ *7 +Brand new +OKT +yes +3 +never +- +-$/m);

    // A removed job that never ran: its id is still never given again.
    expect((await jobs(t, "remove", "7")).exitCode).toBe(0);
    expect((await jobs(t, "add", "--title", "Newer", "--type", "OKT")).stderr).toContain("job 8 'Newer' added");

    // The history alone (the job database replaced by one that never had job 12).
    const db = new Database(t.dbFile);
    db.exec("DROP TABLE cncop_used_jobids");
    db.close();
    const h = new Database(nodePath.join(t.root, "Spool", "history.db"));
    h.query("UPDATE job_runs SET jobid = 12").run();
    h.close();
    expect((await jobs(t, "add", "--title", "After history", "--type", "OKT")).stderr).toContain("job 13 'After history' added");
    // Import without ids follows the same rule.
    const file = nodePath.join(t.root, "new.json");
    await Bun.write(file, JSON.stringify([{ jobtitle: "Imported", jobtype: "OKT" }]));
    expect((await jobs(t, "import", file)).stderr).toContain("job 14 'Imported' added");
  }, E2E_TIMEOUT_MS);
});

describe("did you mean", () => {
  const cases: [string, string[], string][] = [
    ["cncopagent", ["--alljob"], "cncopagent: unknown option --alljob; did you mean --alljobs?"],
    ["cncopagent", ["--all"], "cncopagent: unknown option --all; did you mean --alljobs?"],
    ["cncopagent", ["-alljobs"], "cncopagent: unknown option -alljobs; did you mean --alljobs?"],
    ["cncopjobs", ["set", "1", "--maxretires", "5"], "cncopjobs: unknown option --maxretires; did you mean --maxretries?"],
    ["cncopjobs", ["lst"], 'cncopjobs: unknown command "lst"; did you mean list?'],
    ["cncopjobs", ["histroy"], 'cncopjobs: unknown command "histroy"; did you mean history?'],
    ["cncopreporter", ["--dbug"], "cncopreporter: unknown option --dbug; did you mean --debug?"],
    ["w", ["--wid", "CA"], "w: unknown option --wid; did you mean --wide?"],
    ["backupagentcifs", ["--dryrn", "1"], "backupagentcifs: unknown option --dryrn; did you mean --dryrun?"],
  ];
  for (const [program, args, first] of cases) {
    test.concurrent(`${program} ${args.join(" ")}: the wrong word, the suggestion, where the help is`, async () => {
      const t = okTree();
      const r = await t.run(program, args);
      // An agent's every failure is its ERROR status, 1 (SPEC §9); the programs' usage errors are 2.
      expect(r.exitCode).toBe(program.startsWith("backupagent") ? 1 : 2);
      const lines = r.stderr.split("\n");
      expect(lines[0]).toBe(first);
      // After the wrong word: a one-line usage at most (cncopjobs has a longer one: not shown), then where the rest is.
      expect(lines.at(-2)).toEndWith(`Try '${program} --help' for more information.`);
      expect(lines.length).toBeLessThanOrEqual(4);
      if (program === "cncopjobs") expect(r.stderr).not.toContain("usage:");
      else expect(lines[1]).toStartWith(`usage: ${program} `);
    }, E2E_TIMEOUT_MS);
  }

  test.concurrent("an unknown job title gets the nearest title; the known jobs still run", async () => {
    const t = okTree();
    t.addJob({ jobtitle: "Demo files", jobtype: "OKT" });
    const r = await t.run("cncopagent", ["demo fils", "Demo files"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`cncopagent: error: unknown job "demo fils": no job has that id or title; did you mean "Demo files"?`);
    expect(r.stderr).toContain("job 1 'Demo files': OK");
  }, E2E_TIMEOUT_MS);
});

describe("cncopjobs add and set warn about what will fail at night, and still write", () => {
  test.concurrent("agent not in Bin/, source missing, no destination, destination inside the source", async () => {
    const t = okTree();
    const missing = nodePath.join(t.root, "not-mounted");
    const add = await jobs(t, "add", "--title", "Share", "--type", "CIFS", "--source", missing);
    expect(add.exitCode).toBe(0);
    expect(add.stderr).toContain("cncopjobs: job 1 'Share' added (CIFS)");
    expect(add.stderr).toContain(`cncopjobs: warning: job 1 'Share': its agent backupagentcifs_missing is not in ${t.bin}`);
    expect(add.stderr).toContain(`cncopjobs: warning: job 1 'Share': the source ${missing} does not exist now: the job fails unless it is there when the job runs`);
    expect(add.stderr).toContain("cncopjobs: warning: job 1 'Share': it has no destination: the agent refuses to run; give one with cncopjobs set 1 --destination FOLDER");
    mkdirSync(missing);
    const set = await jobs(t, "set", "Share", "--destination", nodePath.join(missing, "backup"));
    expect(set.exitCode).toBe(0);
    expect(set.stderr).toContain(`the destination ${nodePath.join(missing, "backup")} lies inside the source ${missing}`);
    expect(set.stderr).not.toContain("does not exist now");
    expect(set.stderr).not.toContain("no destination");
    // A job that can run says nothing more than that it was added.
    const good = await jobs(t, "add", "--title", "Good", "--type", "OKT");
    expect(good.stderr).toBe("cncopjobs: job 2 'Good' added (OKT)\n");
  }, E2E_TIMEOUT_MS);
});

describe("what is stored, in the words users use", () => {
  test.concurrent("a (!) row shows the stored value, not the default", async () => {
    const t = okTree();
    t.addJob({ jobtitle: "Odd", jobtype: "OKT", maxretries: -5 });
    const r = await jobs(t);
    expect(r.stdout).toMatch(/^ *1 +Odd \(!\) +OKT +yes +-5 \(!\) +never/m);
    expect(r.stderr).toContain("cncopjobs: warning: job 1 'Odd' (!) cannot run: maxretries = -5 is not a whole number from 0 to 100");
    const show = await jobs(t, "show", "1");
    expect(show.stdout).toMatch(/maxretries\s+-5 \(!\)/);
  }, E2E_TIMEOUT_MS);

  test.concurrent("messages name the program; no internal words; the CA log keeps argument quoting", async () => {
    const t = okTree();
    t.writeConfig(`${CONFIG}[network]\nbogus = 1\n`);
    t.addJob({ jobtitle: "office files", jobtype: "OKT" });
    const warned = await jobs(t);
    expect(warned.stderr).toStartWith("cncopjobs: warning: ");
    const r = await t.run("cncopagent", ["-n", "office files"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toStartWith("cncopagent: warning: ");
    expect(t.caLogText()).toContain("arguments: -n 'office files'\n");
    for (const program of ["cncopagent", "cncopjobs", "cncopreporter", "w"]) {
      const help = await t.run(program, ["--help"]);
      expect(help.stdout).not.toContain("SPEC");
    }
    const fresh = scratch.tree({ config: CONFIG, createDb: false });
    const none = await fresh.run("cncopjobs", []);
    expect(none.stderr).toContain("(which creates the database)");
    expect(none.stderr).not.toContain("SPEC");
  }, E2E_TIMEOUT_MS);
});
