/**
 * The finish of a run whose dispatcher was killed (SPEC §5 "Single instance"): the run
 * that takes its lock over writes its JF- (ERROR, "the dispatcher was killed", the attempts
 * its lock record kept) and its history entry, once. A JF- the killed run (or its agent)
 * had already written, in the spool or sent by a reporter, stands: none is added, and the
 * history entry says what that report says.
 */
import os from "node:os";
import type { Job } from "../install/jobs-db.ts";
import type { Paths } from "../install/paths.ts";
import type { HeldLock, LockOwner } from "../locks/job-lock.ts";
import type { LineLog } from "../logs/log-file.ts";
import { insertRun, type HistoryRun } from "../history/history.ts";
import { findSessionFinish } from "../reports/session-reports.ts";
import { isoUtc } from "../format/time.ts";
import { createReportSink } from "./job-reports.ts";

export const KILLED_REASON = "the dispatcher was killed";

function attemptsOf(owner: LockOwner, now: Date) {
  // An attempt that was running when the dispatcher died: its end is unknown.
  return (owner.attempts ?? []).map((a, i) => ({ number: i + 1, started: a.started, finished: a.finished ?? isoUtc(now), exitcode: a.exitcode, signal: a.signal, agents: [] }));
}

/** Writes what each killed run owes; returns true when every JF- is in place. */
export function finishKilledRuns(held: Pick<HeldLock, "killedRuns" | "settleKilledRuns">, job: Job, paths: Paths, log: Pick<LineLog, "line">, hostname = os.hostname(), now = new Date()): boolean {
  let allWritten = true;
  for (const dead of held.killedRuns) {
    const started = new Date(dead.started);
    const identity = { ...job, jobid: dead.jobid, jobtitle: dead.jobtitle, jobtype: dead.jobtype ?? job.jobtype };
    const label = `job ${dead.jobid} '${dead.jobtitle}'`;
    const found = findSessionFinish(paths, dead.session, started, now);
    const attempts = attemptsOf(dead, now);
    let status = "ERROR";
    let reason = KILLED_REASON;
    if (found) {
      log.line(`${label}: the killed run of session ${dead.session} already has its JF- report (${found.where === "spool" ? found.path : `sent, see ${found.path}`})`);
      if (found.status !== undefined) status = found.status;
      if (found.reason !== undefined) reason = found.reason;
    } else {
      const sink = createReportSink(paths.messages, identity, dead.session, log, (t) => log.line(t), hostname);
      sink.finished("ERROR", KILLED_REASON, attempts, started, now);
      if (sink.written.length === 0) allWritten = false;
      else log.line(`${label}: the run of session ${dead.session} (dispatcher pid ${dead.dispatcher.pid}, started ${dead.started}) ended without its finish report: ERROR (${KILLED_REASON}) written`);
    }
    const run: HistoryRun = {
      session: dead.session,
      jobid: BigInt(dead.jobid),
      jobtitle: dead.jobtitle,
      jobtype: identity.jobtype,
      hostname: dead.hostname,
      started: isoUtc(started),
      finished: isoUtc(now),
      durationMs: Math.max(0, now.getTime() - started.getTime()),
      status,
      reason,
      interrupted: false,
      attempts,
      caLog: dead.caLog ?? null,
    };
    try {
      insertRun(paths, run, true);
    } catch (err) {
      log.line(`cannot record the killed run of session ${dead.session} in the history: ${(err as Error).message}`);
    }
  }
  if (allWritten && held.killedRuns.length > 0) held.settleKilledRuns();
  return allWritten;
}
