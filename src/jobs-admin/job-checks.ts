/**
 * What `cncopjobs add` and `set` can tell about a job before the night it runs: its agent
 * is not in Bin/, its source is a local folder that does not exist, it has no destination,
 * its destination lies inside its source. These are warnings, never refusals: a share may
 * be mounted only at night, an agent copied in later.
 */
import { existsSync, realpathSync } from "node:fs";
import nodePath from "node:path";
import { findInBin, isRegularFile } from "../dispatcher/plan.ts";
import type { Job } from "../install/jobs-db.ts";
import { agentsForType } from "../install/job-types.ts";
import { isInside } from "../process/confine.ts";

export interface JobCheckContext {
  readonly bin: string;
  readonly root: string;
  readonly agents: Readonly<Record<string, readonly string[]>>;
  readonly platform?: NodeJS.Platform;
  readonly exists?: (path: string) => boolean;
}

/** Types whose source is backed up to a folder of this machine (the agents the suite ships and the remote ones). */
const FOLDER_DESTINATION = new Set(["CIFS", "RSYNC", "FTP", "FTPS", "SFTP"]);

/**
 * A source or destination that names a folder of this machine, as an absolute path (not a
 * URL, not rsync's host:path, not a UNC share, which may need a login first); else undefined.
 */
export function localFolderOf(text: string | undefined, platform: NodeJS.Platform): string | undefined {
  const t = (text ?? "").trim();
  if (t === "" || t.includes("://")) return undefined;
  const p = platform === "win32" ? nodePath.win32 : nodePath.posix;
  if (platform === "win32") return /^[A-Za-z]:[\\/]/.test(t) ? p.normalize(t) : undefined;
  return t.startsWith("/") && !t.startsWith("//") ? p.normalize(t) : undefined;
}

function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The warnings for one job as it now stands in the database, each a sentence that says what to do. */
export function jobWarnings(job: Job, ctx: JobCheckContext): string[] {
  const platform = ctx.platform ?? process.platform;
  const exists = ctx.exists ?? existsSync;
  const out: string[] = [];
  for (const agent of agentsForType(job.jobtype, ctx.agents) ?? []) {
    if (!findInBin(ctx.bin, agent, platform, isRegularFile)) out.push(`its agent ${agent} is not in ${ctx.bin}: the job fails until it is there (cncopjobs -t x lists the agents)`);
  }
  const source = localFolderOf(job.source, platform);
  if (source !== undefined && !exists(source)) {
    out.push(`the source ${source} does not exist now: the job fails unless it is there when the job runs (a share mounted at night?)`);
  }
  if (FOLDER_DESTINATION.has(job.jobtype) && (job.destination ?? "").trim() === "") {
    out.push(`it has no destination: the agent refuses to run; give one with cncopjobs set ${job.jobid} --destination FOLDER`);
  }
  const destination = localFolderOf(job.destination, platform);
  if (source !== undefined && destination !== undefined) {
    const [s, d] = [realOrSame(source), realOrSame(destination)];
    if (s === d || isInside(s, d, platform)) {
      out.push(`the destination ${destination} lies inside the source ${source}: each run would back up the backups; choose a destination outside the source`);
    }
  }
  return out;
}
