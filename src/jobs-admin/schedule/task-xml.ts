/**
 * The Task Scheduler definition of an entry, as `schtasks /create /xml` takes it: UTF-16LE
 * with a byte order mark. It runs as SYSTEM (S-1-5-18) with highest privileges, or as a
 * named account whose password schtasks asks for (LogonType Password); starts in the root;
 * does not start a second instance while one runs (IgnoreNew); starts as soon as possible
 * after a missed start (StartWhenAvailable); has no time limit of its own (PT0S: maxruntime
 * is the job's). The Description carries the entry's marker. Pure.
 */
import { agentArgs, hoursOf, markerOf, parseMarker, WEEKDAYS, type ScheduleEntry } from "./entry.ts";

export const TASK_FOLDER = "\\cncop\\";
export const taskPath = (name: string) => `${TASK_FOLDER}${name}`;
export const SYSTEM_SID = "S-1-5-18";

const DAY_ELEMENTS: Readonly<Record<(typeof WEEKDAYS)[number], string>> = {
  sun: "Sunday", mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday",
};

export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function xmlUnescape(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]!);
}

/**
 * One argument as CommandLineToArgvW and the C runtime read it back: quoted when it holds
 * a blank or a quote or is empty, a quote escaped with `\`, backslashes before a quote doubled.
 */
export function windowsQuote(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, "$1$1")}"`;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** The trigger's first start: `now`'s local date at the entry's time (Task Scheduler reads it as local time). */
export function startBoundary(e: ScheduleEntry, now: Date): string {
  return `${now.getFullYear()}-${pad2(now.getMonth() + 1)}-${pad2(now.getDate())}T${pad2(e.hour)}:${pad2(e.minute)}:00`;
}

function triggerXml(e: ScheduleEntry, now: Date): string[] {
  const hours = hoursOf(e);
  // Repeat every N hours, the last start included (the duration ends a minute after it).
  const repetition = hours.length > 1
    ? ["      <Repetition>", `        <Interval>PT${e.everyHours}H</Interval>`, `        <Duration>PT${hours[hours.length - 1]! - e.hour}H1M</Duration>`, "        <StopAtDurationEnd>false</StopAtDurationEnd>", "      </Repetition>"]
    : [];
  const schedule = e.days.length === 0
    ? ["      <ScheduleByDay>", "        <DaysInterval>1</DaysInterval>", "      </ScheduleByDay>"]
    : ["      <ScheduleByWeek>", "        <WeeksInterval>1</WeeksInterval>", "        <DaysOfWeek>", ...e.days.map((d) => `          <${DAY_ELEMENTS[d]} />`), "        </DaysOfWeek>", "      </ScheduleByWeek>"];
  return ["    <CalendarTrigger>", ...repetition, `      <StartBoundary>${startBoundary(e, now)}</StartBoundary>`, "      <Enabled>true</Enabled>", ...schedule, "    </CalendarTrigger>"];
}

function principalXml(e: ScheduleEntry): string[] {
  const who = e.user === undefined
    ? [`      <UserId>${SYSTEM_SID}</UserId>`]
    : [`      <UserId>${xmlEscape(e.user)}</UserId>`, "      <LogonType>Password</LogonType>"];
  return ['    <Principal id="Author">', ...who, "      <RunLevel>HighestAvailable</RunLevel>", "    </Principal>"];
}

/** The task's XML as text (declared UTF-16: encode it with taskXmlBytes). */
export function taskXml(e: ScheduleEntry, now: Date): string {
  const args = agentArgs(e).map(windowsQuote).join(" ");
  return `${[
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    "  <RegistrationInfo>",
    `    <Description>${xmlEscape(markerOf(e))}</Description>`,
    `    <URI>${xmlEscape(taskPath(e.name))}</URI>`,
    "  </RegistrationInfo>",
    "  <Triggers>",
    ...triggerXml(e, now),
    "  </Triggers>",
    "  <Principals>",
    ...principalXml(e),
    "  </Principals>",
    "  <Settings>",
    "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>",
    "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>",
    "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>",
    "    <AllowHardTerminate>true</AllowHardTerminate>",
    "    <StartWhenAvailable>true</StartWhenAvailable>",
    "    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>",
    "    <AllowStartOnDemand>true</AllowStartOnDemand>",
    "    <Enabled>true</Enabled>",
    "    <Hidden>false</Hidden>",
    "    <RunOnlyIfIdle>false</RunOnlyIfIdle>",
    "    <WakeToRun>false</WakeToRun>",
    "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>",
    "    <Priority>7</Priority>",
    "  </Settings>",
    '  <Actions Context="Author">',
    "    <Exec>",
    `      <Command>${xmlEscape(e.program)}</Command>`,
    `      <Arguments>${xmlEscape(args)}</Arguments>`,
    `      <WorkingDirectory>${xmlEscape(e.root)}</WorkingDirectory>`,
    "    </Exec>",
    "  </Actions>",
    "</Task>",
  ].join("\r\n")}\r\n`;
}

/** UTF-16LE with a byte order mark: what schtasks reads. */
export function taskXmlBytes(xml: string): Uint8Array {
  const body = Buffer.from(xml, "utf16le");
  return Buffer.concat([Buffer.from([0xff, 0xfe]), body]);
}

/** A task file's text, whichever encoding Task Scheduler (or Wine) stored it in. */
export function decodeTaskFile(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString("utf16le");
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString("utf8");
  // No BOM: UTF-16LE shows as every other byte zero.
  return b.length > 1 && b[1] === 0 ? b.toString("utf16le") : b.toString("utf8");
}

/** The text of the first `<tag>` element, unescaped, or undefined. */
export function xmlElement(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([^<]*)</${tag}>`).exec(xml);
  return m ? xmlUnescape(m[1]!) : undefined;
}

/** The entry of a task the suite registered: its Description's marker. */
export function parseTaskXml(xml: string): ScheduleEntry | undefined {
  const d = xmlElement(xml, "Description");
  return d === undefined ? undefined : parseMarker(d);
}
