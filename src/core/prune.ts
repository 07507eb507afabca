/** Log retention (SPEC §5 "Pruning"): not yet implemented; see issue "Log retention". */
import type { Paths } from "./paths.ts";

export interface PruneResult {
  readonly deleted: number;
  readonly bytes: number;
  readonly errors: readonly string[];
}

export interface PruneOptions {
  readonly now?: Date;
  /** Absolute paths that are never deleted (the current invocation's logs). */
  readonly keep?: ReadonlySet<string>;
  readonly log?: (line: string) => void;
}

export async function pruneLogs(_paths: Paths, _days: number, _opts: PruneOptions = {}): Promise<PruneResult> {
  return { deleted: 0, bytes: 0, errors: [] };
}
