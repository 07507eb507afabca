/** backupagentcifs: Windows File System Backup (job type CIFS). See docs/agents.md. */
import { runCifs } from "../backup-agents/cifs/cifs-agent.ts";
import { runAgent } from "../backup-agents/runtime.ts";
import type { ProgramMain } from "../cli/run-program.ts";

export const main: ProgramMain = (args) => runAgent({ name: "backupagentcifs", title: "Windows File System Backup", run: (ctx) => runCifs(ctx) }, args);
