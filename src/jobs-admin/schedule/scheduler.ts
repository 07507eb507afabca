/**
 * Which scheduler takes the entries, and where it keeps them. Windows: Task Scheduler.
 * Linux: systemd when it runs (/run/systemd/system exists, as sd_booted checks), else cron.
 * Every place and program can be overridden through the environment, for tests and for
 * unusual layouts:
 *
 *   CNCOP_SCHEDULER         systemd, cron or windows: that scheduler, whatever runs
 *   CNCOP_SYSTEMD_UNIT_DIR  where the units go (/etc/systemd/system)
 *   CNCOP_SYSTEMCTL         the systemctl program (systemctl); "-": run none, print the commands
 *   CNCOP_CRON_DIR          the folder of the suite's cron file (/etc/cron.d)
 *   CNCOP_TASKS_DIR         where Task Scheduler keeps task files (%SystemRoot%\System32\Tasks)
 *   CNCOP_SCHTASKS          the schtasks program (schtasks)
 */
import { existsSync } from "node:fs";
import { usageError } from "../../cli/errors.ts";
import type { ScheduleEntry } from "./entry.ts";

export type SchedulerKind = "systemd" | "cron" | "windows";

export interface SchedulerSettings {
  readonly kind: SchedulerKind;
  readonly systemdDir: string;
  /** undefined: run no systemctl command, say which to run. */
  readonly systemctl: string | undefined;
  readonly cronDir: string;
  readonly tasksDir: string;
  readonly schtasks: string;
}

export function schedulerSettings(env: Record<string, string | undefined> = process.env, platform: NodeJS.Platform = process.platform, systemdRuns = () => existsSync("/run/systemd/system")): SchedulerSettings {
  const forced = env.CNCOP_SCHEDULER?.trim().toLowerCase();
  if (forced && !["systemd", "cron", "windows"].includes(forced)) {
    throw usageError(`CNCOP_SCHEDULER=${JSON.stringify(env.CNCOP_SCHEDULER)}: give systemd, cron or windows (or unset it to choose by the system)`);
  }
  const kind = (forced || (platform === "win32" ? "windows" : systemdRuns() ? "systemd" : "cron")) as SchedulerKind;
  const systemctl = env.CNCOP_SYSTEMCTL ?? "systemctl";
  return {
    kind,
    systemdDir: env.CNCOP_SYSTEMD_UNIT_DIR || "/etc/systemd/system",
    systemctl: systemctl === "-" || systemctl === "" ? undefined : systemctl,
    cronDir: env.CNCOP_CRON_DIR || "/etc/cron.d",
    tasksDir: env.CNCOP_TASKS_DIR || `${env.SystemRoot ?? env.SYSTEMROOT ?? "C:\\Windows"}\\System32\\Tasks`,
    schtasks: env.CNCOP_SCHTASKS || "schtasks",
  };
}

/** A program the scheduler needs, run without a shell; its output is returned, not shown. */
export type RunTool = (argv: readonly string[], opts?: { readonly interactive?: boolean }) => { readonly exitCode: number; readonly output: string };

export const runTool: RunTool = (argv, opts = {}) => {
  try {
    const r = Bun.spawnSync({
      cmd: [...argv],
      stdin: opts.interactive ? "inherit" : "ignore",
      stdout: opts.interactive ? "inherit" : "pipe",
      stderr: opts.interactive ? "inherit" : "pipe",
    });
    const output = `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`;
    return { exitCode: r.exitCode ?? 1, output };
  } catch (err) {
    return { exitCode: 127, output: (err as Error).message };
  }
};

/** What the suite installed for one entry: the entry and its text exactly as stored. */
export interface Installed {
  readonly entry: ScheduleEntry;
  /** Each file that holds it and what it shows of it (the whole unit, the cron line, the task XML). */
  readonly parts: readonly { readonly path: string; readonly text: string }[];
}

/** What add installs (or, with -n, would): files with their text, then commands to run. */
export interface InstallPlan {
  readonly files: readonly { readonly path: string; readonly text: string }[];
  readonly commands: readonly (readonly string[])[];
}

export interface Scheduler {
  readonly kind: SchedulerKind;
  /** Where its entries are, in words. */
  readonly where: string;
  /** False when its commands are left to the administrator (CNCOP_SYSTEMCTL=-). */
  readonly runsCommands: boolean;
  list(): Installed[];
  plan(entry: ScheduleEntry, now: Date): InstallPlan;
  install(entry: ScheduleEntry, now: Date): InstallPlan;
  /** Removes what the suite installed under `name`; the commands it ran. */
  remove(installed: Installed): readonly (readonly string[])[];
}
