/**
 * The Linux schedulers: systemd units (written, then `systemctl daemon-reload` and
 * `enable --now` of the timer) and the suite's cron file (cron reads /etc/cron.d itself).
 * Only files that begin with the suite's header are read, changed or removed.
 */
import { existsSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import nodePath from "node:path";
import { CncopError, EXIT, errnoCode, errorMessage } from "../../cli/errors.ts";
import { writeFileAtomic } from "../../install/atomic-write.ts";
import { CRON_FILE_NAME, cronLine, isSuiteCronFile, parseCronFile, renderCronFile } from "./cron.ts";
import type { ScheduleEntry } from "./entry.ts";
import type { InstallPlan, Installed, RunTool, Scheduler, SchedulerSettings } from "./scheduler.ts";
import { parseUnit, serviceUnit, timerUnit, UNIT_HEADER, UNIT_PREFIX, unitNames } from "./systemd.ts";

/** cron (Debian's) reads at most 1,000 characters of a command. */
const CRON_COMMAND_MAX = 999;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw new CncopError(`cannot read ${path}: ${errorMessage(err)}`, EXIT.FAILED);
  }
}

function writeText(path: string, text: string): void {
  try {
    writeFileAtomic(path, text, { mode: 0o644 });
  } catch (err) {
    throw new CncopError(`cannot write ${path}: ${errorMessage(err)} (run as root, or set the folder: see cncopjobs schedule --help)`, EXIT.FAILED);
  }
}

function runOrFail(run: RunTool, argv: readonly string[]): void {
  const r = run(argv);
  if (r.exitCode !== 0) throw new CncopError(`${argv.join(" ")} failed (exit ${r.exitCode}): ${r.output.trim()}`, EXIT.FAILED);
}

export function systemdScheduler(s: SchedulerSettings, run: RunTool): Scheduler {
  const dir = s.systemdDir;
  const ctl = (...args: string[]) => [s.systemctl ?? "systemctl", ...args];
  const plan = (e: ScheduleEntry): InstallPlan => {
    const { service, timer } = unitNames(e.name);
    return {
      files: [{ path: nodePath.join(dir, service), text: serviceUnit(e) }, { path: nodePath.join(dir, timer), text: timerUnit(e) }],
      commands: [ctl("daemon-reload"), ctl("enable", "--now", timer)],
    };
  };
  return {
    kind: "systemd",
    runsCommands: s.systemctl !== undefined,
    where: `systemd units ${UNIT_PREFIX}NAME.timer and .service in ${dir}`,
    list() {
      let names: string[];
      try {
        names = readdirSync(dir).filter((f) => f.startsWith(UNIT_PREFIX) && f.endsWith(".timer")).sort();
      } catch (err) {
        if (errnoCode(err) === "ENOENT") return [];
        throw new CncopError(`cannot read ${dir}: ${errorMessage(err)}`, EXIT.FAILED);
      }
      const out: Installed[] = [];
      for (const t of names) {
        const timerPath = nodePath.join(dir, t);
        const timerText = readText(timerPath);
        const entry = timerText === undefined ? undefined : parseUnit(timerText);
        if (!entry || unitNames(entry.name).timer !== t) continue;
        const servicePath = nodePath.join(dir, unitNames(entry.name).service);
        const serviceText = readText(servicePath);
        out.push({ entry, parts: [{ path: timerPath, text: timerText! }, ...(serviceText === undefined ? [] : [{ path: servicePath, text: serviceText }])] });
      }
      return out;
    },
    plan,
    install(e) {
      const p = plan(e);
      for (const f of p.files) {
        const old = readText(f.path);
        if (old !== undefined && !old.startsWith(UNIT_HEADER)) {
          throw new CncopError(`${f.path} exists and was not written by cncopjobs schedule: left alone; choose another name`, EXIT.USAGE);
        }
      }
      for (const f of p.files) writeText(f.path, f.text);
      if (s.systemctl !== undefined) {
        try {
          for (const c of p.commands) runOrFail(run, c);
        } catch (err) {
          for (const f of p.files) unlinkSync(f.path);
          run(ctl("daemon-reload"));
          throw err;
        }
      }
      return p;
    },
    remove(installed) {
      const { timer } = unitNames(installed.entry.name);
      const commands = [ctl("disable", "--now", timer), ctl("daemon-reload")];
      if (s.systemctl !== undefined) runOrFail(run, commands[0]!);
      for (const part of installed.parts) if (readText(part.path)?.startsWith(UNIT_HEADER)) unlinkSync(part.path);
      if (s.systemctl !== undefined) runOrFail(run, commands[1]!);
      return commands;
    },
  };
}

export function cronScheduler(s: SchedulerSettings): Scheduler {
  const file = nodePath.join(s.cronDir, CRON_FILE_NAME);
  const current = (): ScheduleEntry[] => {
    const text = readText(file);
    if (text === undefined) return [];
    if (!isSuiteCronFile(text)) throw new CncopError(`${file} exists and was not written by cncopjobs schedule: left alone (move it away to let the suite write its own)`, EXIT.USAGE);
    return parseCronFile(text).map((x) => x.entry);
  };
  const plan = (e: ScheduleEntry): InstallPlan => {
    const command = cronLine(e).split(" ").slice(6).join(" ");
    if (command.length > CRON_COMMAND_MAX) {
      throw new CncopError(`the cron line of ${e.name} would be ${command.length} characters long; cron reads at most ${CRON_COMMAND_MAX} (shorten the install's path or the selection)`, EXIT.USAGE);
    }
    return { files: [{ path: file, text: renderCronFile([...current().filter((x) => x.name !== e.name), e])! }], commands: [] };
  };
  return {
    kind: "cron",
    runsCommands: true,
    where: `the cron file ${file}`,
    list() {
      const text = readText(file);
      if (text === undefined) return [];
      if (!isSuiteCronFile(text)) return [];
      return parseCronFile(text).map(({ entry, line }) => ({ entry, parts: [{ path: file, text: `${line}\n` }] }));
    },
    plan,
    install(e) {
      const p = plan(e);
      for (const f of p.files) writeText(f.path, f.text);
      return p;
    },
    remove(installed) {
      const rest = current().filter((x) => x.name !== installed.entry.name);
      const text = renderCronFile(rest);
      if (text === undefined) {
        if (existsSync(file)) unlinkSync(file);
      } else writeText(file, text);
      return [];
    },
  };
}
