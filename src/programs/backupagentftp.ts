/** backupagentftp: FTP Server Backup and FTP over TLS Backup (job types FTP, FTPS). See docs/agents-remote.md. */
import { runFtpAgent } from "../backup-agents/ftp/ftp-agent.ts";
import { runAgent } from "../backup-agents/runtime.ts";
import type { ProgramMain } from "../cli/run-program.ts";

export const main: ProgramMain = (args) => runAgent({ name: "backupagentftp", title: "FTP Server Backup (FTP, FTPS)", run: (ctx) => runFtpAgent(ctx) }, args);
