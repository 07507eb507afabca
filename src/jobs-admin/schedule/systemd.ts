/**
 * systemd units of an entry: `cncop-NAME.service` (a oneshot run of cncopagent from the
 * root, no start timeout: maxruntime is the job's) and `cncop-NAME.timer` (OnCalendar in
 * local time, Persistent=true so a start missed while the machine was off runs at boot).
 * A timer never starts its service again while it still runs. Both begin with the suite's
 * header and the entry's marker, which is how list and remove know them. Pure.
 */
import { agentArgs, hoursOf, markerOf, parseMarker, type ScheduleEntry } from "./entry.ts";

export const UNIT_PREFIX = "cncop-";
export const UNIT_HEADER = "# cncop3 schedule: this unit is written by cncopjobs schedule";

export const unitNames = (name: string) => ({ service: `${UNIT_PREFIX}${name}.service`, timer: `${UNIT_PREFIX}${name}.timer` });

/** `%` starts a specifier and `$` a variable in most unit settings: both doubled. */
const literal = (s: string) => s.replace(/%/g, "%%").replace(/\$/g, "$$$$");

/** An ExecStart word: double-quoted, with `\` and `"` escaped, specifiers and variables literal. */
export function unitQuote(word: string): string {
  return `"${literal(word.replace(/\\/g, "\\\\").replace(/"/g, '\\"'))}"`;
}

/** `OnCalendar=` of an entry: `Mon,Fri *-*-* 06/4:30:00`. */
export function onCalendar(e: ScheduleEntry): string {
  const days = e.days.map((d) => d[0]!.toUpperCase() + d.slice(1)).join(",");
  const hour = String(e.hour).padStart(2, "0");
  const hours = hoursOf(e).length > 1 ? `${hour}/${e.everyHours}` : hour;
  return `${days ? `${days} ` : ""}*-*-* ${hours}:${String(e.minute).padStart(2, "0")}:00`;
}

function header(e: ScheduleEntry): string[] {
  return [UNIT_HEADER, `# Remove it with: cncopjobs schedule remove ${e.name}`, `# ${markerOf(e)}`];
}

export function serviceUnit(e: ScheduleEntry): string {
  const { timer } = unitNames(e.name);
  return `${[
    ...header(e),
    "[Unit]",
    `Description=cncop3 backup jobs: schedule ${e.name}`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `WorkingDirectory=${literal(e.root)}`,
    `ExecStart=${[e.program, ...agentArgs(e)].map(unitQuote).join(" ")}`,
    ...(e.user ? [`User=${e.user}`] : []),
    // cncopagent stops its agents' trees itself on SIGTERM, then runs postfailure.
    "KillMode=mixed",
    "TimeoutStartSec=infinity",
    "TimeoutStopSec=5min",
    "StandardOutput=null",
    "",
    "[Install]",
    `Also=${timer}`,
  ].join("\n")}\n`;
}

export function timerUnit(e: ScheduleEntry): string {
  const { service } = unitNames(e.name);
  return `${[
    ...header(e),
    "[Unit]",
    `Description=cncop3 schedule ${e.name}: starts ${service}`,
    "",
    "[Timer]",
    `OnCalendar=${onCalendar(e)}`,
    "Persistent=true",
    `Unit=${service}`,
    "",
    "[Install]",
    "WantedBy=timers.target",
  ].join("\n")}\n`;
}

/** The entry of a unit file the suite wrote, or undefined. */
export function parseUnit(text: string): ScheduleEntry | undefined {
  const lines = text.split("\n");
  if (lines[0] !== UNIT_HEADER) return undefined;
  const marker = lines.find((l) => l.startsWith("# cncop-schedule "));
  return marker ? parseMarker(marker.slice(2)) : undefined;
}
