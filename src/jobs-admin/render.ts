/**
 * What cncopjobs prints: plain aligned tables (no colour: the output is read over RDP/SSH
 * and by scripts), `show` blocks, and the JSON shape of a job. Settings pass through
 * maskSecrets unless --show-secrets. Titles, commands, reasons are data: the tables and
 * blocks show their control characters escaped (SPEC §5), so a cell is one line and never
 * drives the terminal; --json keeps the values exact (JSON escapes them its own way).
 */
import type { Job } from "../install/jobs-db.ts";
import { escapeControls } from "../format/escape.ts";
import { formatDuration, localTimestamp } from "../format/time.ts";
import type { HistoryAttempt, HistoryRun } from "../history/history.ts";
import { maskSecrets } from "./secrets.ts";

/** Columns padded to their widest cell, shown escaped; `right` columns aligned right. Trailing blanks trimmed. */
export function renderTable(headers: readonly string[], data: readonly (readonly string[])[], right: readonly number[] = []): string {
  const rows = data.map((r) => r.map(escapeControls));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].map((l) => `${l}\n`).join("");
}

export interface LastRunView {
  readonly session: string;
  readonly started: string;
  readonly finished: string;
  readonly durationMs: number;
  readonly status: string;
  readonly reason: string;
}

type OptionalText = "prerun" | "postsuccess" | "postfailure" | "source" | "destination";

/** A job as `--json` and `show` give it: absent text is null, settings may be masked. */
export type JobView = Omit<Job, OptionalText | "settings"> & {
  readonly [K in OptionalText]: string | null;
} & {
  readonly settings: unknown;
  readonly lastRun: LastRunView | null;
};

export function lastRunView(run: HistoryRun | undefined): LastRunView | null {
  if (!run) return null;
  return { session: run.session, started: run.started, finished: run.finished, durationMs: run.durationMs, status: run.status, reason: run.reason };
}

/** A job as cncopagent sees it, for --json and `show`. */
export function jobView(job: Job, lastRun: HistoryRun | undefined, showSecrets: boolean): JobView {
  return {
    jobid: job.jobid,
    jobtitle: job.jobtitle,
    jobtype: job.jobtype,
    enabled: job.enabled,
    maxretries: job.maxretries,
    retrydelay: job.retrydelay,
    maxruntime: job.maxruntime,
    prerun: job.prerun ?? null,
    postsuccess: job.postsuccess ?? null,
    postfailure: job.postfailure ?? null,
    source: job.source ?? null,
    destination: job.destination ?? null,
    settings: showSecrets ? job.settings : maskSecrets(job.settings),
    problems: job.problems,
    lastRun: lastRunView(lastRun),
  };
}

/** `2026-11-26 01:00`, local time. */
export function shortLocal(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : localTimestamp(d).slice(0, 16);
}

export function longLocal(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : localTimestamp(d);
}

/** The jobs table: id, title, type, enabled, retries, last run (when, state, duration), and when a schedule runs it next. */
export function renderJobsTable(views: readonly (JobView & { readonly nextRun?: string | null })[], withNextRun = false): string {
  const rows = views.map((v) => [
    String(v.jobid),
    v.problems.length > 0 ? `${v.jobtitle} (!)` : v.jobtitle,
    v.jobtype,
    v.enabled ? "yes" : "no",
    String(v.maxretries),
    v.lastRun ? shortLocal(v.lastRun.started) : "never",
    v.lastRun?.status ?? "-",
    v.lastRun ? formatDuration(v.lastRun.durationMs) : "-",
    ...(withNextRun ? [v.nextRun ? shortLocal(v.nextRun) : "-"] : []),
  ]);
  const headers = ["ID", "TITLE", "TYPE", "ENABLED", "RETRIES", "LAST RUN", "STATE", "DURATION", ...(withNextRun ? ["NEXT RUN"] : [])];
  return renderTable(headers, rows, [0, 4]);
}

function orNone(v: string | null): string {
  return v ?? "(none)";
}

/** `show JOB`: one line per column, then the last run and any problems. */
export function renderJobBlock(v: JobView, agents: string): string {
  const lines: [string, string][] = [
    ["jobid", String(v.jobid)],
    ["jobtitle", v.jobtitle],
    ["jobtype", agents ? `${v.jobtype} (${agents})` : v.jobtype],
    ["enabled", v.enabled ? "yes" : "no (skipped by --alljobs and --type; still runs when named)"],
    ["maxretries", String(v.maxretries)],
    ["retrydelay", `${v.retrydelay} s (doubling for each further re-run, at most 3600 s)`],
    ["maxruntime", v.maxruntime === 0 ? "0 (no limit)" : `${v.maxruntime} s`],
    ["prerun", orNone(v.prerun)],
    ["postsuccess", orNone(v.postsuccess)],
    ["postfailure", orNone(v.postfailure)],
    ["source", orNone(v.source)],
    ["destination", orNone(v.destination)],
    ["settings", JSON.stringify(v.settings)],
  ];
  const r = v.lastRun;
  lines.push(["last run", r ? `${longLocal(r.started)}: ${r.status} (${r.reason}) after ${formatDuration(r.durationMs)}, session ${r.session}` : "never (no run in the history)"]);
  for (const p of v.problems) lines.push(["problem", p]);
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, val]) => `${k.padEnd(width)}  ${escapeControls(val)}\n`).join("");
}

/** `75 75 0`, `SIGKILL`, `-` (never started): each attempt's decisive exit. */
export function attemptsSummary(attempts: readonly HistoryAttempt[]): string {
  if (attempts.length === 0) return "-";
  return attempts.map((a) => a.signal ?? (a.exitcode === null ? "?" : String(a.exitcode))).join(" ");
}

export function renderHistoryTable(runs: readonly HistoryRun[]): string {
  const rows = runs.map((r) => [
    longLocal(r.started),
    String(r.jobid),
    r.jobtitle,
    r.status,
    formatDuration(r.durationMs),
    attemptsSummary(r.attempts),
    r.reason,
    r.caLog ? r.caLog.replace(/^.*[\\/]/, "") : "-",
  ]);
  return renderTable(["STARTED", "ID", "TITLE", "STATE", "DURATION", "EXITS", "REASON", "LOG"], rows, [1]);
}
