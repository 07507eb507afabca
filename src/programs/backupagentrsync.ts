/** backupagentrsync: Rsync Backup (job type RSYNC). See docs/agents.md. */
import { runRsyncAgent } from "../agents/rsync/rsync-agent.ts";
import { runAgent } from "../agents/runtime.ts";
import type { ProgramMain } from "../core/program.ts";

export const main: ProgramMain = (args) => runAgent({ name: "backupagentrsync", title: "Rsync Backup", run: runRsyncAgent }, args);
