/** SPEC §5 "Selecting jobs": exactly one selection, names in order, --alljobs, --type. */
import { describe, expect, test } from "bun:test";
import { compareByTitle, findJob, orderJobs, selectionFromArgs, selectJobs } from "../../src/dispatcher/selection.ts";
import { knownJobTypes } from "../../src/install/job-types.ts";
import { type Job, rowToJob } from "../../src/install/jobs-db.ts";
import { usageErrorOf } from "../helpers/errors.ts";

function job(jobid: number, jobtitle: string, jobtype: string, enabled = 1): Job {
  return rowToJob({ jobid, jobtitle, jobtype, enabled });
}

const TYPES = knownJobTypes({});


const ids = (jobs: readonly Job[]) => jobs.map((j) => Number(j.jobid));

describe("selectionFromArgs: exactly one of names, --alljobs, --type", () => {
  test("none is a usage error", () => {
    usageErrorOf(() => selectionFromArgs([], false, undefined));
  });
  const twoOrMore: [string, string[], boolean, string | undefined][] = [
    ["names and --alljobs", ["1"], true, undefined],
    ["names and --type", ["1"], false, "RSYNC"],
    ["--alljobs and --type", [], true, "RSYNC"],
    ["all three", ["x"], true, "CCS"],
  ];
  for (const [name, names, all, type] of twoOrMore) {
    test(`${name} is a usage error`, () => {
      usageErrorOf(() => selectionFromArgs(names, all, type));
    });
  }
  test("an empty --type is a usage error", () => {
    usageErrorOf(() => selectionFromArgs([], false, "  "));
  });
  test("each alone", () => {
    expect(selectionFromArgs(["a", "2"], false, undefined)).toEqual({ kind: "named", names: ["a", "2"] });
    expect(selectionFromArgs([], true, undefined)).toEqual({ kind: "all" });
    expect(selectionFromArgs([], false, "rsync")).toEqual({ kind: "type", types: ["RSYNC"] });
  });
});

describe("findJob: digits are a jobid first, else a title (case-insensitive, exact)", () => {
  const jobs = [job(1, "Daily", "RSYNC"), job(2, "2024", "CIFS"), job(12, "Web Server", "SFTP"), job(3, "12", "FTP")];
  const cases: [string, number | undefined][] = [
    ["1", 1],
    ["12", 12], // jobid 12 wins over the job titled "12"
    ["2024", 2], // no jobid 2024: the title
    ["daily", 1],
    ["DAILY", 1],
    ["web server", 12],
    ["Web", undefined], // exact match only
    ["Daily ", undefined],
    ["99", undefined],
    ["", undefined],
  ];
  for (const [name, want] of cases) {
    test(JSON.stringify(name), () => {
      expect(findJob(jobs, name)?.jobid).toBe(want === undefined ? undefined : BigInt(want));
    });
  }
});

describe("named jobs", () => {
  const jobs = [job(1, "Alpha", "RSYNC"), job(2, "Beta", "CIFS"), job(3, "Gamma", "CCS", 0)];

  test("run in the order given, each once", () => {
    const r = selectJobs(jobs, { kind: "named", names: ["3", "alpha", "2", "1", "ALPHA"] }, "LOCAL", TYPES);
    expect(ids(r.jobs)).toEqual([3, 1, 2]);
    expect(r.unknown).toEqual([]);
  });

  test("a disabled job still runs when named", () => {
    expect(ids(selectJobs(jobs, { kind: "named", names: ["Gamma"] }, "LOCAL", TYPES).jobs)).toEqual([3]);
  });

  test("unknown names are reported while the known ones remain", () => {
    const r = selectJobs(jobs, { kind: "named", names: ["nope", "2", "77"] }, "LOCAL", TYPES);
    expect(ids(r.jobs)).toEqual([2]);
    expect(r.unknown).toEqual(["nope", "77"]);
  });

  test("role does not reorder named jobs", () => {
    const r = selectJobs(jobs, { kind: "named", names: ["Gamma", "Alpha"] }, "REMOTE", TYPES);
    expect(ids(r.jobs)).toEqual([3, 1]);
  });
});

