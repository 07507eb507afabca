/**
 * What happens to one entry of the source: a file is copied unless the destination has
 * it with the same size and modification time; a link is recreated (or, with
 * follow_links, its target copied by the walk); a folder in the way of a file (or a file
 * in the way of a folder) is replaced, so the source's entry is always at its path.
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmdirSync, symlinkSync, unlinkSync } from "node:fs";
import { entryStat, type EntryStat } from "./entry-stat.ts";
import { copyFileAtomic, tempName } from "./copy-file.ts";
import { sameTime } from "./file-times.ts";
import { classifyFsError, shortFsMessage } from "./fs-errors.ts";
import { childPath } from "./locations.ts";
import type { SyncRun } from "./sync-run.ts";

export interface EntryPaths {
  readonly src: string;
  readonly dest: string;
  readonly destDir: string;
  readonly rel: string;
}

function lstatOrUndefined(path: string): EntryStat | undefined {
  try {
    return entryStat(path);
  } catch {
    return undefined;
  }
}

/** Remove a file, link or whole folder at the destination; counts what went. */
export function removeEntry(path: string, platform: NodeJS.Platform, counts: { files: number; folders: number } = { files: 0, folders: 0 }): { files: number; folders: number } {
  const st = lstatSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) removeEntry(childPath(path, name, platform), platform, counts);
    rmdirSync(path);
    counts.folders++;
  } else {
    unlinkSync(path);
    counts.files++;
  }
  return counts;
}

/** Clear a destination entry of the wrong kind; false when that failed (reported). */
function clearWrongKind(run: SyncRun, p: EntryPaths, existing: EntryStat | undefined, wantDir: boolean): boolean {
  if (!existing || (existing.kind === "dir") === wantDir) return true;
  const what = existing.kind === "dir" ? "a folder" : "a file";
  if (run.env.dryrun) {
    run.env.say(`would replace ${what} at the destination: ${p.rel}`);
    return true;
  }
  try {
    removeEntry(p.dest, run.env.platform);
    run.log.warn(`${p.rel}: replaced ${what} at the destination by the source's ${wantDir ? "folder" : "file"}`);
    return true;
  } catch (err) {
    const c = classifyFsError(err);
    run.problem(c.kind, "destination", p.rel, c.code, shortFsMessage(err));
    return false;
  }
}

/** Make sure the destination folder exists; false when it cannot (reported). */
export function ensureFolder(run: SyncRun, p: EntryPaths, destHas: boolean): boolean {
  const existing = destHas ? lstatOrUndefined(p.dest) : undefined;
  if (!clearWrongKind(run, p, existing, true)) return false;
  if (existing?.kind === "dir") return true;
  if (run.env.dryrun) return true;
  try {
    mkdirSync(p.dest);
    run.counters.foldersCreated++;
    return true;
  } catch (err) {
    const c = classifyFsError(err);
    run.problem(c.kind, "destination", p.rel, c.code, shortFsMessage(err));
    return false;
  }
}

/**
 * A regular file: counted, compared with the destination's copy, and copied when it
 * differs. The comparison is synchronous; only an actual copy returns a promise (most
 * files of an incremental run cost no await).
 */
export function syncFile(run: SyncRun, p: EntryPaths, st: EntryStat, destHas: boolean): Promise<void> | undefined {
  const c = run.counters;
  c.filesTotal++;
  c.bytesTotal += st.size;
  const existing = destHas ? lstatOrUndefined(p.dest) : undefined;
  if (existing?.kind === "file" && existing.size === st.size && sameTime(existing.mtimeMs, st.mtimeMs, run.settings.modifyWindowMs)) {
    c.filesUnchanged++;
    if (run.log.debugEnabled) run.log.debug(`unchanged ${p.rel}`);
    return undefined;
  }
  if (!clearWrongKind(run, p, existing, false)) return undefined;
  if (run.env.dryrun) {
    c.filesCopied++;
    c.bytesCopied += st.size;
    run.env.say(`would copy ${p.rel} (${st.size} bytes)`);
    run.log.info(`would copy ${p.rel} (${st.size} bytes)`);
    return undefined;
  }
  return copyOne(run, p, st, existing !== undefined);
}

async function copyOne(run: SyncRun, p: EntryPaths, st: EntryStat, replacing: boolean): Promise<void> {
  const c = run.counters;
  const r = await copyFileAtomic(
    { path: p.src, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, mode: st.mode },
    p.destDir,
    p.dest,
    run.env.platform,
    { bytesPerSec: run.settings.bytesPerSec, abort: run.env.abort },
  );
  if (r.ok) {
    c.filesCopied++;
    c.bytesCopied += r.bytes;
    if (run.log.debugEnabled) run.log.debug(`copied ${p.rel} (${r.bytes} bytes)${replacing ? "" : ", new"}`);
    return;
  }
  run.problem(r.kind, r.side, p.rel, r.code, r.message);
}

/** A link (follow_links off) is recreated with the same target, through a temporary name. */
export function syncLink(run: SyncRun, p: EntryPaths, destHas: boolean): void {
  const c = run.counters;
  c.filesTotal++;
  c.links++;
  let target: string;
  try {
    target = readlinkSync(p.src);
  } catch (err) {
    const k = classifyFsError(err);
    return run.problem(k.kind, "source", p.rel, k.code, shortFsMessage(err));
  }
  const existing = destHas ? lstatOrUndefined(p.dest) : undefined;
  if (existing?.kind === "link") {
    try {
      if (readlinkSync(p.dest) === target) {
        c.filesUnchanged++;
        return;
      }
    } catch {}
  }
  if (run.env.dryrun) {
    c.filesCopied++;
    run.env.say(`would link ${p.rel} -> ${target}`);
    return;
  }
  if (!clearWrongKind(run, p, existing, false)) return;
  const tmp = childPath(p.destDir, tempName(), run.env.platform);
  try {
    symlinkSync(target, tmp);
    renameSync(tmp, p.dest);
    c.filesCopied++;
    run.log.debug(`linked ${p.rel} -> ${target}`);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {}
    const k = classifyFsError(err);
    const hint = run.env.platform === "win32" ? " (creating links on Windows needs Developer Mode or administrator rights; or set follow_links)" : "";
    run.problem(k.kind === "vanished" ? "failed" : k.kind, "destination", p.rel, k.code, `${shortFsMessage(err)}${hint}`);
  }
}
