/** Table-driven tests of cncopjobs's pure parts: fields, secrets, import planning, arguments, tables. */
import { describe, expect, test } from "bun:test";
import { CncopError, EXIT } from "../../src/cli/errors.ts";
import { rowToJob } from "../../src/install/jobs-db.ts";
import { parseJobsArgs } from "../../src/jobs-admin/args.ts";
import { checkCommand, checkField, checkInt, checkSettings, checkTitle, checkType, isDefaultValue } from "../../src/jobs-admin/fields.ts";
import { attemptsSummary, jobView, renderJobBlock, renderTable } from "../../src/jobs-admin/render.ts";
import { hasMaskedSecret, isSecretKey, maskSecrets, restoreMaskedSecrets } from "../../src/format/secrets.ts";
import type { Snapshot } from "../../src/jobs-admin/store.ts";
import { checkImportJob, exportJob, parseImportText, planImport, type ImportEntry } from "../../src/jobs-admin/transfer.ts";
import { listJobTypes } from "../../src/jobs-admin/types-list.ts";

const TYPES = ["CCS", "CIFS", "RSYNC"];
const BIN = "/opt/cncop/Bin";
const fakeFs = (files: string[]) => ({
  isFile: (p: string) => files.includes(p),
  realpath: (p: string) => p,
});
const ctx = { bin: BIN, knownTypes: TYPES, platform: "linux" as const, fs: fakeFs([`${BIN}/dump.sh`]) };

describe("field checks", () => {
  test.each([
    ["Nightly files", true, "Nightly files"],
    ["  padded  ", true, "padded"],
    ["", false, "must not be empty"],
    ["12", false, "all digits"],
    ["a\nb", false, "line breaks"],
    ["x".repeat(201), false, "at most 200"],
    [42, false, "must be text"],
  ])("title %p", (raw, ok, expected) => {
    const r = checkTitle(raw);
    expect(r.ok).toBe(ok);
    if (r.ok) expect(r.value).toBe(expected as string);
    else expect(r.message).toContain(expected as string);
  });

  test.each([
    ["rsync", true, "RSYNC"],
    [" Cifs ", true, "CIFS"],
    ["FOO", false, "Known types: CCS, CIFS, RSYNC"],
    ["", false, "must be one of CCS, CIFS, RSYNC"],
  ])("type %p", (raw, ok, expected) => {
    const r = checkType(raw, TYPES);
    expect(r.ok).toBe(ok);
    if (r.ok) expect(r.value).toBe(expected);
    else expect(r.message).toContain(expected);
  });

  test.each([
    ["maxretries", "0", 0],
    ["maxretries", "100", 100],
    ["maxretries", "101", "out of range"],
    ["maxretries", "-1", "out of range"],
    ["retrydelay", "abc", "not a whole number"],
    ["maxruntime", 1.5, "not a whole number"],
    ["maxruntime", 31622400, 31622400],
    ["maxruntime", 31622401, "from 0 to 31622400"],
  ] as const)("%s %p", (field, raw, expected) => {
    const r = checkInt(field, raw);
    if (typeof expected === "number") expect(r).toEqual({ ok: true, value: expected });
    else expect(r.ok ? "" : r.message).toContain(expected);
  });

  test.each([
    ['{"a":1}', { a: 1 }],
    [{ a: 1 }, { a: 1 }],
    ["", {}],
    ["[1]", "not an array"],
    ["null", "not null"],
    ['"x"', "not a string"],
    ["{bad", "not valid JSON"],
  ])("settings %p", (raw, expected) => {
    const r = checkSettings(raw);
    if (typeof expected === "object") expect(r).toEqual({ ok: true, value: expected as Record<string, unknown> });
    else expect(r.ok ? "" : r.message).toContain(expected as string);
  });

  test.each([
    ["dump.sh --all", true, "dump.sh --all"],
    ["", true, null],
    ["/bin/sh -c x", false, "leads outside Bin/"],
    ["../evil.sh", false, "leads outside Bin/"],
    ["missing.sh", false, "not found in"],
    ["'unterminated", false, "unterminated single quote"],
  ])("command %p", (raw, ok, expected) => {
    const r = checkCommand(raw, ctx);
    expect(r.ok).toBe(ok);
    if (r.ok) expect(r.value).toBe(expected);
    else expect(r.message).toContain(expected as string);
  });

  test("checkField dispatches and isDefaultValue knows the SPEC defaults", () => {
    expect(checkField("enabled", true, ctx)).toEqual({ ok: true, value: 1 });
    expect(checkField("enabled", "yes", ctx).ok).toBe(false);
    expect(checkField("source", "  ", ctx)).toEqual({ ok: true, value: null });
    expect([isDefaultValue("maxretries", 3), isDefaultValue("maxretries", 4), isDefaultValue("settings", {}), isDefaultValue("settings", { a: 1 }), isDefaultValue("prerun", null), isDefaultValue("enabled", 0)]).toEqual([true, false, true, false, true, false]);
  });
});

