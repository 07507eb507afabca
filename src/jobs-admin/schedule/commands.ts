/**
 * `cncopjobs schedule list|add|show|remove`: the entries of the scheduler this system uses
 * (schedule/scheduler.ts), made from validated values; `add -n` prints the entry and the
 * commands without installing anything.
 */
import { existsSync } from "node:fs";
import nodePath from "node:path";
import { escapeControls } from "../../format/escape.ts";
import { EXIT, usageError } from "../../cli/errors.ts";
import { knownJobTypes } from "../../install/job-types.ts";
import { ensureTree } from "../../install/paths.ts";
import { localTimestamp } from "../../format/time.ts";
import { parseEmailList } from "../../programs/cncopagent.ts";
import { type AdminContext, loadAllJobs, printJson, resolveJob } from "../context.ts";
import { renderTable } from "../render.ts";
import {
  checkName, checkPath, checkUser, describeSelection, describeWhen, nextRun, parseAt, parseDays, parseEvery, timeOf,
  type ScheduleEntry, type ScheduleSelection,
} from "./entry.ts";
import { cronScheduler, systemdScheduler } from "./linux.ts";
import { type Installed, runTool, type RunTool, type Scheduler, schedulerSettings } from "./scheduler.ts";
import { windowsScheduler } from "./windows.ts";

export type ScheduleAction = "list" | "add" | "show" | "remove";

export interface ScheduleOptions {
  readonly action: ScheduleAction;
  /** NAME, then the jobs of `add`. */
  readonly operands: readonly string[];
  readonly at: string | undefined;
  readonly days: string | undefined;
  readonly every: string | undefined;
  readonly alljobs: boolean;
  readonly type: string | undefined;
  readonly email: readonly string[] | undefined;
  readonly user: string | undefined;
  readonly dryrun: boolean;
  readonly json: boolean;
}

export interface ScheduleDeps {
  readonly env?: Record<string, string | undefined>;
  readonly run?: RunTool;
}

export function openScheduler(platform: NodeJS.Platform | undefined, deps: ScheduleDeps = {}): Scheduler {
  const settings = schedulerSettings(deps.env, platform);
  const run = deps.run ?? runTool;
  if (settings.kind === "windows") return windowsScheduler(settings, run);
  return settings.kind === "systemd" ? systemdScheduler(settings, run) : cronScheduler(settings);
}

function selectionOf(ctx: AdminContext, o: ScheduleOptions, jobs: readonly string[]): ScheduleSelection {
  const given = [jobs.length > 0, o.alljobs, o.type !== undefined].filter(Boolean).length;
  if (given !== 1) throw usageError(`schedule add needs exactly one of: -a (every enabled job), -t TYPE, or job names, as cncopagent takes them`);
  if (o.alljobs) return { kind: "all" };
  if (o.type !== undefined) {
    const known = knownJobTypes(ctx.config.agents);
    const type = o.type.trim().toUpperCase();
    if (!known.includes(type)) throw usageError(`-t ${JSON.stringify(o.type)}: unknown job type. Known types: ${known.join(", ")}`);
    return { kind: "type", type };
  }
  const all = loadAllJobs(ctx);
  const ids = jobs.map((j) => String(resolveJob(all, j).jobid));
  return { kind: "jobs", jobs: [...new Set(ids)] };
}

/** The entry `add` makes: every value checked, the install's paths filled in. */
export function entryOf(ctx: AdminContext, o: ScheduleOptions, windows: boolean): ScheduleEntry {
  const [rawName, ...jobs] = o.operands;
  const name = checkName(rawName);
  const when = parseAt(o.at);
  const days = parseDays(o.days);
  const everyHours = parseEvery(o.every);
  const selection = selectionOf(ctx, o, jobs);
  const email = o.email === undefined ? [] : parseEmailList(o.email);
  if (email.length > 0 && !ctx.config.mail.server) throw usageError(`--email needs a mail server: set mail_server in the [mail] section of ${ctx.config.file}`);
  const p = windows ? nodePath.win32 : nodePath.posix;
  const root = checkPath("root", ctx.paths.root);
  return {
    name, ...when, days, everyHours, selection, email,
    user: checkUser(o.user, windows),
    root,
    program: checkPath("cncopagent", p.join(ctx.paths.bin, windows ? "cncopagent.exe" : "cncopagent")),
    config: checkPath("config", ctx.paths.configFile),
  };
}

function findInstalled(s: Scheduler, name: string): Installed | undefined {
  return s.list().find((i) => i.entry.name === name);
}

