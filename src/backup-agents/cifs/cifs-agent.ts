/**
 * backupagentcifs (Windows File System Backup, job type CIFS): copies the tree at the
 * job's `source` into its `destination`, incrementally. docs/agents.md describes the
 * settings, what counts as transient (RE-RUN) and the JS- figures.
 */
import { mkdirSync, realpathSync, statSync } from "node:fs";
import { entryStat, type EntryStat } from "./entry-stat.ts";
import type { AgentContext } from "../runtime.ts";
import { type AgentResult, earlyResult } from "../agent-result.ts";
import { type FinishState } from "../../reports/finish-state.ts";
import { readBoolean, readNumber, readSettings, readStringList, SettingsError, type SettingsSchema } from "../settings.ts";
import { ExcludeError, makeExcluder } from "./exclude.ts";
import { classifyFsError, fullMessage, shortFsMessage } from "./fs-errors.ts";
import { fsPath, isWithin, LocationError, resolveLocation } from "./locations.ts";
import { SyncRun } from "./sync-run.ts";
import { syncTree } from "./tree-sync.ts";

export interface CifsSettings {
  /** Exclude patterns (exclude.ts). */
  readonly exclude: readonly string[];
  /** Remove from the destination what the source no longer has. Default false: kept. */
  readonly delete: boolean;
  /** Copy what links point to instead of the links. Default false. */
  readonly follow_links: boolean;
  /** Seconds two modification times may differ and still count as equal. */
  readonly modify_window: number;
  /** KiB per second; 0: no limit. */
  readonly bwlimit: number;
}

export const CIFS_DEFAULTS: CifsSettings = Object.freeze({ exclude: [], delete: false, follow_links: false, modify_window: 0, bwlimit: 0 });
const SCHEMA: SettingsSchema<CifsSettings> = {
  exclude: readStringList,
  delete: readBoolean,
  follow_links: readBoolean,
  modify_window: readNumber(0, 86_400),
  bwlimit: readNumber(0, 10_000_000, true),
};

export function readCifsSettings(raw: Readonly<Record<string, unknown>>): { settings: CifsSettings; warnings: string[] } {
  return readSettings(raw, SCHEMA, CIFS_DEFAULTS);
}

function realOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

export async function runCifs(ctx: AgentContext, platform: NodeJS.Platform = process.platform): Promise<AgentResult> {
  const { job, log } = ctx;
  let settings: CifsSettings;
  let source: string;
  let destination: string;
  let excluder;
  try {
    const read = readCifsSettings(job.settings);
    settings = read.settings;
    for (const w of read.warnings) log.warn(w);
    excluder = makeExcluder(settings.exclude, platform);
    source = resolveLocation(job.source, "source", ctx.paths.root, platform);
    destination = resolveLocation(job.destination, "destination", ctx.paths.root, platform);
  } catch (err) {
    if (err instanceof SettingsError || err instanceof ExcludeError || err instanceof LocationError) return earlyResult("ERROR", err.message);
    throw err;
  }
  const src = fsPath(source, platform);
  const dest = fsPath(destination, platform);
  if (isWithin(destination, source, platform) || isWithin(source, destination, platform) || isWithin(realOr(dest), realOr(src), platform) || isWithin(realOr(src), realOr(dest), platform)) {
    return earlyResult("ERROR", `the source ${source} and the destination ${destination} overlap: one is inside the other. Choose a destination outside the source`);
  }
  log.info(`settings: exclude ${JSON.stringify(settings.exclude)}, delete ${settings.delete}, follow_links ${settings.follow_links}, modify_window ${settings.modify_window} s, bwlimit ${settings.bwlimit ? `${settings.bwlimit} KiB/s` : "none"}`);

  let rootStat: EntryStat;
  try {
    const st = entryStat(src, true);
    if (!st) throw Object.assign(new Error(`ENOENT: no such file or directory, stat '${src}'`), { code: "ENOENT" });
    rootStat = st;
  } catch (err) {
    const c = classifyFsError(err);
    if (c.kind === "network" || c.kind === "busy") return earlyResult("RE-RUN", `the source ${source} is unreachable now: ${shortFsMessage(err)}`);
    if (c.kind === "vanished") return earlyResult("ERROR", `the source ${source} does not exist (is the share mounted, is the path right?)`);
    return earlyResult("ERROR", `cannot read the source ${source}: ${shortFsMessage(err)}`);
  }
  if (rootStat.kind !== "dir") return earlyResult("ERROR", `the source ${source} is not a folder`);
  if (!ctx.dryrun) {
    try {
      mkdirSync(dest, { recursive: true });
      if (!statSync(dest).isDirectory()) return earlyResult("ERROR", `the destination ${destination} is not a folder`);
    } catch (err) {
      const c = classifyFsError(err);
      if (c.kind === "network") return earlyResult("RE-RUN", `the destination ${destination} is unreachable now: ${shortFsMessage(err)}`);
      if (c.kind === "full") return earlyResult("ERROR", `${fullMessage(c.code)}: cannot create ${destination}`);
      return earlyResult("ERROR", `cannot create the destination ${destination}: ${shortFsMessage(err)}`);
    }
  }

  const run = new SyncRun(
    { excluder, deleteExtraneous: settings.delete, followLinks: settings.follow_links, modifyWindowMs: settings.modify_window * 1000, bytesPerSec: settings.bwlimit * 1024 },
    { platform, dryrun: ctx.dryrun, log, say: ctx.say, abort: ctx.abort },
  );
  await syncTree(run, src, dest, rootStat);
  const c = run.counters;
  const transient = c.vanished + c.changed + c.busy;
  const would = ctx.dryrun ? "would copy" : "copied";
  const summary = `${c.filesTotal} file(s) in ${c.directories + 1} folder(s): ${would} ${c.filesCopied} (${c.bytesCopied} bytes), ${c.filesUnchanged} unchanged, ${c.filesDeleted} deleted, ${c.filesFailed} failed, ${transient} vanished or changed, ${c.excluded} excluded, ${c.skipped} skipped`;
  log.info(summary);

  let state: FinishState = "OK";
  let reason = ctx.dryrun ? `dry run: ${summary}` : summary;
  if (run.stop) {
    state = run.stop.kind === "network" ? "RE-RUN" : "ERROR";
    reason = run.stop.message;
  } else if (c.filesFailed > 0) {
    state = "ERROR";
    reason = `${c.filesFailed} entr${c.filesFailed === 1 ? "y" : "ies"} could not be copied (the first: ${run.firstFailure}); the rest was copied`;
  } else if (transient > 0) {
    state = "RE-RUN";
    reason = `${transient} file(s) vanished or changed while being copied (the first: ${run.firstTransient}); the rest was copied`;
  }
  return {
    state,
    reason,
    files: c.filesCopied,
    bytes: c.bytesCopied,
    totals: { filesTotal: c.filesTotal, bytesTotal: c.bytesTotal, filesUnchanged: c.filesUnchanged, filesDeleted: c.filesDeleted, filesFailed: c.filesFailed, directories: c.directories },
    details: {
      folders_created: c.foldersCreated,
      folders_deleted: c.foldersDeleted,
      links: c.links,
      excluded: c.excluded,
      skipped: c.skipped,
      vanished: c.vanished,
      changed: c.changed,
      busy: c.busy,
      leftovers_removed: c.leftoversRemoved,
    },
  };
}
