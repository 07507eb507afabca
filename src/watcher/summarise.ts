/**
 * `w PREFIX`: the summary of one day's log(s) of a prefix. CA: every CA log of that day,
 * one invocation each; CAD: the day's diagnostic log (CA lines, several invocations);
 * any other prefix: the day's file in the agents' format. Files are streamed line by line.
 */
import { readFileSync } from "node:fs";
import nodePath from "node:path";
import { ownerAlive, parseOwner } from "../locks/job-lock.ts";
import { CA_DIAGNOSTIC_PREFIX, jobLockFiles, type Paths } from "../install/paths.ts";
import { AgentLogSummariser } from "./agent-summary.ts";
import { CaSummariser, isStdoutLine } from "./ca-summary.ts";
import type { LogFile } from "./catalog.ts";
import type { Paint } from "../format/terminal.ts";
import { forEachLine } from "./lines.ts";
import { settleOpenRuns, stateCounts, type RunningCheck, type RunSummary } from "./run-model.ts";
import { foldLine, renderInvocation, renderLines, renderRun, timeOf } from "./summary-render.ts";

export interface DaySummaryInput {
  readonly prefix: string;
  readonly what: string;
  readonly day: string;
  /** The day's logs of the prefix, oldest first. */
  readonly files: readonly LogFile[];
  readonly isRunning: RunningCheck;
  readonly paint: Paint;
  /** Fold lines to this many columns, with short session ids; undefined: `--wide`, as is. */
  readonly width?: number;
}

/** A run with no final state is RUNNING when its job's lock is held by a live run of that session. */
export function lockRunningCheck(paths: Pick<Paths, "locks">): RunningCheck {
  return (jobid, session) => {
    if (!session) return false;
    try {
      const owner = parseOwner(readFileSync(jobLockFiles(paths.locks, jobid).record, "utf8"));
      return owner !== undefined && owner.session === session && ownerAlive(owner);
    } catch {
      return false;
    }
  };
}

function readable(file: LogFile, feed: (line: string) => void, skip?: (buf: Buffer, start: number, end: number) => boolean): string | undefined {
  try {
    forEachLine(file.path, feed, undefined, skip);
    return undefined;
  } catch (err) {
    return `cannot read ${file.path}: ${(err as Error).message}`;
  }
}

/** The day's totals: real runs by state, dry runs apart (they back nothing up). */
function header(input: DaySummaryInput, files: string, runs: readonly RunSummary[]): string[] {
  const real = runs.filter((r) => !r.dryRun);
  const dry = runs.length - real.length;
  const counts = real.length ? `: ${stateCounts(real)}` : "";
  const dryNote = dry > 0 ? `; ${dry} dry run${dry === 1 ? "" : "s"}` : "";
  return [
    input.paint("bold", `${input.prefix}: ${input.what}`),
    `${input.day}: ${files}, ${real.length} run${real.length === 1 ? "" : "s"}${counts}${dryNote}`,
    "",
  ];
}

/** The summary as printed: folded to the width unless wide. */
function layOut(input: DaySummaryInput, lines: readonly string[]): string {
  const { width } = input;
  const text = width === undefined ? lines : lines.flatMap((l) => l.split("\n")).flatMap((l) => foldLine(l, width));
  return text.join("\n").trimEnd();
}

export function summariseDay(input: DaySummaryInput): string {
  const { files, paint } = input;
  const isCa = files.every((f) => f.kind === "ca") || input.prefix === CA_DIAGNOSTIC_PREFIX;
  const body: string[] = [];
  const allRuns: RunSummary[] = [];
  if (isCa) {
    for (const f of files) {
      const s = new CaSummariser();
      const problem = readable(f, (l) => s.feed(l), isStdoutLine);
      if (problem) {
        body.push(paint("error", problem), "");
        continue;
      }
      settleOpenRuns(s.runs(), input.isRunning);
      allRuns.push(...s.runs());
      if (s.invocations.length === 0) body.push(`${paint("bold", f.name)}: ${paint("dim", "empty")}`);
      for (const inv of s.invocations) body.push(...renderInvocation(f.name, inv, paint, input.width === undefined));
      body.push("");
    }
    const what = files.length === 1 ? files[0]!.name : `${files.length} logs`;
    return layOut(input, [...header(input, what, allRuns), ...body]);
  }
  for (const f of files) {
    const s = new AgentLogSummariser();
    const problem = readable(f, (l) => s.feed(l));
    if (problem) {
      body.push(paint("error", problem), "");
      continue;
    }
    settleOpenRuns(s.runs, input.isRunning);
    allRuns.push(...s.runs);
    body.push(`${paint("bold", f.name)}: ${s.lines} line${s.lines === 1 ? "" : "s"}${s.first ? ` from ${timeOf(s.first)} to ${timeOf(s.last)}` : ""}`);
    for (const r of s.runs) body.push(...renderRun(r, paint, input.width === undefined));
    if (s.runs.length === 0) body.push(`  ${paint("dim", "no agent run (no START line) in this log")}`);
    if (s.outside.count > 0) {
      body.push(`  errors and warnings outside any run:`);
      body.push(...renderLines(s.outside, paint));
    }
    body.push("");
  }
  return layOut(input, [...header(input, files.map((f) => nodePath.basename(f.path)).join(", "), allRuns), ...body]);
}
