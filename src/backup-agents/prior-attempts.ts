/**
 * The earlier attempts of a session, read back from the agent's own daily logs, so that
 * the JF- report of attempt 3 lists attempts 1 and 2 too (cncopagent does not pass them).
 * Only logs of the last MAX_DAYS days are read, newest first, and only when the attempt
 * is not the first; each file is streamed line by line (bounded memory).
 */
import { createReadStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import type { AttemptRecord } from "../reports/report-files.ts";
import { dailyLogPath } from "../install/paths.ts";
import { exitCodeOf, type FinishState } from "../reports/finish-state.ts";

export const MAX_DAYS = 7;
const STAMP_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (START|FINISH) job (\d+) '(?:[^']|'')*' session (\S+) (.*)$/;

export interface LoggedAttempt {
  attempt: number;
  started: Date | undefined;
  finished: Date | undefined;
  exitcode: number | null;
}

function localDate(m: RegExpExecArray): Date {
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Fold one log line into the attempts of `session` (pure; exported for tests). */
export function foldLine(line: string, jobid: bigint | number, session: string, into: Map<number, LoggedAttempt>, open: { attempt: number | undefined }): void {
  const m = STAMP_RE.exec(line);
  if (!m || m[8] !== String(jobid) || m[9] !== session) return;
  const rest = m[10]!;
  if (m[7] === "START") {
    const a = /^attempt (\d+)/.exec(rest);
    if (!a) return;
    const n = Number(a[1]);
    into.set(n, { attempt: n, started: localDate(m), finished: undefined, exitcode: null });
    open.attempt = n;
    return;
  }
  const s = /^state (OK|RE-RUN|ERROR)\b/.exec(rest);
  if (!s || open.attempt === undefined) return;
  const rec = into.get(open.attempt);
  if (rec) {
    rec.finished = localDate(m);
    rec.exitcode = exitCodeOf(s[1] as FinishState);
  }
  open.attempt = undefined;
}

async function scanFile(file: string, jobid: bigint | number, session: string, into: Map<number, LoggedAttempt>): Promise<void> {
  const open = { attempt: undefined as number | undefined };
  const rl = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  for await (const line of rl) {
    // Cheap filter first: most lines of a busy log belong to other sessions.
    if (line.includes(session)) foldLine(line, jobid, session, into, open);
  }
}

/** Attempts 1 .. attempt-1 of the session as the logs record them, oldest first. */
export async function priorAttempts(spoolLogs: string, prefix: string, jobid: bigint | number, session: string, attempt: number, now: Date = new Date()): Promise<AttemptRecord[]> {
  if (attempt <= 1) return [];
  const found = new Map<number, LoggedAttempt>();
  for (let back = 0; back < MAX_DAYS; back++) {
    const day = new Date(now.getFullYear(), now.getMonth(), now.getDate() - back, 12);
    const file = dailyLogPath(spoolLogs, prefix, day);
    if (!existsSync(file)) continue;
    const here = new Map<number, LoggedAttempt>();
    try {
      await scanFile(file, jobid, session, here);
    } catch {
      continue;
    }
    for (const [n, rec] of here) if (!found.has(n)) found.set(n, rec);
    if (found.has(1)) break;
  }
  return [...found.values()]
    .filter((a) => a.attempt < attempt && a.started !== undefined)
    .sort((a, b) => a.attempt - b.attempt)
    .map((a) => ({
      started: a.started!.toISOString(),
      finished: (a.finished ?? a.started!).toISOString(),
      exitcode: a.finished ? a.exitcode : null,
      signal: null,
    }));
}
