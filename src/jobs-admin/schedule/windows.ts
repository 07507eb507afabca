/**
 * Task Scheduler: each entry is the task `\cncop\NAME`, registered with
 * `schtasks /create /tn \cncop\NAME /xml FILE` from the XML of task-xml.ts (a named account:
 * `/ru ACCOUNT /rp *`, schtasks asks for the password; it never is on a command line).
 * The `\cncop\` folder is the suite's own: list reads the task files Task Scheduler keeps
 * in it (System32\Tasks\cncop), remove runs `schtasks /delete /tn \cncop\NAME /f`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { CncopError, EXIT, errnoCode, errorMessage } from "../../cli/errors.ts";
import type { ScheduleEntry } from "./entry.ts";
import type { InstallPlan, Installed, RunTool, Scheduler, SchedulerSettings } from "./scheduler.ts";
import { decodeTaskFile, parseTaskXml, taskPath, taskXml, taskXmlBytes } from "./task-xml.ts";

/** Where the definition is written for schtasks to read: a fresh private folder. */
const XML_FILE = "cncop-task.xml";

export function windowsScheduler(s: SchedulerSettings, run: RunTool): Scheduler {
  // The task folder's files live under the Tasks folder, in the path's own separators.
  const folder = `${s.tasksDir.replace(/[\\/]+$/, "")}${s.tasksDir.includes("/") ? "/" : "\\"}cncop`;
  const createArgs = (e: ScheduleEntry, xmlFile: string) => [
    s.schtasks, "/create", "/tn", taskPath(e.name), "/xml", xmlFile, ...(e.user === undefined ? [] : ["/ru", e.user, "/rp", "*"]),
  ];
  const plan = (e: ScheduleEntry, now: Date): InstallPlan => ({
    files: [{ path: `${taskPath(e.name)} (the XML given to schtasks)`, text: taskXml(e, now) }],
    commands: [createArgs(e, XML_FILE)],
  });
  return {
    kind: "windows",
    runsCommands: true,
    where: `the Task Scheduler folder ${"\\cncop\\"} (task files in ${folder})`,
    list() {
      let names: string[];
      try {
        names = readdirSync(folder).sort();
      } catch (err) {
        if (errnoCode(err) === "ENOENT") return [];
        throw new CncopError(`cannot read ${folder}: ${errorMessage(err)} (run as an administrator)`, EXIT.FAILED);
      }
      const out: Installed[] = [];
      for (const n of names) {
        const path = nodePath.join(folder, n);
        let text: string;
        try {
          text = decodeTaskFile(readFileSync(path));
        } catch {
          continue;
        }
        const entry = parseTaskXml(text);
        if (entry && entry.name === n.toLowerCase()) out.push({ entry, parts: [{ path, text }] });
      }
      return out;
    },
    plan,
    install(e, now) {
      const p = plan(e, now);
      const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-task-"));
      try {
        const xmlFile = nodePath.join(dir, XML_FILE);
        writeFileSync(xmlFile, taskXmlBytes(p.files[0]!.text), { mode: 0o600 });
        const argv = createArgs(e, xmlFile);
        const r = run(argv, { interactive: e.user !== undefined });
        if (r.exitCode !== 0) throw new CncopError(`${argv.join(" ")} failed (exit ${r.exitCode}): ${r.output.trim()}`, EXIT.FAILED);
        return { files: p.files, commands: [argv] };
      } finally {
        // File, then folder: Bun's recursive rm fails under Wine (EFAULT).
        for (const rm of [() => unlinkSync(nodePath.join(dir, XML_FILE)), () => rmdirSync(dir)]) {
          try {
            rm();
          } catch {
            // Already gone, or never written: nothing left to remove.
          }
        }
      }
    },
    remove(installed) {
      const argv = [s.schtasks, "/delete", "/tn", taskPath(installed.entry.name), "/f"];
      const r = run(argv);
      if (r.exitCode !== 0) throw new CncopError(`${argv.join(" ")} failed (exit ${r.exitCode}): ${r.output.trim()}`, EXIT.FAILED);
      return [argv];
    },
  };
}
