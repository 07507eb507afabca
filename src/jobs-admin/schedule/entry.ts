/**
 * A schedule entry as data, the same for every scheduler: when (a time of day, the days of
 * the week, a repetition every N hours until the end of the day), what (cncopagent of this
 * install with its -c config and a selection), as whom. Each value is validated here, once;
 * the writers (cron, systemd, Task Scheduler) only render an entry, and the entry each of
 * them stores beside what it installed (the marker) is read back through parseMarker.
 */
import { usageError } from "../../cli/errors.ts";

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** The order days are shown and written in: Monday first. */
const WEEK_ORDER: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_NAMES: Readonly<Record<string, Weekday>> = {
  monday: "mon", tuesday: "tue", wednesday: "wed", thursday: "thu", friday: "fri", saturday: "sat", sunday: "sun",
};

export type ScheduleSelection =
  | { readonly kind: "all" }
  | { readonly kind: "type"; readonly type: string }
  /** Job ids, in the order given: a title may change, an id stays the job's. */
  | { readonly kind: "jobs"; readonly jobs: readonly string[] };

export interface ScheduleEntry {
  readonly name: string;
  readonly hour: number;
  readonly minute: number;
  /** Days of the week it runs on, Monday first; empty: every day. */
  readonly days: readonly Weekday[];
  /** Runs again every N hours after `hour` until the end of the day; undefined: once. */
  readonly everyHours: number | undefined;
  readonly selection: ScheduleSelection;
  readonly email: readonly string[];
  /** The account it runs as; undefined: SYSTEM on Windows, root on Linux. */
  readonly user: string | undefined;
  /** The install: its root (the working folder), its cncopagent and its config. */
  readonly root: string;
  readonly program: string;
  readonly config: string;
}

export const NAME_RULE = "a schedule name is 1 to 40 lower-case letters, digits, - and _, starting with a letter or digit";
const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function checkName(name: string | undefined): string {
  if (name === undefined || name === "") throw usageError(`a schedule needs a name, e.g. cncopjobs schedule add nightly --at 22:00 -a`);
  if (!NAME_RE.test(name)) throw usageError(`${JSON.stringify(name)} is not a schedule name: ${NAME_RULE}`);
  return name;
}

/** `HH:MM` or `H:MM`, 00:00 to 23:59. */
export function parseAt(at: string | undefined): { hour: number; minute: number } {
  if (at === undefined) throw usageError(`--at HH:MM is required: the time of day the entry runs (24-hour, local time), e.g. --at 22:00`);
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(at);
  if (!m) throw usageError(`--at ${JSON.stringify(at)} is not a time of day: give HH:MM, 00:00 to 23:59 (local time), e.g. --at 22:00`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** `mon,tue,...` (three letters or full names, any case); undefined: every day. */
export function parseDays(days: string | undefined): Weekday[] {
  if (days === undefined) return [];
  const words = days.split(",").map((d) => d.trim().toLowerCase());
  const bad = words.filter((w) => !(WEEKDAYS as readonly string[]).includes(w) && !Object.hasOwn(FULL_NAMES, w));
  if (bad.length > 0 || words.length === 0) {
    throw usageError(`--days ${JSON.stringify(days)}: ${bad.map((b) => JSON.stringify(b)).join(", ") || "nothing"} is not a day; give a comma-separated list of mon, tue, wed, thu, fri, sat, sun`);
  }
  const set = new Set(words.map((w) => FULL_NAMES[w] ?? (w as Weekday)));
  // All seven days are every day: the same entry, written the simple way.
  return set.size === 7 ? [] : WEEK_ORDER.filter((d) => set.has(d));
}

/** Hours between runs, 1 to 23; undefined: once a day. */
export function parseEvery(every: string | undefined): number | undefined {
  if (every === undefined) return undefined;
  if (!/^\d{1,2}$/.test(every) || Number(every) < 1 || Number(every) > 23) {
    throw usageError(`--every ${JSON.stringify(every)}: give the hours between runs, 1 to 23 (the entry runs at --at, then every N hours until midnight)`);
  }
  return Number(every);
}

/** The hours of the day it starts at. */
export function hoursOf(entry: Pick<ScheduleEntry, "hour" | "everyHours">): number[] {
  const out = [entry.hour];
  if (entry.everyHours !== undefined) for (let h = entry.hour + entry.everyHours; h < 24; h += entry.everyHours) out.push(h);
  return out;
}

const pad2 = (n: number) => String(n).padStart(2, "0");
export const timeOf = (e: Pick<ScheduleEntry, "hour" | "minute">) => `${pad2(e.hour)}:${pad2(e.minute)}`;

/** In words: `daily at 22:00`, `mon,fri at 06:30, then every 4 h until midnight`. */
export function describeWhen(e: Pick<ScheduleEntry, "hour" | "minute" | "days" | "everyHours">): string {
  const days = e.days.length === 0 ? "daily" : e.days.join(",");
  const every = e.everyHours === undefined ? "" : `, then every ${e.everyHours} h until midnight`;
  return `${days} at ${timeOf(e)}${every}`;
}

export function describeSelection(s: ScheduleSelection): string {
  if (s.kind === "all") return "-a";
  if (s.kind === "type") return `-t ${s.type}`;
  return s.jobs.join(" ");
}

/** cncopagent's arguments after the program: `-c CONFIG`, the selection, `--email`. */
export function agentArgs(e: Pick<ScheduleEntry, "config" | "selection" | "email">): string[] {
  const sel = e.selection;
  const selection = sel.kind === "all" ? ["-a"] : sel.kind === "type" ? ["-t", sel.type] : [...sel.jobs];
  return ["-c", e.config, ...selection, ...(e.email.length > 0 ? ["--email", e.email.join(",")] : [])];
}

/** The next start after `now` (local time), or undefined when it never runs. */
export function nextRun(e: Pick<ScheduleEntry, "hour" | "minute" | "days" | "everyHours">, now: Date): Date | undefined {
  for (let offset = 0; offset <= 7; offset++) {
    const day = new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset);
    if (e.days.length > 0 && !e.days.includes(WEEKDAYS[day.getDay()]!)) continue;
    for (const h of hoursOf(e)) {
      const t = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h, e.minute);
      if (t.getTime() > now.getTime()) return t;
    }
  }
  return undefined;
}

