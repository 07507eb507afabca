/** cncopagent invokes cncopreporter after each job (SPEC §5): not yet implemented; see issue "cncopreporter". */
import type { Config } from "../core/config.ts";
import type { LineLog } from "../core/log-file.ts";
import type { Paths } from "../core/paths.ts";

export interface InvokeReporterOptions {
  readonly paths: Paths;
  readonly config: Config;
  readonly log: LineLog;
  readonly debug: boolean;
}

export async function invokeReporter(_opts: InvokeReporterOptions): Promise<void> {}
