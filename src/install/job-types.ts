/**
 * The job-type table (SPEC §5 "Agents") and `[agents]` overrides. CCS is the only PUSH
 * type; every other type, built in or added, is a PULL type.
 */

export interface JobTypeInfo {
  readonly type: string;
  readonly description: string;
  readonly agents: readonly string[];
  readonly builtIn: boolean;
  readonly overridden: boolean;
}

export const BUILTIN_JOB_TYPES: Readonly<Record<string, { description: string; agents: readonly string[] }>> = Object.freeze({
  CCS: { description: "Carroll-Net Cloud Backup", agents: ["backupagentnq", "backupagentdq"] },
  CIFS: { description: "Windows File System Backup", agents: ["backupagentcifs"] },
  FTP: { description: "FTP Server Backup", agents: ["backupagentftp"] },
  FTPS: { description: "FTP over TLS Backup", agents: ["backupagentftp"] },
  MSSQL: { description: "Microsoft SQL Server", agents: ["backupagentmssql"] },
  SFTP: { description: "FTP over SSH Backup", agents: ["backupagentsftp"] },
  RSYNC: { description: "Rsync Backup", agents: ["backupagentrsync"] },
  WIMG: { description: "Windows Image Backup", agents: ["backupagentwimg"] },
});

/** Log prefixes of the agents' daily logs in `Spool/Logs/` (SPEC §9). */
export const AGENT_LOG_PREFIXES: Readonly<Record<string, string>> = Object.freeze({
  backupagentnq: "NQ",
  backupagentdq: "DQ",
  backupagentcifs: "CIFS",
  backupagentftp: "FTP",
  backupagentmssql: "MSSQL",
  backupagentsftp: "SFTP",
  backupagentrsync: "RSYNC",
  backupagentwimg: "WIMG",
});

/** The agent that is started without a jobid (SPEC §5). */
export const NO_JOBID_AGENT = "backupagentdq";

export const PUSH_TYPES: ReadonlySet<string> = new Set(["CCS"]);

export function isValidJobTypeName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,32}$/.test(name);
}

export function isValidAgentName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/.test(name) && !name.includes("..");
}

export function isPushType(type: string): boolean {
  return PUSH_TYPES.has(type.toUpperCase());
}

/** Every known job type: the built-in table with `[agents]` entries added or overriding. */
export function jobTypeTable(overrides: Readonly<Record<string, readonly string[]>>): JobTypeInfo[] {
  const out = new Map<string, JobTypeInfo>();
  for (const [type, info] of Object.entries(BUILTIN_JOB_TYPES)) {
    out.set(type, { type, description: info.description, agents: info.agents, builtIn: true, overridden: false });
  }
  for (const [type, agents] of Object.entries(overrides)) {
    const t = type.toUpperCase();
    const base = out.get(t);
    out.set(t, {
      type: t,
      description: base?.description ?? "added in [agents]",
      agents,
      builtIn: base !== undefined,
      overridden: true,
    });
  }
  return [...out.values()].sort((a, b) => a.type.localeCompare(b.type));
}

export function knownJobTypes(overrides: Readonly<Record<string, readonly string[]>>): string[] {
  return jobTypeTable(overrides).map((t) => t.type);
}

/** The agent program names for a job type, or undefined for an unknown type. */
export function agentsForType(type: string, overrides: Readonly<Record<string, readonly string[]>>): readonly string[] | undefined {
  const t = type.toUpperCase();
  return overrides[t] ?? BUILTIN_JOB_TYPES[t]?.agents;
}

/** Log prefix of an agent: the table's, else derived from its name (2 to 5 letters). */
export function agentLogPrefix(agent: string): string {
  const known = AGENT_LOG_PREFIXES[agent.toLowerCase()];
  if (known) return known;
  const letters = agent.toLowerCase().replace(/^backupagent/, "").replace(/[^a-z]/g, "").toUpperCase();
  const prefix = letters.slice(0, 5);
  return prefix.length >= 2 ? prefix : `${prefix}XX`.slice(0, 2);
}
