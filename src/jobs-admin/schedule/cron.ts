/**
 * The suite's own cron file, `/etc/cron.d/cncop`: a header that marks it as the suite's,
 * `MAILTO=""`, and per entry its marker comment and one crontab line. The line changes to
 * the root, runs cncopagent with every path single-quoted for sh and every `%` escaped
 * for cron, sends its standard output (what the CA log already holds) nowhere and appends
 * its standard error (a failure before the CA log is open) to `Logs/CA-cron.log`, so cron
 * sends no mail. Pure: text in, text out; schedule/linux.ts writes the file.
 */
import nodePath from "node:path";
import { agentArgs, hoursOf, markerOf, parseMarker, WEEKDAYS, type ScheduleEntry } from "./entry.ts";

export const CRON_FILE_NAME = "cncop";
export const CRON_HEADER = "# cncop3 schedule: this file is written by cncopjobs schedule";

const HEADER_LINES = [
  CRON_HEADER,
  "# Change it with cncopjobs schedule add|remove; to remove every entry by hand, delete this file.",
  "# Each entry: its cncop-schedule marker, then one crontab line (minute hour day month weekday user command).",
  "SHELL=/bin/sh",
  'MAILTO=""',
];

/** A word for sh, in single quotes; `%` escaped for cron, which turns a bare one into a line break. */
export function cronQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`.replace(/%/g, "\\%");
}

/** The crontab line of an entry. */
export function cronLine(e: ScheduleEntry): string {
  const hours = hoursOf(e);
  const hourField = hours.length > 1 ? `${e.hour}-23/${e.everyHours}` : String(e.hour);
  const dayField = e.days.length === 0 ? "*" : e.days.map((d) => WEEKDAYS.indexOf(d)).join(",");
  const argv = [e.program, ...agentArgs(e)].map(cronQuote).join(" ");
  const errLog = cronQuote(nodePath.join(e.root, "Logs", "CA-cron.log"));
  return `${e.minute} ${hourField} * * ${dayField} ${e.user ?? "root"} cd ${cronQuote(e.root)} && exec ${argv} >/dev/null 2>>${errLog}`;
}

/** The lines of one entry in the file: its marker, then its crontab line. */
export function cronEntryLines(e: ScheduleEntry): string[] {
  return [`# ${markerOf(e)}`, cronLine(e)];
}

/** True when `text` is a cron file the suite wrote. */
export function isSuiteCronFile(text: string): boolean {
  return text.split("\n")[0] === CRON_HEADER;
}

/** The entries of the suite's cron file, with the crontab line each marker comes with. */
export function parseCronFile(text: string): { entry: ScheduleEntry; line: string }[] {
  const lines = text.split("\n");
  const out: { entry: ScheduleEntry; line: string }[] = [];
  lines.forEach((l, i) => {
    const entry = l.startsWith("# ") ? parseMarker(l.slice(2)) : undefined;
    if (entry) out.push({ entry, line: lines[i + 1] ?? "" });
  });
  return out;
}

/** The file with `entries` in it, sorted by name; undefined when none is left (the file goes). */
export function renderCronFile(entries: readonly ScheduleEntry[]): string | undefined {
  if (entries.length === 0) return undefined;
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${[...HEADER_LINES, ...sorted.flatMap(cronEntryLines)].join("\n")}\n`;
}