export interface EntryView {
  readonly name: string;
  readonly scheduler: string;
  readonly when: string;
  readonly at: string;
  readonly days: readonly string[];
  readonly everyHours: number | null;
  readonly nextRun: string | null;
  readonly selection: string;
  readonly email: readonly string[];
  readonly user: string | null;
  readonly root: string;
  readonly files: readonly string[];
}

function entryView(i: Installed, kind: string, now: Date): EntryView {
  const e = i.entry;
  const next = nextRun(e, now);
  return {
    name: e.name, scheduler: kind, when: describeWhen(e), at: timeOf(e), days: e.days, everyHours: e.everyHours ?? null,
    nextRun: next ? localTimestamp(next).slice(0, 16) : null, selection: describeSelection(e.selection), email: e.email,
    user: e.user ?? null, root: e.root, files: i.parts.map((p) => p.path),
  };
}

function showText(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n").map((l) => `${escapeControls(l)}\n`).join("");
}

const quoteCmd = (argv: readonly string[]) => argv.map((a) => (/^[\w@%+=:,./\\*-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");

export function scheduleCommand(ctx: AdminContext, o: ScheduleOptions, deps: ScheduleDeps = {}): number {
  const s = openScheduler(ctx.platform, deps);
  const now = ctx.now?.() ?? new Date();
  if (o.action === "list") {
    const views = s.list().map((i) => entryView(i, s.kind, now));
    if (o.json) printJson(ctx, views);
    else if (views.length === 0) ctx.stderr(`no schedule in ${s.where}; add one with cncopjobs schedule add NAME --at HH:MM -a\n`);
    else {
      const rows = views.map((v) => [v.name, v.when, v.nextRun ?? "-", v.selection, v.user ?? (s.kind === "windows" ? "SYSTEM" : "root"), v.root]);
      ctx.stdout(renderTable(["NAME", "WHEN", "NEXT RUN", "RUNS", "AS", "ROOT"], rows));
    }
    return EXIT.OK;
  }
  const name = checkName(o.operands[0]);
  if (o.action === "add") {
    const entry = entryOf(ctx, o, s.kind === "windows");
    const existing = findInstalled(s, name);
    if (existing) throw usageError(`schedule ${name} exists (${describeWhen(existing.entry)}); remove it first: cncopjobs schedule remove ${name}`);
    if (!existsSync(entry.program)) ctx.stderr(`warning: ${entry.program} does not exist (yet): the entry fails until cncopagent is installed there\n`);
    // The cron line appends to Logs/, which cncopagent would otherwise create only once it runs.
    if (!o.dryrun) ensureTree(ctx.paths);
    const plan = o.dryrun ? s.plan(entry, now) : s.install(entry, now);
    for (const f of plan.files) ctx.stdout(`${o.dryrun ? "would write" : "wrote"} ${f.path}:\n${f.text}${f.text.endsWith("\n") ? "" : "\n"}`);
    const ran = o.dryrun ? "would run" : s.runsCommands ? "ran" : "run by hand (CNCOP_SYSTEMCTL=-)";
    for (const c of plan.commands) ctx.stdout(`${ran}: ${quoteCmd(c)}\n`);
    const next = nextRun(entry, now);
    ctx.stderr(`${o.dryrun ? "would add" : "added"} schedule ${name} to ${s.where}: ${describeWhen(entry)}, ${describeSelection(entry.selection)}${next ? `; next run ${localTimestamp(next).slice(0, 16)}` : ""}\n`);
    if (!o.dryrun && s.kind === "windows") ctx.stderr(`Task Scheduler keeps a task's run history only while history is on for all tasks: wevtutil set-log Microsoft-Windows-TaskScheduler/Operational /enabled:true\n`);
    return EXIT.OK;
  }
  const installed = findInstalled(s, name);
  if (!installed) throw usageError(`no schedule ${name} in ${s.where} (cncopjobs schedule list shows them; add -n prints an entry without installing it)`);
  if (o.action === "show") {
    if (o.json) printJson(ctx, { ...entryView(installed, s.kind, now), parts: installed.parts });
    // A scheduler's file is data: each line shown escaped (a task file's CRLF as line ends).
    else for (const p of installed.parts) ctx.stdout(`${escapeControls(p.path)}:\n${showText(p.text)}`);
    return EXIT.OK;
  }
  if (o.dryrun) {
    ctx.stdout(`would remove schedule ${name}: ${installed.parts.map((p) => p.path).join(", ")}\n`);
    return EXIT.OK;
  }
  const commands = s.remove(installed);
  for (const c of commands) ctx.stdout(`${s.runsCommands ? "ran" : "run by hand (CNCOP_SYSTEMCTL=-)"}: ${quoteCmd(c)}\n`);
  ctx.stderr(`removed schedule ${name} from ${s.where}\n`);
  return EXIT.OK;
}