describe("secrets", () => {
  test.each([
    ["password", true], ["mail_pwd", true], ["api_key", true], ["Token", true], ["clientSecret", true],
    ["credentials", true], ["private_key_file", true], ["user", false], ["host", false], ["path", false],
  ])("isSecretKey(%p) = %p", (k, v) => expect(isSecretKey(k)).toBe(v));

  test("masks at any depth, keeps empty values visible", () => {
    const s = { user: "bob", password: "pw", empty_token: "", nested: { api_key: "k", list: [{ secret: 1 }] } };
    expect(maskSecrets(s)).toEqual({ user: "bob", password: "***", empty_token: "", nested: { api_key: "***", list: [{ secret: "***" }] } });
    expect(hasMaskedSecret(maskSecrets(s))).toBe(true);
    expect(hasMaskedSecret(s)).toBe(false);
  });

  test("*** restores the stored secret by path, or names the paths without one", () => {
    expect(restoreMaskedSecrets({ user: "a", password: "***", n: { token: "***" } }, { password: "pw", n: { token: "t" } })).toEqual({ ok: true, value: { user: "a", password: "pw", n: { token: "t" } } });
    expect(restoreMaskedSecrets({ password: "***", n: { token: "***" } }, { n: {} })).toEqual({ ok: false, paths: ["settings.password", "settings.n.token"] });
    // *** under a key that is no secret is a plain value
    expect(restoreMaskedSecrets({ user: "***" }, undefined)).toEqual({ ok: true, value: { user: "***" } });
  });
});

function snapshotOf(rows: Record<string, unknown>[]): Snapshot {
  return { columns: new Set(Object.keys(rows[0] ?? {})), rows, jobs: rows.map(rowToJob), highestId: rows.reduce<bigint>((m, r) => (BigInt(Number(r.jobid) || 0) > m ? BigInt(Number(r.jobid) || 0) : m), 0n) };
}

