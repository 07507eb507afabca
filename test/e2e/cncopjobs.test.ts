/**
 * cncopjobs end to end: the real program against a temporary install tree and a real
 * SQLite job database, for every subcommand and every validation error.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, symlinkSync } from "node:fs";
import nodePath from "node:path";
import { type Tree } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";

const CONFIG = "[defaults]\ndays_of_logs = 90\n[agents]\nOKT = fakeagentok\nGONE = fakeagentgone\n";
const SECRET = "s3cr3t-Value";

const E2E_TIMEOUT_MS = 60_000;

const scratch = makeScratch();

function newTree(opts: { createDb?: boolean } = {}): Tree {
  const t = scratch.tree({ config: CONFIG, ...opts });
  t.script("fakeagentok", "exit 0");
  t.script("dump.sh", "echo dumped");
  return t;
}

const jobs = (t: Tree, ...args: string[]) => t.run("cncopjobs", args);

function rows(t: Tree): Record<string, unknown>[] {
  const db = new Database(t.dbFile, { readonly: true });
  try {
    return db.query("SELECT * FROM BackupJob ORDER BY jobid").all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

async function addFull(t: Tree): Promise<void> {
  const r = await jobs(t, "add", "--title", "Nightly files", "--type", "okt", "--source", "/data", "--destination", "nas:/backup",
    "--maxretries", "2", "--retrydelay", "10", "--maxruntime", "600", "--prerun", "dump.sh --all", "--postsuccess", "dump.sh ok",
    "--postfailure", "dump.sh 'failed badly'", "--settings", `{"user":"bob","password":"${SECRET}","opts":{"api_key":"${SECRET}"}}`);
  expect(r.stderr).toContain("job 1 'Nightly files' added (OKT)");
  expect(r.exitCode).toBe(0);
}

describe("cncopjobs", () => {
  test("add creates the database with the SPEC schema; the table and --json list the jobs", async () => {
    const t = newTree({ createDb: false });
    const none = await jobs(t);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain(`${t.dbFile}: not found. Create it with \`cncopjobs add`);
    await addFull(t);
    expect(readFileSync(t.dbFile).length).toBeGreaterThan(0);
    const db = new Database(t.dbFile, { readonly: true });
    const cols = (db.query("PRAGMA table_info(BackupJob)").all() as { name: string }[]).map((c) => c.name);
    expect(cols).toEqual(["jobid", "jobtitle", "jobtype", "enabled", "maxretries", "retrydelay", "maxruntime", "prerun", "postsuccess", "postfailure", "source", "destination", "settings"]);
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    db.close();
    const second = await jobs(t, "add", "--title", "Images", "-t", "OKT", "--disabled", "--id", "7", "--json");
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ jobid: 7, jobtitle: "Images", enabled: false, settings: {} });
    expect(second.stderr).toContain("job 7 'Images' added (OKT, disabled)");

    const table = await jobs(t);
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+TITLE\s+TYPE\s+ENABLED\s+RETRIES\s+LAST RUN\s+STATE\s+DURATION$/);
    expect(lines[1]).toMatch(/^ 1\s+Nightly files\s+OKT\s+yes\s+2\s+never\s+-\s+-$/);
    expect(lines[2]).toMatch(/^ 7\s+Images\s+OKT\s+no\s+3\s+never\s+-\s+-$/);
    expect(table.stdout + table.stderr).not.toContain(SECRET);

    const json = await jobs(t, "--json");
    const list = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(json.stderr).toBe("");
    expect(list.map((j) => j.jobid)).toEqual([1, 7]);
    expect(list[0]).toEqual({
      jobid: 1, jobtitle: "Nightly files", jobtype: "OKT", enabled: true, maxretries: 2, retrydelay: 10, maxruntime: 600,
      prerun: "dump.sh --all", postsuccess: "dump.sh ok", postfailure: "dump.sh 'failed badly'", source: "/data", destination: "nas:/backup",
      settings: { user: "bob", password: "***", opts: { api_key: "***" } }, problems: [], lastRun: null,
    });
    const shown = JSON.parse((await jobs(t, "--json", "--show-secrets")).stdout) as { settings: unknown }[];
    expect(shown[0]!.settings).toEqual({ user: "bob", password: SECRET, opts: { api_key: SECRET } });
  }, E2E_TIMEOUT_MS);

  test("show by id and by title (any case); secrets as *** unless --show-secrets", async () => {
    const t = newTree();
    await addFull(t);
    const byId = await jobs(t, "show", "1");
    expect(byId.exitCode).toBe(0);
    expect(byId.stdout).toMatch(/^jobid\s+1$/m);
    expect(byId.stdout).toMatch(/^jobtype\s+OKT \(agent fakeagentok\)$/m);
    expect(byId.stdout).toMatch(/^maxruntime\s+600 s$/m);
    expect(byId.stdout).toMatch(/^settings\s+\{"user":"bob","password":"\*\*\*","opts":\{"api_key":"\*\*\*"\}\}$/m);
    expect(byId.stdout).toMatch(/^last run\s+never/m);
    expect(byId.stdout).not.toContain(SECRET);
    const byTitle = await jobs(t, "show", "NIGHTLY FILES", "--json");
    expect(JSON.parse(byTitle.stdout)).toMatchObject({ jobid: 1, settings: { password: "***" } });
    const secret = await jobs(t, "show", "nightly files", "--show-secrets");
    expect(secret.stdout).toContain(`"password":"${SECRET}"`);
    const unknown = await jobs(t, "show", "nope");
    expect([unknown.exitCode, unknown.stderr]).toEqual([2, 'cncopjobs: unknown job "nope": no job has that id or title (cncopjobs lists them)\n']);
  }, E2E_TIMEOUT_MS);

  test("set changes only the given columns; *** keeps the stored secret; enable, disable and remove", async () => {
    const t = newTree();
    await addFull(t);
    t.addJob({ jobid: 2, jobtitle: "Other", jobtype: "OKT" });
    const before = rows(t)[0]!;
    const set = await jobs(t, "set", "nightly files", "--title", "Nightly Files", "--maxretries", "5", "--prerun", "", "--settings", '{"user":"alice","password":"***","opts":{"api_key":"new"}}');
    expect(set.exitCode).toBe(0);
    expect(set.stderr).toContain("job 1 'Nightly files' changed: jobtitle, maxretries, prerun, settings");
    const after = rows(t)[0]!;
    expect(after).toEqual({ ...before, jobtitle: "Nightly Files", maxretries: 5, prerun: null, settings: JSON.stringify({ user: "alice", password: SECRET, opts: { api_key: "new" } }) });

    const dis = await jobs(t, "disable", "1", "other", "--json");
    expect(dis.exitCode).toBe(0);
    expect(JSON.parse(dis.stdout)).toEqual([{ jobid: 1, jobtitle: "Nightly Files", result: "disabled" }, { jobid: 2, jobtitle: "Other", result: "disabled" }]);
    expect(rows(t).map((r) => r.enabled)).toEqual([0, 0]);
    const again = await jobs(t, "disable", "2");
    expect(again.stderr).toContain("job 2 'Other' already disabled");
    expect((await jobs(t, "enable", "Other")).exitCode).toBe(0);
    expect(rows(t).map((r) => r.enabled)).toEqual([0, 1]);

    const partly = await jobs(t, "remove", "2", "ghost");
    expect(partly.exitCode).toBe(2);
    expect(partly.stderr).toContain('unknown job "ghost"');
    expect(rows(t).length).toBe(2);
    const removed = await jobs(t, "remove", "Other");
    expect(removed.exitCode).toBe(0);
    expect(removed.stderr).toContain("job 2 'Other' removed (its run history is kept)");
    expect(rows(t).map((r) => r.jobid)).toEqual([1]);
    const unknownSet = await jobs(t, "set", "ghost", "--maxretries", "1");
    expect(unknownSet.exitCode).toBe(2);
  }, E2E_TIMEOUT_MS);

  describe("validation: a clear message, exit 2, nothing changed", () => {
    const cases: [string, string[], string][] = [
      ["unknown type", ["add", "--title", "A", "--type", "nope"], '--type: unknown job type "nope". Known types: CCS, CIFS, FTP, FTPS, GONE, MSSQL, OKT, RSYNC, SFTP, WIMG'],
      ["duplicate title on add", ["add", "--title", "nightly FILES", "--type", "okt"], 'duplicate title: job 1 \'Nightly files\' already has the title "Nightly files"'],
      ["duplicate title on set", ["set", "2", "--title", "NIGHTLY files"], "duplicate title: job 1 'Nightly files'"],
      ["maxretries out of range", ["set", "1", "--maxretries", "101"], '--maxretries: "101" is out of range: maxretries must be a whole number from 0 to 100'],
      ["retrydelay not a number", ["set", "1", "--retrydelay", "1m"], '--retrydelay: "1m" is not a whole number: retrydelay must be a whole number from 0 to 31622400 (seconds)'],
      ["maxruntime negative", ["set", "1", "--maxruntime=-5"], '--maxruntime: "-5" is out of range'],
      ["settings an array", ["set", "1", "--settings", "[1,2]"], "--settings: settings must be a JSON object such as '{\"user\":\"backup\"}', not an array"],
      ["settings not JSON (the text is not echoed: it may hold a password)", ["set", "1", "--settings", '{"password": hunter2}'], "--settings: settings must be a JSON object such as '{\"user\":\"backup\"}': the text is not valid JSON (check quotes, braces and commas)"],
      ["prerun outside Bin/", ["set", "1", "--prerun", "/bin/echo hi"], '--prerun: "/bin/echo hi" would be refused by cncopagent: the program path leads outside Bin/'],
      ["postsuccess escaping by ..", ["set", "1", "--postsuccess", "../Config/x.sh"], "--postsuccess: \"../Config/x.sh\" would be refused by cncopagent: the program path leads outside Bin/"],
      ["postfailure through a link out of Bin/", ["set", "1", "--postfailure", "escape.sh now"], "--postfailure: \"escape.sh now\" would be refused by cncopagent: "],
      ["a program not in Bin/", ["set", "1", "--prerun", "missing.sh"], "--prerun: \"missing.sh\" would be refused by cncopagent: program missing.sh not found in"],
      ["all-digit title", ["add", "--title", "2024", "--type", "okt"], '--title: the title "2024" is all digits'],
      ["id taken", ["add", "--title", "New", "--type", "okt", "--id", "2"], "--id 2 is taken by job 2 'Second'"],
      ["masked secret with none stored", ["set", "2", "--settings", '{"password":"***"}'], 'settings.password is "***" (a hidden secret) but no secret is stored there'],
      ["add without --type", ["add", "--title", "X"], "add needs --type"],
      ["set without a column", ["set", "1"], "set needs at least one of --title"],
    ];
    test.each(cases)("%s", async (_name, args, message) => {
      const t = newTree();
      await addFull(t);
      t.addJob({ jobid: 2, jobtitle: "Second", jobtype: "OKT" });
      symlinkSync("/bin/sh", nodePath.join(t.bin, "escape.sh"));
      const before = rows(t);
      const r = await jobs(t, ...args);
      expect(r.stderr).toContain(message);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toContain("hunter2");
      expect(rows(t)).toEqual(before);
    }, E2E_TIMEOUT_MS);

    test("every problem of one command is reported at once", async () => {
      const t = newTree();
      const r = await jobs(t, "add", "--title", "", "--type", "x", "--maxretries", "x", "--settings", "1");
      expect(r.exitCode).toBe(2);
      expect(r.stderr.split("\n").filter((l) => l.startsWith("  - ")).length).toBe(4);
      expect(rows(t)).toEqual([]);
    }, E2E_TIMEOUT_MS);
  });

  test("-t x: every type with its agents, log prefixes and those missing from Bin/; -t TYPE one type", async () => {
    const t = newTree();
    const r = await jobs(t, "-t", "x");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^TYPE\s+DESCRIPTION\s+AGENT\s+LOG PREFIX\s+IN Bin\/\s+FROM$/m);
    expect(r.stdout).toMatch(/^CCS\s+Carroll-Net Cloud Backup\s+backupagentnq\s+NQ\s+MISSING\s+built-in$/m);
    expect(r.stdout).toMatch(/^\s+backupagentdq\s+DQ\s+MISSING$/m);
    expect(r.stdout).toMatch(/^OKT\s+added in \[agents\]\s+fakeagentok\s+FAKEA\s+yes\s+\[agents\]$/m);
    expect(r.stdout).toMatch(/^GONE\s+added in \[agents\]\s+fakeagentgone\s+FAKEA\s+MISSING\s+\[agents\]$/m);
    expect(r.stdout).toMatch(/^WIMG\s+Windows Image Backup\s+backupagentwimg\s+WIMG\s+MISSING/m);
    expect(r.stderr).toContain("fakeagentgone");
    const one = await jobs(t, "--type", "okt", "--json");
    expect(JSON.parse(one.stdout)).toEqual([{ type: "OKT", description: "added in [agents]", origin: "[agents]", agents: [{ name: "fakeagentok", logPrefix: "FAKEA", program: nodePath.join(t.bin, "fakeagentok"), present: true }] }]);
    const bad = await jobs(t, "-t", "nope");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('unknown job type "nope". Known types: CCS, CIFS, FTP, FTPS, GONE, MSSQL, OKT, RSYNC, SFTP, WIMG');
  }, E2E_TIMEOUT_MS);

  test("usage: --help, unknown options and commands, options that do not apply", async () => {
    const t = newTree();
    const help = await jobs(t, "-?");
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toStartWith("usage: cncopjobs [-?] [-c CONFIG] [--json]");
    for (const [args, message] of [
      [["--frob"], "unknown option --frob"],
      [["frob"], 'unknown command "frob"'],
      [["show", "1", "--limit", "2"], "--limit does not apply to show"],
      [["history", "--limit", "x"], '--limit "x" must be a whole number'],
    ] as [string[], string][]) {
      const r = await jobs(t, ...args);
      expect([r.exitCode, r.stderr.includes(message)]).toEqual([2, true]);
    }
  }, E2E_TIMEOUT_MS);
});

describe("export and import", () => {
  test("round trip: export FILE (secrets, 0600) into a fresh tree gives the same jobs; stdout export masks", async () => {
    const a = newTree();
    await addFull(a);
    expect((await jobs(a, "add", "--title", "Second", "--type", "OKT", "--id", "9", "--disabled")).exitCode).toBe(0);
    const file = nodePath.join(a.root, "jobs.json");
    const exp = await jobs(a, "export", file);
    expect(exp.exitCode).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(file, "utf8")) as { format: string; jobs: Record<string, unknown>[] };
    expect(doc.format).toBe("cncop3-jobs");
    expect(doc.jobs[0]!.settings).toEqual({ user: "bob", password: SECRET, opts: { api_key: SECRET } });
    const out = await jobs(a, "export");
    expect(out.stdout).not.toContain(SECRET);
    expect(out.stderr).toContain("secrets are shown as ***");

    const b = newTree({ createDb: false });
    const imp = await jobs(b, "import", file);
    expect(imp.exitCode).toBe(0);
    expect(imp.stderr).toContain("imported 2 job(s) from");
    expect(rows(b)).toEqual(rows(a));

    const dup = await jobs(b, "import", file);
    expect(dup.exitCode).toBe(2);
    expect(dup.stderr).toContain('job #1 ("Nightly files"): duplicate title: job 1 "Nightly files" already exists; use --replace to overwrite it');
    // --replace overwrites by title and keeps the jobid; *** in the file keeps the stored secret.
    const masked = JSON.parse(out.stdout) as { jobs: Record<string, unknown>[] };
    masked.jobs[0]!.maxretries = 0;
    masked.jobs[0]!.jobid = 55;
    const maskedFile = nodePath.join(b.root, "masked.json");
    await Bun.write(maskedFile, JSON.stringify(masked));
    const rep = await jobs(b, "import", "--replace", maskedFile, "--json");
    expect(rep.exitCode).toBe(0);
    expect(JSON.parse(rep.stdout)).toEqual([{ jobid: 1, jobtitle: "Nightly files", result: "replaced" }, { jobid: 9, jobtitle: "Second", result: "replaced" }]);
    expect(rows(b)).toEqual(rows(a).map((r) => (r.jobid === 1 ? { ...r, maxretries: 0 } : r)));
  }, E2E_TIMEOUT_MS);

  test("an import with any invalid job changes nothing and lists every problem; - reads stdin", async () => {
    const t = newTree({ createDb: false });
    const file = nodePath.join(t.root, "in.json");
    await Bun.write(file, JSON.stringify({ jobs: [
      { jobtitle: "Good", jobtype: "OKT" },
      { jobtitle: "Bad", jobtype: "NOPE", maxretries: 1000 },
      { jobtitle: "good", jobtype: "okt" },
      { jobtitle: "Cmd", jobtype: "OKT", prerun: "/bin/true", settings: "[]" },
    ] }));
    const r = await jobs(t, "import", file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("5 problem(s); nothing was imported");
    expect(r.stderr).toContain('job #2 ("Bad"): jobtype: unknown job type "NOPE"');
    expect(r.stderr).toContain('job #2 ("Bad"): maxretries: 1000 is out of range');
    expect(r.stderr).toContain('job #4 ("Cmd"): prerun: "/bin/true" would be refused by cncopagent');
    expect(r.stderr).toContain('job #4 ("Cmd"): settings: settings must be a JSON object');
    expect(r.stderr).toContain('job #3 ("good"): duplicate title: job #1 ("Good") has the same title');
    expect(existsSync(t.dbFile)).toBe(false);
    // Problems only between the jobs of the file, or a hidden secret for a new job: still no database made.
    await Bun.write(file, JSON.stringify([{ jobtitle: "Same", jobtype: "OKT" }, { jobtitle: "SAME", jobtype: "OKT", settings: { token: "***" } }]));
    const between = await jobs(t, "import", file);
    expect(between.exitCode).toBe(2);
    expect(between.stderr).toContain('job #2 ("SAME"): settings.token is "***" (a hidden secret)');
    const masked = await jobs(t, "add", "--title", "M", "--type", "okt", "--settings", '{"password":"***"}');
    expect(masked.exitCode).toBe(2);
    expect(existsSync(t.dbFile)).toBe(false);

    const proc = Bun.spawn(t.argv("cncopjobs", ["import", "-"]), {
      cwd: t.root, env: { ...process.env, CNCOP_HOME: t.root }, stdin: new Blob([JSON.stringify([{ jobtitle: "From stdin", jobtype: "okt", enabled: false }])]), stdout: "pipe", stderr: "pipe",
    });
    expect(await proc.exited).toBe(0);
    expect(rows(t)).toMatchObject([{ jobid: 1, jobtitle: "From stdin", jobtype: "OKT", enabled: 0 }]);
  }, E2E_TIMEOUT_MS);
});

describe("a job database written by another program", () => {
  test("only the columns it has are written; a non-default value adds its column", async () => {
    const t = newTree({ createDb: false });
    const db = new Database(t.dbFile, { create: true });
    db.exec("CREATE TABLE BackupJob (jobid INTEGER PRIMARY KEY, jobtitle TEXT NOT NULL UNIQUE, jobtype TEXT NOT NULL, downloaded TEXT)");
    db.exec("INSERT INTO BackupJob VALUES (4, 'Remote', 'okt', '2026-01-01')");
    db.close();
    const list = JSON.parse((await jobs(t, "--json")).stdout) as Record<string, unknown>[];
    expect(list).toMatchObject([{ jobid: 4, jobtype: "OKT", enabled: true, maxretries: 3, settings: {} }]);
    const same = await jobs(t, "set", "4", "--maxretries", "3", "--settings", "{}");
    expect([same.exitCode, same.stderr.includes("added column")]).toEqual([0, false]);
    expect(Object.keys(rows(t)[0]!)).toEqual(["jobid", "jobtitle", "jobtype", "downloaded"]);
    const add = await jobs(t, "add", "--title", "Local", "--type", "okt");
    expect(add.exitCode).toBe(0);
    const changed = await jobs(t, "set", "remote", "--maxretries", "7");
    expect(changed.stderr).toContain("added column(s) maxretries to the BackupJob table");
    expect((await jobs(t, "disable", "Local")).stderr).toContain("added column(s) enabled");
    expect(rows(t)).toEqual([
      { jobid: 4, jobtitle: "Remote", jobtype: "okt", downloaded: "2026-01-01", maxretries: 7, enabled: 1 },
      { jobid: 5, jobtitle: "Local", jobtype: "OKT", downloaded: null, maxretries: 3, enabled: 0 },
    ]);
  }, E2E_TIMEOUT_MS);

  test("titles, commands and settings from the database are shown escaped in the table and in show", async () => {
    const t = newTree();
    t.addJob({ jobid: 3, jobtitle: "Evil\x1b[2J\ntitle\r", jobtype: "OKT", prerun: "x\x1b]0;t\x07", settings: '{"note":"a\u009bb"}' });
    const list = await jobs(t);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toContain("Evil\\x1b[2J\\ntitle\\r");
    const show = await jobs(t, "show", "3");
    expect(show.stdout).toContain("x\\x1b]0;t\\x07");
    expect(show.stdout).toContain('{"note":"a\\x9bb"}');
    for (const out of [list.stdout, show.stdout]) expect(out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    const changed = await jobs(t, "set", "3", "--maxretries", "2");
    expect(changed.exitCode).toBe(0);
    expect(changed.stderr).toContain("job 3 'Evil\\x1b[2J\\ntitle\\r' changed: maxretries");
    expect(changed.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  }, E2E_TIMEOUT_MS);

  test("a damaged or foreign file is a clear error", async () => {
    const t = newTree({ createDb: false });
    await Bun.write(t.dbFile, "not a database ".repeat(100));
    const r = await jobs(t, "set", "1", "--maxretries", "1");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("is not a valid SQLite database");
    const t2 = newTree({ createDb: false });
    new Database(t2.dbFile, { create: true }).exec("CREATE TABLE other (x)");
    const r2 = await jobs(t2);
    expect([r2.exitCode, r2.stderr.includes("has no BackupJob table")]).toEqual([2, true]);
  }, E2E_TIMEOUT_MS);
});
