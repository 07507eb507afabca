/**
 * cncopjobs schedule's pure parts: values checked, the next run, and each scheduler's entry
 * line by line (cron file, systemd units, Task Scheduler XML parsed back). systemd-analyze
 * (Debian package systemd) verifies the units and cross-checks the next run.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { CncopError } from "../../src/cli/errors.ts";
import { cronLine, cronQuote, isSuiteCronFile, parseCronFile, renderCronFile, CRON_HEADER } from "../../src/jobs-admin/schedule/cron.ts";
import { checkName, checkPath, checkUser, markerOf, nextRun, parseAt, parseDays, parseEvery, parseMarker, type ScheduleEntry } from "../../src/jobs-admin/schedule/entry.ts";
import { jobNextRuns } from "../../src/jobs-admin/schedule/next-runs.ts";
import { schedulerSettings } from "../../src/jobs-admin/schedule/scheduler.ts";
import { onCalendar, parseUnit, serviceUnit, timerUnit, unitQuote } from "../../src/jobs-admin/schedule/systemd.ts";
import { decodeTaskFile, parseTaskXml, taskXml, taskXmlBytes, windowsQuote, xmlElement } from "../../src/jobs-admin/schedule/task-xml.ts";
import type { Job } from "../../src/install/jobs-db.ts";

const entry = (o: Partial<ScheduleEntry> = {}): ScheduleEntry => ({
  name: "nightly", hour: 22, minute: 0, days: [], everyHours: undefined, selection: { kind: "all" }, email: [], user: undefined,
  root: "/opt/cncop", program: "/opt/cncop/Bin/cncopagent", config: "/opt/cncop/Config/cncop3.ini", ...o,
});

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof CncopError ? err.exitCode : -1;
  }
  return 0;
};

describe("values", () => {
  test.each([
    ["nightly", 0], ["db-1_a", 0], ["9am", 0], ["Nightly", 2], ["-x", 2], ["a b", 2], ["", 2], ["x".repeat(41), 2], ["../x", 2], ["a\\b", 2],
  ])("name %p", (name, code) => expect(usage(() => checkName(name))).toBe(code));

  test.each([
    ["22:00", { hour: 22, minute: 0 }], ["6:05", { hour: 6, minute: 5 }], ["00:00", { hour: 0, minute: 0 }], ["23:59", { hour: 23, minute: 59 }],
  ])("--at %p", (at, want) => expect(parseAt(at)).toEqual(want));

  test.each(["24:00", "22:60", "22", "22:0", "-1:00", " 22:00", "22:00:00", "ten"])("--at %p is refused", (at) => expect(usage(() => parseAt(at))).toBe(2));
  test("--at missing is refused", () => expect(usage(() => parseAt(undefined))).toBe(2));

  test("--days: names in any case, Monday first, duplicates once, all seven = every day", () => {
    expect(parseDays("fri,Mon,monday,SUN")).toEqual(["mon", "fri", "sun"]);
    expect(parseDays("mon,tue,wed,thu,fri,sat,sun")).toEqual([]);
    expect(parseDays(undefined)).toEqual([]);
    for (const bad of ["", "mo", "mon,,tue", "mon;tue", "holiday"]) expect(usage(() => parseDays(bad))).toBe(2);
  });

  test("--every: 1 to 23 hours", () => {
    expect(parseEvery("4")).toBe(4);
    expect(parseEvery(undefined)).toBeUndefined();
    for (const bad of ["0", "24", "1.5", "-2", "", "4h"]) expect(usage(() => parseEvery(bad))).toBe(2);
  });

  test("paths: spaces, quotes and % are written quoted; control characters are refused", () => {
    expect(checkPath("root", "/srv/it's 100% $x")).toBe("/srv/it's 100% $x");
    for (const p of ["/srv/a\nb", "/srv/\u001b[31m", "/srv/\u009b1m", "/srv/\u0000"]) expect(usage(() => checkPath("root", p))).toBe(2);
  });

  test("--user", () => {
    expect(checkUser("backup", false)).toBe("backup");
    expect(checkUser("CORP\\svc-backup", true)).toBe("CORP\\svc-backup");
    expect(checkUser("svc@corp.example", true)).toBe("svc@corp.example");
    for (const [u, win] of [["a b", false], ["root;rm", false], ["x\ny", true], ['a"b', true], ["", true]] as const) expect(usage(() => checkUser(u, win))).toBe(2);
  });
});

describe("next run (local time)", () => {
  const at = (y: number, mo: number, d: number, h: number, mi = 0) => new Date(y, mo - 1, d, h, mi);
  // 2026-11-30 is a Monday.
  test.each([
    ["later today", entry(), at(2026, 11, 30, 12), at(2026, 11, 30, 22)],
    ["at the very minute: the next day", entry(), at(2026, 11, 30, 22), at(2026, 12, 1, 22)],
    ["next listed day", entry({ days: ["wed", "sat"] }), at(2026, 11, 30, 23), at(2026, 12, 2, 22)],
    ["every 4 h from 06:30", entry({ hour: 6, minute: 30, everyHours: 4 }), at(2026, 11, 30, 11), at(2026, 11, 30, 14, 30)],
    ["every 4 h, after the last of the day", entry({ hour: 6, minute: 30, everyHours: 4 }), at(2026, 11, 30, 22, 31), at(2026, 12, 1, 6, 30)],
    ["a week ahead", entry({ days: ["mon"] }), at(2026, 11, 30, 23), at(2026, 12, 7, 22)],
  ])("%s", (_, e, now, want) => expect(nextRun(e, now)).toEqual(want));
});

describe("marker", () => {
  test("an entry survives its marker, with every value", () => {
    const e = entry({ days: ["mon", "fri"], everyHours: 3, selection: { kind: "jobs", jobs: ["12", "9007199254740993"] }, email: ["a@b.example"], user: "backup", root: "/opt/c %$'\"x" });
    expect(parseMarker(markerOf(e))).toEqual(e);
  });
  test("a damaged or foreign marker is no entry", () => {
    for (const t of ["cncop-schedule {", 'cncop-schedule {"name":"X"}', "something else", markerOf(entry()).replace('"all"', '"most"')]) expect(parseMarker(t)).toBeUndefined();
  });
});

describe("cron", () => {
  test("the crontab line: fields, quoted paths, % escaped, stdout nowhere, stderr to Logs/CA-cron.log", () => {
    expect(cronLine(entry())).toBe(
      "0 22 * * * root cd '/opt/cncop' && exec '/opt/cncop/Bin/cncopagent' '-c' '/opt/cncop/Config/cncop3.ini' '-a' >/dev/null 2>>'/opt/cncop/Logs/CA-cron.log'",
    );
    const odd = entry({ hour: 6, minute: 5, everyHours: 4, days: ["wed", "sun"], selection: { kind: "type", type: "RSYNC" }, user: "backup", root: "/srv/it's 100%", program: "/srv/it's 100%/Bin/cncopagent", config: "/srv/it's 100%/Config/cncop3.ini", email: ["a@x.example", "b@x.example"] });
    expect(cronLine(odd)).toBe(
      "5 6-23/4 * * 3,0 backup cd '/srv/it'\\''s 100\\%' && exec '/srv/it'\\''s 100\\%/Bin/cncopagent' '-c' '/srv/it'\\''s 100\\%/Config/cncop3.ini' '-t' 'RSYNC' '--email' 'a@x.example,b@x.example' >/dev/null 2>>'/srv/it'\\''s 100\\%/Logs/CA-cron.log'",
    );
  });

  test("cronQuote gives sh the word back (after cron's % unescaping)", async () => {
    for (const w of ["plain", "it's", "a b", "100%", "$HOME", "`x`", "\\n"]) {
      const sh = cronQuote(w).replace(/\\%/g, "%");
      const r = Bun.spawnSync(["sh", "-c", `printf %s ${sh}`]);
      expect(r.stdout.toString()).toBe(w);
    }
  });

  test("the file: header, no mail, entries sorted, each marker then one line; none left: no file", () => {
    const text = renderCronFile([entry({ name: "zz" }), entry({ name: "aa", hour: 1 })])!;
    const lines = text.split("\n");
    expect(lines[0]).toBe(CRON_HEADER);
    expect(lines).toContain('MAILTO=""');
    expect(lines).toContain("SHELL=/bin/sh");
    const jobLines = lines.filter((l) => /^\d/.test(l));
    expect(jobLines.map((l) => l.split(" ").slice(0, 6).join(" "))).toEqual(["0 1 * * * root", "0 22 * * * root"]);
    expect(parseCronFile(text).map((x) => [x.entry.name, x.line])).toEqual([["aa", jobLines[0]!], ["zz", jobLines[1]!]]);
    expect(isSuiteCronFile(text)).toBe(true);
    expect(isSuiteCronFile("0 1 * * * root /bin/true\n")).toBe(false);
    expect(renderCronFile([])).toBeUndefined();
  });
});

describe("systemd", () => {
  test("OnCalendar", () => {
    expect(onCalendar(entry())).toBe("*-*-* 22:00:00");
    expect(onCalendar(entry({ hour: 6, minute: 30, everyHours: 4, days: ["mon", "fri"] }))).toBe("Mon,Fri *-*-* 06/4:30:00");
    expect(onCalendar(entry({ hour: 22, everyHours: 4 }))).toBe("*-*-* 22:00:00");
  });

  test("the units, line by line", () => {
    const e = entry({ user: "backup", root: "/srv/c 50%", program: "/srv/c 50%/Bin/cncopagent", config: '/srv/c 50%/Config/a"$b.ini' });
    const service = serviceUnit(e).split("\n");
    expect(service[0]).toBe("# cncop3 schedule: this unit is written by cncopjobs schedule");
    for (const l of ["[Service]", "Type=oneshot", "WorkingDirectory=/srv/c 50%%", "User=backup", "TimeoutStartSec=infinity", "KillMode=mixed", "Also=cncop-nightly.timer"]) expect(service).toContain(l);
    expect(service).toContain('ExecStart="/srv/c 50%%/Bin/cncopagent" "-c" "/srv/c 50%%/Config/a\\"$$b.ini" "-a"');
    const timer = timerUnit(e).split("\n");
    for (const l of ["[Timer]", "OnCalendar=*-*-* 22:00:00", "Persistent=true", "Unit=cncop-nightly.service", "WantedBy=timers.target"]) expect(timer).toContain(l);
    expect(parseUnit(timerUnit(e))).toEqual(e);
    expect(parseUnit(serviceUnit(e).replace(/^# cncop3.*\n/, "# someone else's\n"))).toBeUndefined();
    expect(unitQuote("a\\b")).toBe('"a\\\\b"');
  });

  const analyze = Bun.which("systemd-analyze");
  test.skipIf(!analyze)("systemd-analyze verify finds nothing to say, and its calendar agrees with nextRun", () => {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-units-"));
    try {
      const root = nodePath.join(dir, "root 100%");
      mkdirSync(nodePath.join(root, "Bin"), { recursive: true });
      writeFileSync(nodePath.join(root, "Bin", "cncopagent"), "#!/bin/sh\n");
      chmodSync(nodePath.join(root, "Bin", "cncopagent"), 0o755);
      const e = entry({ days: ["tue", "sat"], hour: 5, minute: 45, everyHours: 7, root, program: nodePath.join(root, "Bin", "cncopagent"), config: nodePath.join(root, "Config", "cncop3.ini") });
      writeFileSync(nodePath.join(dir, "cncop-nightly.service"), serviceUnit(e));
      writeFileSync(nodePath.join(dir, "cncop-nightly.timer"), timerUnit(e));
      const v = Bun.spawnSync([analyze!, "verify", nodePath.join(dir, "cncop-nightly.timer"), nodePath.join(dir, "cncop-nightly.service")], { stderr: "pipe", stdout: "pipe" });
      expect({ code: v.exitCode, out: `${v.stdout}${v.stderr}` }).toEqual({ code: 0, out: "" });
      const cal = Bun.spawnSync([analyze!, "calendar", "--iterations=5", onCalendar(e)], { stdout: "pipe", env: { ...process.env, TZ: "UTC" } });
      const theirs = [...cal.stdout.toString().matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d{2}-\d{2} \d{2}:\d{2}):00 UTC/g)].map((m) => m[1]);
      const ours: string[] = [];
      let t = new Date();
      for (let i = 0; i < 5; i++) {
        t = nextRun(e, t)!;
        ours.push(`${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, "0")}-${String(t.getDate()).padStart(2, "0")} ${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}`);
      }
      // Both in this process's local time zone, which the test runs in (UTC here and in CI).
      if (new Date().getTimezoneOffset() === 0) expect(theirs).toEqual(ours);
      expect(theirs.length).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Task Scheduler XML", () => {
  const win = entry({
    root: "C:\\cncop 3", program: "C:\\cncop 3\\Bin\\cncopagent.exe", config: "C:\\cncop 3\\Config\\cncop3.ini",
    days: ["mon", "thu"], hour: 6, minute: 30, everyHours: 5, email: ["ops@x.example"], selection: { kind: "jobs", jobs: ["7", "12"] },
  });
  const now = new Date(2026, 10, 30, 12);

  test("UTF-16LE with a byte order mark, read back the same", () => {
    const xml = taskXml(win, now);
    const bytes = taskXmlBytes(xml);
    expect([...bytes.slice(0, 4)]).toEqual([0xff, 0xfe, 0x3c, 0x00]);
    expect(decodeTaskFile(bytes)).toBe(xml);
    expect(decodeTaskFile(new TextEncoder().encode(`\ufeff${xml}`))).toBe(xml);
  });

  test("every setting the entry needs", () => {
    const xml = taskXml(win, now);
    const want: Record<string, string> = {
      UserId: "S-1-5-18", RunLevel: "HighestAvailable", MultipleInstancesPolicy: "IgnoreNew", StartWhenAvailable: "true",
      ExecutionTimeLimit: "PT0S", DisallowStartIfOnBatteries: "false", StopIfGoingOnBatteries: "false", Enabled: "true",
      Command: "C:\\cncop 3\\Bin\\cncopagent.exe", Arguments: '-c "C:\\cncop 3\\Config\\cncop3.ini" 7 12 --email ops@x.example',
      WorkingDirectory: "C:\\cncop 3", StartBoundary: "2026-11-30T06:30:00", Interval: "PT5H", Duration: "PT15H1M", WeeksInterval: "1", URI: "\\cncop\\nightly",
    };
    for (const [tag, value] of Object.entries(want)) expect([tag, xmlElement(xml, tag)]).toEqual([tag, value]);
    expect(xml).toContain("<Monday />");
    expect(xml).toContain("<Thursday />");
    expect(xml).not.toContain("<Tuesday />");
    expect(xml).not.toContain("<LogonType>");
    expect(parseTaskXml(xml)).toEqual(win);
  });

  test("a named account: LogonType Password, no password anywhere", () => {
    const xml = taskXml({ ...win, user: "CORP\\svc&backup" }, now);
    expect(xmlElement(xml, "UserId")).toBe("CORP\\svc&backup");
    expect(xmlElement(xml, "LogonType")).toBe("Password");
    expect(xml).not.toMatch(/<Password>/);
  });

  test("daily without repetition", () => {
    const xml = taskXml(entry({ root: "C:\\c", program: "C:\\c\\Bin\\cncopagent.exe", config: "C:\\c\\Config\\cncop3.ini" }), now);
    expect(xmlElement(xml, "DaysInterval")).toBe("1");
    expect(xml).not.toContain("<Repetition>");
  });

  test.each([
    ["plain", "plain"], ["a b", '"a b"'], ["", '""'], ['say "hi"', '"say \\"hi\\""'], ["C:\\dir\\", "C:\\dir\\"], ["C:\\my dir\\", '"C:\\my dir\\\\"'], ['a\\"b', '"a\\\\\\"b"'],
  ])("windowsQuote %p", (arg, want) => expect(windowsQuote(arg)).toBe(want));
});

describe("scheduler choice and next run per job", () => {
  test("Windows, systemd when it runs, else cron; CNCOP_SCHEDULER forces; paths from the environment", () => {
    expect(schedulerSettings({}, "win32").kind).toBe("windows");
    expect(schedulerSettings({}, "linux", () => true).kind).toBe("systemd");
    expect(schedulerSettings({}, "linux", () => false).kind).toBe("cron");
    const s = schedulerSettings({ CNCOP_SCHEDULER: "Cron", CNCOP_CRON_DIR: "/x/cron.d", CNCOP_SYSTEMD_UNIT_DIR: "/x/units", CNCOP_SYSTEMCTL: "-" }, "linux", () => true);
    expect([s.kind, s.cronDir, s.systemdDir, s.systemctl]).toEqual(["cron", "/x/cron.d", "/x/units", undefined]);
    expect(schedulerSettings({ SystemRoot: "D:\\WIN" }, "win32").tasksDir).toBe("D:\\WIN\\System32\\Tasks");
    expect(usage(() => schedulerSettings({ CNCOP_SCHEDULER: "launchd" }, "linux"))).toBe(2);
  });

  test("-a and -t run enabled jobs, named jobs run even disabled; the earliest entry wins; other installs ignored", () => {
    const job = (jobid: number, jobtype: string, enabled: boolean) => ({ jobid: BigInt(jobid), jobtitle: `j${jobid}`, jobtype, enabled }) as Job;
    const jobs = [job(1, "CIFS", true), job(2, "RSYNC", true), job(3, "CIFS", false)];
    const now = new Date(2026, 10, 30, 12);
    const entries = [
      entry({ name: "all", hour: 22 }),
      entry({ name: "rsync", hour: 13, selection: { kind: "type", type: "RSYNC" } }),
      entry({ name: "three", hour: 23, selection: { kind: "jobs", jobs: ["3"] } }),
      entry({ name: "other", hour: 12, minute: 30, config: "/elsewhere/Config/cncop3.ini" }),
    ];
    const m = jobNextRuns(entries, jobs, "/opt/cncop/Config/cncop3.ini", now);
    expect([...m].map(([id, n]) => [id, n.schedule, n.at.getHours()])).toEqual([[1n, "all", 22], [2n, "rsync", 13], [3n, "three", 23]]);
  });
});
