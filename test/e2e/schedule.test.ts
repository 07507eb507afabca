/**
 * cncopjobs schedule end to end on Linux: the cron file and the systemd units written into
 * temporary folders (CNCOP_CRON_DIR, CNCOP_SYSTEMD_UNIT_DIR; systemctl a script that records
 * its arguments), add/list/show/remove round trips, what it never touches, and bad values.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { makeScratch } from "../helpers/scratch.ts";

const scratch = makeScratch("file");
const CONFIG = "[defaults]\ndays_of_logs = 90\n";

function setup(kind: "cron" | "systemd") {
  const t = scratch.tree({ config: CONFIG });
  t.addJob({ jobtitle: "Files", jobtype: "CIFS" });
  t.addJob({ jobtitle: "Mirror", jobtype: "RSYNC", enabled: 0 });
  const dir = scratch.dir(`sched-${kind}`);
  const calls = nodePath.join(dir, "systemctl.calls");
  const systemctl = t.script("fake-systemctl", `printf '%s\\n' "$*" >> '${calls}'`);
  const env = { CNCOP_SCHEDULER: kind, CNCOP_CRON_DIR: dir, CNCOP_SYSTEMD_UNIT_DIR: dir, CNCOP_SYSTEMCTL: systemctl };
  const jobs = (...args: string[]) => t.run("cncopjobs", args, { env });
  const systemctlCalls = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);
  return { t, dir, jobs, systemctlCalls };
}

const cronFile = (dir: string) => nodePath.join(dir, "cncop");

describe("cncopjobs schedule", () => {
  test.concurrent("cron: add, list, show, the jobs table, remove; the file line by line", async () => {
    const { t, dir, jobs } = setup("cron");
    const dry = await jobs("schedule", "add", "nightly", "--at", "22:00", "-a", "-n");
    expect([dry.exitCode, existsSync(cronFile(dir))]).toEqual([0, false]);
    expect(dry.stdout).toContain(`would write ${cronFile(dir)}:`);
    const line = `0 22 * * * root cd '${t.root}' && exec '${t.bin}/cncopagent' '-c' '${t.configFile}' '-a' >/dev/null 2>>'${t.root}/Logs/CA-cron.log'`;
    expect(dry.stdout).toContain(`${line}\n`);

    const add = await jobs("schedule", "add", "nightly", "--at", "22:00", "-a");
    expect([add.exitCode, add.stderr]).toEqual([0, expect.stringContaining("added schedule nightly to the cron file")]);
    const add2 = await jobs("schedule", "add", "weekend", "--at", "6:30", "--days", "sat,sun", "--every", "6", "Mirror", "1");
    expect(add2.exitCode).toBe(0);
    const lines = readFileSync(cronFile(dir), "utf8").split("\n");
    expect(lines.slice(0, 5)).toEqual([
      "# cncop3 schedule: this file is written by cncopjobs schedule",
      "# Change it with cncopjobs schedule add|remove; to remove every entry by hand, delete this file.",
      "# Each entry: its cncop-schedule marker, then one crontab line (minute hour day month weekday user command).",
      "SHELL=/bin/sh",
      'MAILTO=""',
    ]);
    expect(lines[5]).toStartWith("# cncop-schedule {\"name\":\"nightly\"");
    expect(lines[6]).toBe(line);
    expect(lines[7]).toStartWith("# cncop-schedule {\"name\":\"weekend\"");
    expect(lines[8]).toBe(`30 6-23/6 * * 6,0 root cd '${t.root}' && exec '${t.bin}/cncopagent' '-c' '${t.configFile}' '2' '1' >/dev/null 2>>'${t.root}/Logs/CA-cron.log'`);
    expect(lines.slice(9)).toEqual([""]);

    // The line's command, as cron hands it to sh (a `\%` unescaped), runs cncopagent from the root.
    t.script("cncopagent", `pwd > '${t.root}/ran'; printf '%s\\n' "$@" >> '${t.root}/ran'; echo out; echo err >&2`);
    const sh = Bun.spawnSync(["sh", "-c", lines[8]!.split(" ").slice(6).join(" ").replace(/\\%/g, "%")], { cwd: "/", stdout: "pipe", stderr: "pipe" });
    expect([sh.exitCode, sh.stdout.toString(), sh.stderr.toString()]).toEqual([0, "", ""]);
    expect(readFileSync(nodePath.join(t.root, "ran"), "utf8")).toBe(`${t.root}\n-c\n${t.configFile}\n2\n1\n`);
    expect(readFileSync(nodePath.join(t.root, "Logs", "CA-cron.log"), "utf8")).toBe("err\n");

    const list = await jobs("schedule", "list", "--json");
    const views = JSON.parse(list.stdout) as { name: string; when: string; selection: string; nextRun: string }[];
    expect(views.map((v) => [v.name, v.when, v.selection])).toEqual([["nightly", "daily at 22:00", "-a"], ["weekend", "sat,sun at 06:30, then every 6 h until midnight", "2 1"]]);
    expect(views[0]!.nextRun).toMatch(/^\d{4}-\d\d-\d\d 22:00$/);
    const table = await jobs("schedule");
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME +WHEN +NEXT RUN +RUNS +AS +ROOT$/);

    const show = await jobs("schedule", "show", "weekend");
    expect(show.stdout).toBe(`${cronFile(dir)}:\n${lines[8]}\n`);

    // The jobs table says when each job runs next: Files by both entries, Mirror (disabled) only when named.
    const jobsTable = await jobs("--json");
    const next = (JSON.parse(jobsTable.stdout) as { jobtitle: string; nextRun: string | null }[]).map((j) => [j.jobtitle, j.nextRun !== null]);
    expect(next).toEqual([["Files", true], ["Mirror", true]]);
    expect((await jobs()).stdout.split("\n")[0]).toEndWith("NEXT RUN");
    const w = await t.run("w", [], { env: { CNCOP_SCHEDULER: "cron", CNCOP_CRON_DIR: dir } });
    expect(w.stdout).toContain("next runs (cncopjobs schedule):");
    expect(w.stdout).toMatch(/\d\d:\d\d {2}1 'Files' \(schedule (nightly|weekend)\)/);

    expect((await jobs("schedule", "remove", "nightly")).exitCode).toBe(0);
    expect(readFileSync(cronFile(dir), "utf8")).not.toContain("nightly");
    expect((await jobs("schedule", "remove", "weekend")).exitCode).toBe(0);
    expect(existsSync(cronFile(dir))).toBe(false);
    expect((await jobs("schedule", "remove", "weekend")).exitCode).toBe(2);
  }, 60_000);

  test.concurrent("cron: a cron file that is not the suite's is never read, changed or removed", async () => {
    const { dir, jobs } = setup("cron");
    const foreign = "# my own\n0 1 * * * root /usr/bin/true\n";
    writeFileSync(cronFile(dir), foreign);
    const add = await jobs("schedule", "add", "nightly", "--at", "22:00", "-a");
    expect([add.exitCode, add.stderr]).toEqual([2, expect.stringContaining("was not written by cncopjobs schedule")]);
    expect((await jobs("schedule", "remove", "nightly")).exitCode).toBe(2);
    expect((await jobs("schedule", "list")).exitCode).toBe(0);
    expect(readFileSync(cronFile(dir), "utf8")).toBe(foreign);
  }, 60_000);

  test.concurrent("systemd: units written, daemon-reload and enable --now; remove disables and deletes only the suite's units", async () => {
    const { t, dir, jobs, systemctlCalls } = setup("systemd");
    writeFileSync(nodePath.join(dir, "cncop-other.timer"), "[Timer]\nOnCalendar=daily\n");
    writeFileSync(nodePath.join(dir, "backup.service"), "[Service]\nExecStart=/bin/true\n");
    const add = await jobs("schedule", "add", "nightly", "--at", "22:00", "-t", "cifs", "--user", "backup");
    expect([add.exitCode, add.stderr]).toEqual([0, expect.stringContaining("added schedule nightly")]);
    expect(systemctlCalls()).toEqual(["daemon-reload", "enable --now cncop-nightly.timer"]);
    const service = readFileSync(nodePath.join(dir, "cncop-nightly.service"), "utf8").split("\n");
    expect(service).toContain(`WorkingDirectory=${t.root}`);
    expect(service).toContain(`ExecStart="${t.bin}/cncopagent" "-c" "${t.configFile}" "-t" "CIFS"`);
    expect(service).toContain("User=backup");
    const timer = readFileSync(nodePath.join(dir, "cncop-nightly.timer"), "utf8").split("\n");
    expect(timer).toContain("OnCalendar=*-*-* 22:00:00");
    expect(timer).toContain("Persistent=true");

    const list = JSON.parse((await jobs("schedule", "list", "--json")).stdout) as { name: string; files: string[] }[];
    expect(list.map((v) => [v.name, v.files.map((f) => nodePath.basename(f))])).toEqual([["nightly", ["cncop-nightly.timer", "cncop-nightly.service"]]]);
    const show = await jobs("schedule", "show", "nightly");
    expect(show.stdout).toContain("[Timer]");
    expect(show.stdout).toContain("[Service]");
    expect((await jobs("schedule", "add", "nightly", "--at", "23:00", "-a")).exitCode).toBe(2);
    // A unit of that name the suite did not write is left alone.
    expect((await jobs("schedule", "add", "other", "--at", "23:00", "-a")).exitCode).toBe(2);
    expect(readFileSync(nodePath.join(dir, "cncop-other.timer"), "utf8")).toBe("[Timer]\nOnCalendar=daily\n");

    const dryRemove = await jobs("schedule", "remove", "nightly", "-n");
    expect([dryRemove.exitCode, existsSync(nodePath.join(dir, "cncop-nightly.timer"))]).toEqual([0, true]);
    const rm = await jobs("schedule", "remove", "nightly");
    expect(rm.exitCode).toBe(0);
    expect(systemctlCalls().slice(2)).toEqual(["disable --now cncop-nightly.timer", "daemon-reload"]);
    expect(readdirSync(dir).sort()).toEqual(["backup.service", "cncop-other.timer", "fake-systemctl.calls".replace("fake-", "")].sort());
  }, 60_000);

  test.concurrent("windows (forced, with a recording schtasks): /create /xml of a UTF-16 file, /ru ACCOUNT /rp *, /delete of \\cncop\\ only", async () => {
    const t = scratch.tree({ config: CONFIG });
    const tasks = scratch.dir("sched-tasks");
    // The stand-in keeps the XML where Task Scheduler keeps task files, and records its arguments.
    const schtasks = t.script("fake-schtasks", [
      `printf '%s|' "$@" >> '${tasks}/calls'; echo >> '${tasks}/calls'`,
      `mkdir -p '${tasks}/cncop'; name=\${3#?cncop?}`,
      `case "$1" in /create) cp "$5" "${tasks}/cncop/$name";; /delete) rm "${tasks}/cncop/$name";; esac`,
    ].join("\n"));
    const env = { CNCOP_SCHEDULER: "windows", CNCOP_TASKS_DIR: tasks, CNCOP_SCHTASKS: schtasks };
    const jobs = (...args: string[]) => t.run("cncopjobs", args, { env });
    const add = await jobs("schedule", "add", "nightly", "--at", "22:00", "--days", "fri", "-a", "--user", "CORP\\svc");
    expect([add.exitCode, add.stderr]).toEqual([0, expect.stringContaining("added schedule nightly")]);
    const bytes = readFileSync(nodePath.join(tasks, "cncop", "nightly"));
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xfe]);
    const xml = bytes.subarray(2).toString("utf16le");
    expect(xml).toContain("<LogonType>Password</LogonType>");
    expect(xml).toContain("<Friday />");
    const calls = readFileSync(nodePath.join(tasks, "calls"), "utf8").split("\n");
    expect(calls[0]).toMatch(/^\/create\|\/tn\|\\cncop\\nightly\|\/xml\|[^|]+cncop-task\.xml\|\/ru\|CORP\\svc\|\/rp\|\*\|$/);
    const list = JSON.parse((await jobs("schedule", "list", "--json")).stdout) as { name: string; user: string; when: string }[];
    expect(list.map((v) => [v.name, v.user, v.when])).toEqual([["nightly", "CORP\\svc", "fri at 22:00"]]);
    expect((await jobs("schedule", "remove", "nightly")).exitCode).toBe(0);
    expect(readFileSync(nodePath.join(tasks, "calls"), "utf8").split("\n")[1]).toBe("/delete|/tn|\\cncop\\nightly|/f|");
    expect(existsSync(nodePath.join(tasks, "cncop", "nightly"))).toBe(false);
  }, 60_000);

  test.concurrent("bad names, times, selections and options exit 2 and install nothing", async () => {
    const { dir, jobs } = setup("cron");
    const cases: [string[], string][] = [
      [["schedule", "add", "Nightly", "--at", "22:00", "-a"], "is not a schedule name"],
      [["schedule", "add", "nightly", "--at", "24:00", "-a"], "is not a time of day"],
      [["schedule", "add", "nightly", "--at", "22:00"], "exactly one of"],
      [["schedule", "add", "nightly", "--at", "22:00", "-t", "NOPE"], "unknown job type"],
      [["schedule", "add", "nightly", "--at", "22:00", "nosuchjob"], 'unknown job "nosuchjob"'],
      [["schedule", "add", "nightly", "--at", "22:00", "-a", "--email", "ops@example.com"], "needs a mail server"],
      [["schedule", "add", "--at", "22:00", "-a"], "schedule add takes NAME [JOB...]"],
      [["schedule", "frobnicate"], "unknown schedule action"],
      [["schedule", "show"], "schedule show takes NAME"],
      [["schedule", "show", "nightly", "--at", "22:00"], "--at does not apply to schedule show"],
      [["schedule", "show", "nightly"], "no schedule nightly"],
      [["list", "--at", "22:00"], "--at does not apply"],
    ];
    for (const [args, message] of cases) {
      const r = await jobs(...args);
      expect({ args, code: r.exitCode, said: r.stderr.includes(message) }).toEqual({ args, code: 2, said: true });
    }
    expect(existsSync(cronFile(dir))).toBe(false);
  }, 60_000);
});
