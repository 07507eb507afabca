/**
 * Which logs exist: cncopagent's `Logs/CA-YY-MM-DD_HHMM[-NNN].log` (one per invocation)
 * and the daily `Spool/Logs/<PREFIX>-YYYYMMDD.log` files (agents, `CAD` diagnostics,
 * `RP` cncopreporter). The day of a log is taken from its name, never from its mtime.
 */
import { readdirSync } from "node:fs";
import nodePath from "node:path";
import { AGENT_LOG_PREFIXES, BUILTIN_JOB_TYPES, agentLogPrefix } from "../install/job-types.ts";
import { CA_DIAGNOSTIC_PREFIX, CA_LOG_RE, CA_PREFIX, DAILY_LOG_RE, type Paths, REPORTER_PREFIX } from "../install/paths.ts";

export type LogKind = "ca" | "daily";

export interface LogFile {
  /** Upper case: `CA`, `CAD`, `RP`, `CIFS`, ... */
  readonly prefix: string;
  /** `YYYY-MM-DD`, from the name. */
  readonly day: string;
  /** Orders the logs of one prefix, oldest first (day, time, suffix). */
  readonly sortKey: string;
  readonly name: string;
  readonly path: string;
  readonly kind: LogKind;
}


function validDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** A CA log's name, parsed; undefined for any other name. Years are 20YY. */
export function parseCaLogName(name: string, dir = ""): LogFile | undefined {
  const m = CA_LOG_RE.exec(name);
  if (!m) return undefined;
  const [, yy, mo, dd, hh, mi, suffix] = m;
  if (!validDate(2000 + Number(yy), Number(mo), Number(dd)) || Number(hh) > 23 || Number(mi) > 59) return undefined;
  const day = `20${yy}-${mo}-${dd}`;
  const sortKey = `${day} ${hh}${mi} ${String(Number(suffix ?? 0)).padStart(6, "0")}`;
  return { prefix: CA_PREFIX, day, sortKey, name, path: nodePath.join(dir, name), kind: "ca" };
}

/** A daily log's name in `Spool/Logs/` (`<PREFIX>-YYYYMMDD.log`), parsed. */
export function parseDailyLogName(name: string, dir = ""): LogFile | undefined {
  const m = DAILY_LOG_RE.exec(name);
  if (!m) return undefined;
  const [, prefix, y, mo, d] = m;
  if (!validDate(Number(y), Number(mo), Number(d))) return undefined;
  const p = prefix!.toUpperCase();
  // `CA` means cncopagent's own logs in Logs/: a daily file of that name is not one of them.
  if (p === CA_PREFIX) return undefined;
  const day = `${y}-${mo}-${d}`;
  return { prefix: p, day, sortKey: day, name, path: nodePath.join(dir, name), kind: "daily" };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() || e.isSymbolicLink())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** Every log of the tree, each prefix's oldest first. */
export function listLogFiles(paths: Pick<Paths, "logs" | "spoolLogs">, readDir: (dir: string) => string[] = listDir): LogFile[] {
  const out: LogFile[] = [];
  for (const name of readDir(paths.logs)) {
    const f = parseCaLogName(name, paths.logs);
    if (f) out.push(f);
  }
  for (const name of readDir(paths.spoolLogs)) {
    const f = parseDailyLogName(name, paths.spoolLogs);
    if (f) out.push(f);
  }
  return out.sort(compareLogs);
}

export function compareLogs(a: LogFile, b: LogFile): number {
  if (a.prefix !== b.prefix) return a.prefix < b.prefix ? -1 : 1;
  return a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0;
}

export function logsOf(files: readonly LogFile[], prefix: string): LogFile[] {
  const p = prefix.toUpperCase();
  return files.filter((f) => f.prefix === p);
}

/** The days that have a log of this prefix, newest first. */
export function daysWithLogs(files: readonly LogFile[]): string[] {
  return [...new Set(files.map((f) => f.day))].sort().reverse();
}

export type DayPick = { day: string; files: LogFile[] } | { outOfRange: { days: number; newest: string; oldest: string } } | { none: true };

/**
 * `--daysago N` counts days that have a log, not calendar days: 0 is the newest day with
 * a log of the prefix, 1 the one before it that has a log, and so on.
 */
export function pickDay(files: readonly LogFile[], daysAgo: number): DayPick {
  const days = daysWithLogs(files);
  if (days.length === 0) return { none: true };
  const day = days[daysAgo];
  if (day === undefined) return { outOfRange: { days: days.length, newest: days[0]!, oldest: days[days.length - 1]! } };
  return { day, files: files.filter((f) => f.day === day) };
}

export interface PrefixInfo {
  readonly prefix: string;
  readonly newestDay: string;
  readonly days: number;
  readonly files: number;
  readonly newest: LogFile;
  readonly what: string;
}

/** What a prefix's logs are, for the listing. `extraAgents`: `[agents]` programs of the config. */
export function describePrefix(prefix: string, extraAgents: readonly string[] = []): string {
  const p = prefix.toUpperCase();
  if (p === CA_PREFIX) return "cncopagent's own log, one per invocation (Logs/)";
  if (p === CA_DIAGNOSTIC_PREFIX) return "cncopagent -d diagnostic log (Spool/Logs/)";
  if (p === REPORTER_PREFIX) return "cncopreporter's log (Spool/Logs/)";
  const agents = new Set<string>();
  for (const [agent, ap] of Object.entries(AGENT_LOG_PREFIXES)) if (ap === p) agents.add(agent);
  for (const agent of extraAgents) if (agentLogPrefix(agent) === p) agents.add(agent.toLowerCase());
  if (agents.size === 0) return "an agent's daily log (Spool/Logs/)";
  const types = Object.entries(BUILTIN_JOB_TYPES)
    .filter(([, t]) => t.agents.some((a) => agents.has(a)))
    .map(([type]) => type);
  return `${[...agents].join(", ")} daily log${types.length ? `, job type ${types.join("/")}` : ""} (Spool/Logs/)`;
}

/** One row per prefix present, CA first, then by name. */
export function summarisePrefixes(files: readonly LogFile[], extraAgents: readonly string[] = []): PrefixInfo[] {
  const byPrefix = new Map<string, LogFile[]>();
  for (const f of files) {
    const list = byPrefix.get(f.prefix) ?? [];
    list.push(f);
    byPrefix.set(f.prefix, list);
  }
  return [...byPrefix.entries()]
    .sort(([a], [b]) => (a === CA_PREFIX ? -1 : b === CA_PREFIX ? 1 : a < b ? -1 : 1))
    .map(([prefix, list]) => {
      const sorted = [...list].sort(compareLogs);
      const newest = sorted[sorted.length - 1]!;
      return { prefix, newestDay: newest.day, days: daysWithLogs(sorted).length, files: sorted.length, newest, what: describePrefix(prefix, extraAgents) };
    });
}

/** Prefixes that are expected even before their first log exists (follow may wait for them). */
export function isKnownPrefix(prefix: string, extraAgents: readonly string[] = []): boolean {
  const p = prefix.toUpperCase();
  if (p === CA_PREFIX || p === CA_DIAGNOSTIC_PREFIX || p === REPORTER_PREFIX) return true;
  if (Object.values(AGENT_LOG_PREFIXES).includes(p)) return true;
  return extraAgents.some((a) => agentLogPrefix(a) === p);
}
