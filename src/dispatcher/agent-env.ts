/**
 * What cncopagent adds to the environment of the suite's own agents, beside the job
 * environment (plan.ts jobEnv). backupagentsftp and backupagentftp run with
 * MIMALLOC_PURGE_DELAY=-1: Bun's allocator then keeps the memory a transfer frees for the
 * next packet or file instead of handing it back to the system at once and faulting it in
 * again. ssh2 allocates a fresh buffer for every packet it receives: on a first run of
 * 2,000 small files and a 500 MB file that churn cost SFTP about a fifth of its time and
 * FTP about a twentieth (docs/performance.md, issue 19), for 8-15% more peak memory (SFTP
 * some 210 MB instead of 195 MB, FTP 120 MB instead of 105 MB). A value already in the
 * environment (an administrator's) is kept.
 */
import nodePath from "node:path";

const TUNING: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  backupagentsftp: { MIMALLOC_PURGE_DELAY: "-1" },
  backupagentftp: { MIMALLOC_PURGE_DELAY: "-1" },
};

/** The variables to add for `agent` (its name in [agents], or a path to it), given the environment it gets already. */
export function agentRuntimeEnv(agent: string, env: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const name = nodePath.basename(agent.replace(/\\/g, "/")).replace(/\.exe$/i, "").toLowerCase();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(TUNING[name] ?? {})) if (!env[k]) out[k] = v;
  return out;
}
