/** `--email`: job completion messages (SPEC §5): not yet implemented; see issue "--email". */
import type { JobOutcome } from "../agent/run-job.ts";
import type { Config } from "../core/config.ts";
import type { LineLog } from "../core/log-file.ts";

export interface JobMailOptions {
  readonly config: Config;
  readonly recipients: readonly string[];
  readonly caLogPath: string;
  readonly log: LineLog;
  /** Shown on stderr when a send fails. */
  readonly warn: (text: string) => void;
}

export async function sendJobMail(_outcome: JobOutcome, _opts: JobMailOptions): Promise<void> {}