describe("import", () => {
  const entry = (title: string, jobid?: number, settings: Record<string, unknown> = {}): ImportEntry => {
    const r = checkImportJob({ jobtitle: title, jobtype: "RSYNC", ...(jobid ? { jobid } : {}), settings }, 0, ctx);
    if (!r.entry) throw new Error(r.errors.join("; "));
    return r.entry;
  };
  const snap = snapshotOf([
    { jobid: 1, jobtitle: "Alpha", jobtype: "RSYNC", settings: '{"password":"old"}' },
    { jobid: 5, jobtitle: "Beta", jobtype: "CIFS", settings: "{}" },
  ]);

  test("new ids after the largest in use; titles kept apart without case; --replace keeps the id", () => {
    const plan = planImport([entry("Gamma"), entry("alpha", 9, { password: "***" }), entry("Delta", 7)], snap, true);
    expect(plan.errors).toEqual([]);
    expect(plan.actions.map((a) => [a.kind, a.jobid, a.values.jobtitle])).toEqual([["add", 10n, "Gamma"], ["replace", 1n, "alpha"], ["add", 7n, "Delta"]]);
    expect(plan.actions[1]!.values.settings).toEqual({ password: "old" });
  });

  test.each([
    [[entry("Alpha")], false, 'already exists; use --replace'],
    [[entry("New", 5)], false, "jobid 5 is taken by job \"Beta\""],
    [[entry("X"), entry("x")], false, "duplicate title: job #1 (\"X\") has the same title"],
    [[entry("X", 8), entry("Y", 8)], false, "jobid 8 is also given to"],
    [[entry("New", undefined, { token: "***" })], true, "settings.token is \"***\""],
  ])("refuses %#", (entries, replace, message) => {
    const plan = planImport(entries, snap, replace);
    expect(plan.errors.join("\n")).toContain(message);
  });

  test("field problems are all reported", () => {
    const r = checkImportJob({ jobtitle: "", jobtype: "nope", maxretries: "3", extra: 1 }, 2, ctx);
    expect(r.entry).toBeUndefined();
    expect(r.errors).toEqual([
      'job #3 (""): unknown field "extra" (known: jobid, jobtitle, jobtype, enabled, maxretries, retrydelay, maxruntime, prerun, postsuccess, postfailure, source, destination, settings)',
      'job #3 (""): jobtitle: the title must not be empty',
      'job #3 (""): jobtype: unknown job type "nope". Known types: CCS, CIFS, RSYNC (add one in [agents] of the configuration)',
    ]);
    expect(checkImportJob({ jobtype: "CCS" }, 0, ctx).errors).toEqual(["job #1: jobtitle is missing"]);
  });

  test.each([
    ['{"format":"cncop3-jobs","version":1,"jobs":[{"jobtitle":"a"}]}', 1],
    ['[{"jobtitle":"a"},{"jobtitle":"b"}]', 2],
    ['{"format":"other","jobs":[]}', "is not cncop3-jobs"],
    ['{"jobs":1}', "must hold"],
    ["nope", "not valid JSON"],
    ['{"version":9,"jobs":[]}', "newer"],
  ])("parseImportText %p", (text, expected) => {
    if (typeof expected === "number") expect(parseImportText(text, "f.json").length).toBe(expected);
    else expect(() => parseImportText(text, "f.json")).toThrow(expected);
  });

  test("exportJob keeps invalid stored values as they are and masks unless asked", () => {
    const row = { jobid: 3, jobtitle: "T", jobtype: "rsync", enabled: 0, maxretries: "lots", retrydelay: null, settings: '{"key":"k"}' };
    expect(exportJob(row, rowToJob(row), false)).toEqual({
      jobid: 3n, jobtitle: "T", jobtype: "rsync", enabled: false, maxretries: "lots", retrydelay: 60, maxruntime: 0,
      prerun: null, postsuccess: null, postfailure: null, source: null, destination: null, settings: { key: "***" },
    });
    expect(exportJob(row, rowToJob(row), true).settings).toEqual({ key: "k" });
  });
});

describe("arguments: citty runs the subcommand node's tokens name", () => {
  test.each([
    [[], "list", []],
    [["-t", "x"], "types", []],
    [["types"], "types", []],
    [["SHOW", "3"], "show", ["3"]],
    [["add", "--title", "a", "-t", "rsync"], "add", []],
    [["history", "--limit", "5", "Nightly"], "history", ["Nightly"]],
    [["-dc", "f.ini", "show", "3"], "show", ["3"]],
    [["--json", "--", "show", "-3"], "show", ["-3"]],
    [["import", "-"], "import", ["-"]],
    [["show", "--help", "--title", "x"], "show", []],
  ])("%p is %p %p", async (argv, command, targets) => {
    const o = await parseJobsArgs(argv);
    expect([o.command, o.targets]).toEqual([command as never, targets]);
  });

  test("options count wherever they are given, and values are kept as given", async () => {
    const o = await parseJobsArgs(["--json", "-c", "--no-x", "set", "Nightly", "--maxretries", "5", "--prerun", "-x", "--settings", "{}"]);
    expect([o.json, o.config, o.fields]).toEqual([true, "--no-x", { maxretries: "5", prerun: "-x", settings: "{}" }]);
    expect((await parseJobsArgs(["add", "-t", "ccs", "--title", "a"])).fields).toEqual({ jobtitle: "a", jobtype: "ccs" });
    expect((await parseJobsArgs(["--title", "--no-x", "add", "--source="])).fields).toEqual({ jobtitle: "--no-x", source: "" });
    expect((await parseJobsArgs(["-tRSYNC"])).typeFilter).toBe("RSYNC");
    expect((await parseJobsArgs(["types"])).typeFilter).toBe("x");
  });

  test.each([
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["-"], 'unknown command "-"'],
    [["constructor"], 'unknown command "constructor"'],
    [["--bogus"], "unknown option --bogus"],
    [["show"], "show takes JOB"],
    [["show", "a", "b"], 'not "a" "b"'],
    [["remove", "1", "--title", "x"], "--title does not apply to remove"],
    [["--replace"], "--replace does not apply to the jobs table"],
    [["-t", "x", "--limit", "1", "--json", "--replace"], "--replace, --limit do not apply to -t"],
    [["history", "--maxretries", "3"], "--maxretries does not apply to history"],
    [["set", "1", "--title"], "option --title needs a value"],
    [["import"], "import takes FILE"],
  ])("%p is a usage error", async (argv, message) => {
    const err = await parseJobsArgs(argv).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CncopError);
    expect((err as CncopError).exitCode).toBe(EXIT.USAGE);
    expect((err as CncopError).message).toContain(message);
  });
});

