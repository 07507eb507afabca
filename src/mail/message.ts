/**
 * The `--email` completion message (SPEC §5), as pure data: subject and a plain-text body
 * made to be read on a phone (short "Label: value" lines, no table wider than a screen).
 */
import { maskText } from "../format/secrets.ts";
import type { AgentExit, AttemptDetail, JobOutcome } from "../dispatcher/run-job.ts";
import { formatDuration, localTimestamp } from "../format/time.ts";

export interface JobMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  /** For mail filters: X-Cncop-Jobid, X-Cncop-Status, X-Cncop-Session, X-Cncop-Host. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface MessageContext {
  readonly from: string;
  readonly to: readonly string[];
  readonly hostname: string;
  readonly caLogPath: string;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `2025-06-01 02:00:00 +02:00`: local time with its offset, so a reader elsewhere is not misled. */
export function localTimeWithOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  return `${localTimestamp(d)} ${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** Control characters (terminal colours, carriage returns) make no sense in mail. */
export function printable(text: string): string {
  return maskText(text)
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "")
    .replace(/\x1b[@-_]/g, "")
    .replace(/[\x00-\x08\x0a-\x1f\x7f]/g, " ")
    .replace(/\s+$/, "");
}

/** One line, for headers: no line breaks, at most `max` characters. */
function oneLine(text: string, max = 200): string {
  const t = printable(text).replace(/\t/g, " ");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

export function subjectOf(outcome: JobOutcome, hostname: string): string {
  return `${outcome.status}: ${oneLine(outcome.job.jobtitle)} (job ${outcome.job.jobid}) on ${oneLine(hostname, 100)}`;
}

export function describeAgentExit(a: AgentExit): string {
  const how = a.exitcode !== null ? `exit status ${a.exitcode}` : a.signal !== null ? `killed by ${a.signal}` : a.reason;
  return `${a.agent}: ${how} (${a.state})`;
}

function attemptLines(a: AttemptDetail): string[] {
  const started = new Date(a.started);
  const took = formatDuration(a.durationMs ?? new Date(a.finished).getTime() - started.getTime());
  const head = `Attempt ${a.number}: ${localTimestamp(started).slice(11)}, ${took}`;
  if (a.agents.length === 0) {
    const how = a.exitcode !== null ? `exit status ${a.exitcode}` : a.signal !== null ? `killed by ${a.signal}` : "no exit status";
    return [head, `  ${how}`];
  }
  return [head, ...a.agents.map((x) => `  ${describeAgentExit(x)}`)];
}

export function bodyOf(outcome: JobOutcome, ctx: Pick<MessageContext, "hostname" | "caLogPath">): string {
  const { job } = outcome;
  const lines: string[] = [];
  lines.push(`${outcome.status}: job ${job.jobid} '${oneLine(job.jobtitle)}'`);
  lines.push(`${outcome.status === "OK" ? "Result" : "Reason"}: ${printable(outcome.reason)}`);
  if (outcome.interrupted && !/interrupt/i.test(outcome.reason)) lines.push("cncopagent was interrupted during this job.");
  lines.push("");
  lines.push(`Host: ${ctx.hostname}`);
  lines.push(`Job type: ${job.jobtype}`);
  lines.push(`Session: ${outcome.session}`);
  lines.push(`Started: ${localTimeWithOffset(outcome.started)}`);
  lines.push(`Finished: ${localTimeWithOffset(outcome.finished)}`);
  lines.push(`Duration: ${formatDuration(outcome.durationMs)}`);
  lines.push("");
  if (outcome.attempts.length === 0) {
    lines.push(`Attempts: none (${outcome.status === "SKIPPED" ? "the job did not run" : "the agent did not run"})`);
  } else {
    lines.push(`Attempts: ${outcome.attempts.length}`);
    for (const a of outcome.attempts) lines.push(...attemptLines(a));
  }
  lines.push("");
  lines.push(`CA log: ${ctx.caLogPath}`);
  lines.push("");
  const last = outcome.attempts[outcome.attempts.length - 1];
  if (outcome.outputTail.length === 0) {
    lines.push(last ? `The agent wrote no output in attempt ${last.number}.` : "No agent output: the agent did not run.");
  } else {
    lines.push(`Last ${outcome.outputTail.length} line(s) of the agent output${last ? ` (attempt ${last.number})` : ""}:`);
    for (const l of outcome.outputTail) lines.push(printable(l));
  }
  lines.push("");
  lines.push(`-- cncopagent on ${ctx.hostname}, sent because it was started with --email`);
  return `${lines.join("\n")}\n`;
}

export function buildJobMessage(outcome: JobOutcome, ctx: MessageContext): JobMessage {
  return {
    from: ctx.from,
    to: ctx.to,
    subject: subjectOf(outcome, ctx.hostname),
    text: bodyOf(outcome, ctx),
    headers: {
      "X-Cncop-Jobid": String(outcome.job.jobid),
      "X-Cncop-Status": outcome.status,
      "X-Cncop-Session": oneLine(outcome.session),
      "X-Cncop-Host": oneLine(ctx.hostname),
    },
  };
}
