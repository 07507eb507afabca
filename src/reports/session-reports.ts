/**
 * Which finish report a session already has (SPEC §5 "Reports": every job run ends with
 * exactly one JF-). An agent writes its own JF- into `Spool/Messages/`; by the time
 * cncopagent looks, a cncopreporter running at the same time may have sent and deleted it,
 * and then its log says so (`sent JF-... (session S)`). Both places are read, so a JF- is
 * never written twice, and a run whose agent wrote none gets one from cncopagent.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import nodePath from "node:path";
import { type Paths, reporterLogPath } from "../install/paths.ts";
import { reportFileName } from "./report-files.ts";

export interface SessionFinish {
  /** Where the report was found: still in the spool, or already sent by a reporter. */
  readonly where: "spool" | "sent";
  readonly path: string;
  /** Its `reason` and `status` (only when it is still in the spool). */
  readonly reason?: string;
  readonly status?: string;
}

/** Spool files at most this much older than the run's start are read (clock granularity, a slow disk). */
const SLACK_MS = 5_000;
/** `JF-20261130T113328374Z-`: the prefix and UTC stamp of a name from reportFileName. */
const STAMPED = /^JF-\d{8}T\d{9}Z-/;
const STAMP_END = "JF-20261130T113328374Z".length;

/** The JF- of `session` in the spool written since `sinceMs` (epoch ms); undefined when none. */
export function findFinishInSpool(messagesDir: string, session: string, sinceMs: number): SessionFinish | undefined {
  let names: string[];
  try {
    names = readdirSync(messagesDir);
  } catch {
    return undefined;
  }
  // Names written by the suite carry their UTC time (reportFileName): older ones are skipped
  // without a stat, so a spool of thousands of unsent reports costs little per job.
  const oldest = reportFileName("JF-", new Date(sinceMs - SLACK_MS)).slice(0, STAMP_END);
  for (const name of names) {
    if (!name.startsWith("JF-") || !name.endsWith(".json")) continue;
    if (STAMPED.test(name) && name.slice(0, STAMP_END) < oldest) continue;
    const path = nodePath.join(messagesDir, name);
    try {
      if (statSync(path).mtimeMs < sinceMs - SLACK_MS) continue;
      const text = readFileSync(path, "utf8");
      // Cheap test before parsing: most reports in a busy spool belong to other sessions.
      if (!text.includes(session)) continue;
      const report = JSON.parse(text) as Record<string, unknown>;
      if (report.session !== session) continue;
      return { where: "spool", path, reason: typeof report.reason === "string" ? report.reason : undefined, status: typeof report.status === "string" ? report.status : undefined };
    } catch {
      // Gone (sent meanwhile: the reporter's log is read next) or unreadable.
    }
  }
  return undefined;
}

/** The reporter's log line for a JF- of `session` it has sent (see reporter/pass.ts). */
export function sentFinishLine(name: string, session: string): string {
  return `sent ${name} (jobfinished, session ${session})`;
}

/** Did a reporter send a JF- of `session` between `since` and `now`? Reads the RP logs of those days. */
export function findFinishSent(paths: Pick<Paths, "spoolLogs">, session: string, since: Date, now: Date = new Date()): SessionFinish | undefined {
  const marker = `(jobfinished, session ${session})`;
  const days = new Set<string>();
  for (let t = since.getTime(); t <= now.getTime() + 86_400_000; t += 86_400_000) days.add(reporterLogPath(paths, new Date(Math.min(t, now.getTime()))));
  for (const path of days) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    if (text.includes(marker)) return { where: "sent", path };
  }
  return undefined;
}

/** The session's JF-, wherever it is; undefined when nobody wrote one. */
export function findSessionFinish(paths: Pick<Paths, "messages" | "spoolLogs">, session: string, since: Date, now: Date = new Date()): SessionFinish | undefined {
  return findFinishInSpool(paths.messages, session, since.getTime()) ?? findFinishSent(paths, session, since, now);
}