/**
 * A path the entry names: absolute and free of control characters, which no scheduler's
 * file can hold on one line (the config and root are data from the command line).
 */
export function checkPath(what: string, path: string): string {
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) throw usageError(`the ${what} path ${JSON.stringify(path)} holds a control character: a scheduler entry cannot name it`);
  return path;
}

/** Linux: a user name as useradd takes it; Windows: `user`, `DOMAIN\user` or `user@domain`. */
export function checkUser(user: string | undefined, windows: boolean): string | undefined {
  if (user === undefined) return undefined;
  const ok = windows ? /^[^"/[\]:;|=,+*?<>\u0000-\u001f]{1,104}$/.test(user) && !/^\s|\s$/.test(user) : /^[a-z_][a-z0-9_.-]{0,31}\$?$/i.test(user);
  if (!ok) {
    throw usageError(
      `--user ${JSON.stringify(user)} is not an account name: ${windows ? "give user, DOMAIN\\user or user@domain" : "give a local user name (letters, digits, _ . -)"}`,
    );
  }
  return user;
}

/** The marker stored with each installed entry: a single line of JSON. */
export const MARKER = "cncop-schedule";

export function markerOf(e: ScheduleEntry): string {
  const { name, hour, minute, days, everyHours, selection, email, user, root, program, config } = e;
  return `${MARKER} ${JSON.stringify({ name, at: timeOf({ hour, minute }), days, everyHours: everyHours ?? null, selection, email, user: user ?? null, root, program, config })}`;
}

/** The entry a marker line holds (the text after `cncop-schedule `), or undefined when it is not one. */
export function parseMarker(text: string): ScheduleEntry | undefined {
  const at = text.indexOf(`${MARKER} {`);
  if (at < 0) return undefined;
  try {
    const v = JSON.parse(text.slice(at + MARKER.length + 1)) as Record<string, unknown>;
    const name = typeof v.name === "string" && NAME_RE.test(v.name) ? v.name : undefined;
    const when = typeof v.at === "string" ? parseAt(v.at) : undefined;
    const sel = v.selection as ScheduleSelection | undefined;
    const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === "string");
    const selOk = sel && (sel.kind === "all" || (sel.kind === "type" && typeof sel.type === "string") || (sel.kind === "jobs" && strings(sel.jobs)));
    if (!name || !when || !selOk || !strings(v.days) || !strings(v.email)) return undefined;
    if (typeof v.root !== "string" || typeof v.program !== "string" || typeof v.config !== "string") return undefined;
    return {
      name,
      ...when,
      days: parseDays((v.days as string[]).length ? (v.days as string[]).join(",") : undefined),
      everyHours: typeof v.everyHours === "number" ? parseEvery(String(v.everyHours)) : undefined,
      selection: sel,
      email: v.email as string[],
      user: typeof v.user === "string" ? v.user : undefined,
      root: v.root,
      program: v.program,
      config: v.config,
    };
  } catch {
    return undefined;
  }
}