describe("--alljobs", () => {
  const jobs = [
    job(5, "zeta", "CCS"),
    job(4, "Alpha", "CCS"),
    job(3, "beta", "RSYNC"),
    job(2, "Delta", "SFTP", 0),
    job(1, "Charlie", "CIFS"),
    job(6, "alpha", "RSYNC"), // a foreign table may hold titles differing only in case: ties by jobid
    job(7, "Echo", "MYTYPE"),
  ];

  test("every enabled job, by title case-insensitively, ties by jobid", () => {
    const r = selectJobs(jobs, { kind: "all" }, "LOCAL", TYPES);
    expect(r.jobs.map((j) => j.jobtitle)).toEqual(["Alpha", "alpha", "beta", "Charlie", "Echo", "zeta"]);
    expect(ids(r.jobs)).toEqual([4, 6, 3, 1, 7, 5]);
  });

  test("role REMOTE: every PULL job (every type but CCS) before every PUSH job, each by title", () => {
    const r = selectJobs(jobs, { kind: "all" }, "REMOTE", TYPES);
    expect(r.jobs.map((j) => `${j.jobtitle}:${j.jobtype}`)).toEqual(["alpha:RSYNC", "beta:RSYNC", "Charlie:CIFS", "Echo:MYTYPE", "Alpha:CCS", "zeta:CCS"]);
  });

  test("a lower-case ccs job type is PUSH too", () => {
    const r = orderJobs([job(1, "a", "ccs"), job(2, "b", "cifs")], "REMOTE");
    expect(ids(r)).toEqual([2, 1]);
  });

  test("no jobs at all", () => {
    expect(selectJobs([], { kind: "all" }, "REMOTE", TYPES).jobs).toEqual([]);
  });
});

describe("--type", () => {
  const jobs = [job(1, "b", "RSYNC"), job(2, "a", "rsync"), job(3, "c", "RSYNC", 0), job(4, "d", "CIFS"), job(5, "e", "MYTYPE")];

  test("enabled jobs of the type, case-insensitively, by title", () => {
    expect(ids(selectJobs(jobs, selectionFromArgs([], false, "Rsync"), "LOCAL", TYPES).jobs)).toEqual([2, 1]);
  });

  test("a known type with no job selects nothing", () => {
    expect(selectJobs(jobs, { kind: "type", types: ["WIMG"] }, "LOCAL", TYPES).jobs).toEqual([]);
  });

  test("an unknown type is a usage error listing the known types", () => {
    const e = usageErrorOf(() => selectJobs(jobs, { kind: "type", types: ["NOPE"] }, "LOCAL", TYPES));
    expect(e.message).toContain("NOPE");
    for (const t of ["CCS", "CIFS", "FTP", "FTPS", "MSSQL", "SFTP", "RSYNC", "WIMG"]) expect(e.message).toContain(t);
  });

  test("-t repeated: the jobs of every type named, ordered as for --alljobs, each once", () => {
    const sel = selectionFromArgs([], false, ["cifs", "RSYNC", "Cifs"]);
    expect(sel).toEqual({ kind: "type", types: ["CIFS", "RSYNC"] });
    expect(ids(selectJobs(jobs, sel, "LOCAL", TYPES).jobs)).toEqual([2, 1, 4]);
    const ccs = [...jobs, job(6, "0 first", "CCS")];
    expect(ids(selectJobs(ccs, selectionFromArgs([], false, ["ccs", "cifs"]), "REMOTE", TYPES).jobs)).toEqual([4, 6]);
  });

  test("-t repeated with an unknown type is a usage error naming it; an empty one too", () => {
    expect(usageErrorOf(() => selectJobs(jobs, selectionFromArgs([], false, ["CIFS", "bogus"]), "LOCAL", TYPES)).message).toContain('"BOGUS"');
    usageErrorOf(() => selectionFromArgs([], false, ["CIFS", " "]));
  });

  test("a type added in [agents] is known", () => {
    const types = knownJobTypes({ MYTYPE: ["agentx"] });
    expect(ids(selectJobs(jobs, { kind: "type", types: ["MYTYPE"] }, "LOCAL", types).jobs)).toEqual([5]);
  });
});

describe("compareByTitle", () => {
  const cases: [[number, string], [number, string], number][] = [
    [[1, "a"], [2, "B"], -1],
    [[1, "B"], [2, "a"], 1],
    [[2, "Same"], [1, "same"], 1],
    [[1, "same"], [2, "SAME"], -1],
  ];
  for (const [[ia, ta], [ib, tb], sign] of cases) {
    test(`${ta}#${ia} vs ${tb}#${ib}`, () => {
      expect(Math.sign(compareByTitle(job(ia, ta, "CIFS"), job(ib, tb, "CIFS")))).toBe(sign);
    });
  }
});
