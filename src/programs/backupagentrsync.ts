/** backupagentrsync: Rsync Backup (job type RSYNC). See docs/agents.md. */
import { runRsyncAgent } from "../backup-agents/rsync/rsync-agent.ts";
import { runAgent } from "../backup-agents/runtime.ts";
import type { ProgramMain } from "../cli/run-program.ts";

export const main: ProgramMain = (args) => runAgent({ name: "backupagentrsync", title: "Rsync Backup", run: runRsyncAgent }, args);