describe("rendering and types", () => {
  test("renderTable pads, aligns right where asked, trims", () => {
    expect(renderTable(["ID", "NAME"], [["1", "a"], ["12", "bbb"]], [0])).toBe("ID  NAME\n 1  a\n12  bbb\n");
  });

  test.each([
    ["a line break", "a\nb", "a\\nb"],
    ["a colour code", "\x1b[31mred", "\\x1b[31mred"],
    ["a carriage return and a C1 CSI", "x\ry\u009b2J", "x\\ry\\x9b2J"],
  ])("renderTable shows %s in a cell escaped, the columns aligned to what is shown", (_what, cell, shown) => {
    expect(renderTable(["ID", "TITLE", "TYPE"], [["1", cell, "CIFS"]])).toBe(`ID  TITLE${" ".repeat(Math.max(0, shown.length - 5))}  TYPE\n1   ${shown}${" ".repeat(Math.max(0, 5 - shown.length))}  CIFS\n`);
  });

  test("show: every value from the database shown escaped, settings included", () => {
    const job = rowToJob({ jobid: 3, jobtitle: "Files\n2020-01-01 00:00:00 forged", jobtype: "CIFS", maxretries: 0, retrydelay: 60, maxruntime: 0, enabled: 1, prerun: "pre.sh\x1b]0;t\x07", source: "/data\r", settings: JSON.stringify({ note: "a\u009bb" }) });
    const block = renderJobBlock(jobView(job, undefined, false), "agent backupagentcifs");
    expect(block).toContain("jobtitle     Files\\n2020-01-01 00:00:00 forged\n");
    expect(block).toContain("prerun       pre.sh\\x1b]0;t\\x07\n");
    expect(block).toContain("source       /data\\r\n");
    expect(block).toContain('settings     {"note":"a\\x9bb"}\n');
    expect(block).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  });

  test.each([
    [[], "-"],
    [[{ exitcode: 75, signal: null }, { exitcode: 0, signal: null }], "75 0"],
    [[{ exitcode: null, signal: "SIGKILL" }], "SIGKILL"],
  ])("attemptsSummary %#", (attempts, expected) => {
    expect(attemptsSummary(attempts.map((a, i) => ({ ...a, number: i + 1, started: "", finished: "", agents: [] })))).toBe(expected);
  });

  test("types: [agents] adds and overrides; agents missing from Bin/ are marked", () => {
    const types = listJobTypes({ PGSQL: ["backupagentpgsql"], CIFS: ["mycifs"] }, "x", { bin: BIN, platform: "linux", isFile: (p) => p === `${BIN}/backupagentpgsql` });
    const byType = new Map(types.map((t) => [t.type, t]));
    expect(byType.get("PGSQL")).toEqual({ type: "PGSQL", description: "added in [agents]", origin: "[agents]", agents: [{ name: "backupagentpgsql", logPrefix: "PGSQL", program: `${BIN}/backupagentpgsql`, present: true }] });
    expect(byType.get("CIFS")!.origin).toBe("built-in, overridden in [agents]");
    expect(byType.get("CCS")!.agents.map((a) => [a.name, a.logPrefix, a.present])).toEqual([["backupagentnq", "NQ", false], ["backupagentdq", "DQ", false]]);
    expect(listJobTypes({}, "rsync", { bin: BIN, isFile: () => false }).map((t) => t.type)).toEqual(["RSYNC"]);
    expect(() => listJobTypes({}, "nope", { bin: BIN })).toThrow('unknown job type "nope". Known types: CCS, CIFS');
  });
});
