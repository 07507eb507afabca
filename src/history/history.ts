/** Run history (issue "cncopjobs"): not yet implemented. */
import type { JobOutcome } from "../agent/run-job.ts";
import type { Paths } from "../core/paths.ts";

export function recordRun(_paths: Paths, _outcome: JobOutcome, _caLogPath: string): void {}

export function pruneHistory(_paths: Paths, _days: number, _now: Date = new Date()): number {
  return 0;
}
