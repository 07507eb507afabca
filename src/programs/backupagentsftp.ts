/** backupagentsftp: FTP over SSH Backup (job type SFTP). See docs/agents-remote.md. */
import { runSftpAgent } from "../backup-agents/sftp/sftp-agent.ts";
import { runAgent } from "../backup-agents/runtime.ts";
import type { ProgramMain } from "../cli/run-program.ts";

export const main: ProgramMain = (args) => runAgent({ name: "backupagentsftp", title: "FTP over SSH Backup (SFTP)", run: (ctx) => runSftpAgent(ctx) }, args);
