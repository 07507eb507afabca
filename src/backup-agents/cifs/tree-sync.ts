/**
 * The walk of the file-system agent: folder by folder (an explicit stack, so depth is
 * bounded by nothing but path length, and memory by one folder's listing per level),
 * in name order. Per folder: list the source, handle each entry (entries.ts), then,
 * with `delete`, remove what the source no longer has; remove our own leftover
 * temporary files of an interrupted run; and, after its subfolders, give the copy the
 * folder's times.
 */
import { type Dirent, lstatSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { entryStat, type EntryStat, fileId } from "./entry-stat.ts";
import { TEMP_RE } from "./copy-file.ts";
import { ensureFolder, removeEntry, syncFile, syncLink } from "./entries.ts";
import { sameTime, setTimesNs } from "./file-times.ts";
import { classifyFsError, shortFsMessage } from "./fs-errors.ts";
import { childPath, childRel } from "./locations.ts";
import type { SyncRun } from "./sync-run.ts";

const YIELD_EVERY = 256;

type Task =
  | { readonly kind: "folder"; readonly src: string; readonly dest: string; readonly rel: string; readonly destExists: boolean; readonly ancestors: ReadonlySet<string> }
  | { readonly kind: "times"; readonly src: string; readonly dest: string; readonly rel: string; readonly mtimeMs: number };

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

/** Copy the tree at `srcRoot` into `destRoot` (which exists, except in a dry run). */
export async function syncTree(run: SyncRun, srcRoot: string, destRoot: string, rootStat: EntryStat): Promise<void> {
  const stack: Task[] = [
    { kind: "times", src: srcRoot, dest: destRoot, rel: "", mtimeMs: rootStat.mtimeMs },
    { kind: "folder", src: srcRoot, dest: destRoot, rel: "", destExists: !run.env.dryrun || exists(destRoot), ancestors: new Set([fileId(rootStat)]) },
  ];
  let handled = 0;
  while (stack.length > 0 && !run.stop) {
    const task = stack.pop()!;
    if (task.kind === "times") {
      if (!run.env.dryrun) setFolderTimes(run, task);
      continue;
    }
    const subfolders: Task[] = [];
    const entries = listSource(run, task.src, task.rel);
    if (!entries) continue;
    const destNames = task.destExists ? listDest(task.dest) : new Set<string>();
    const keep = new Set<string>();
    for (const entry of entries) {
      if (run.env.abort.aborted) run.halt("interrupted", "interrupted");
      if (run.stop) return;
      if (++handled % YIELD_EVERY === 0) await yieldNow();
      const name = entry.name;
      // Listed, so kept at the destination this run even if it cannot be read now; one
      // that vanished is deleted (with `delete`) by the next run.
      keep.add(name);
      const p = { src: childPath(task.src, name, run.env.platform), dest: childPath(task.dest, name, run.env.platform), destDir: task.dest, rel: childRel(task.rel, name) };
      const st = statEntry(run, p.src, p.rel);
      if (!st) continue;
      const isDir = st.kind === "dir";
      const rule = run.settings.excluder.excluded(p.rel, name, isDir);
      if (rule) {
        run.counters.excluded++;
        run.log.debug(`excluded ${p.rel}${isDir ? "/" : ""} (pattern ${JSON.stringify(rule.pattern)})`);
        continue;
      }
      const destHas = destNames.has(name);
      if (isDir) {
        const id = fileId(st);
        if (task.ancestors.has(id)) {
          run.log.warn(`${p.rel}: skipped, a link back to a folder above it (a loop)`);
          run.counters.skipped++;
          continue;
        }
        run.counters.directories++;
        if (!ensureFolder(run, p, destHas)) continue;
        subfolders.push({ kind: "times", src: p.src, dest: p.dest, rel: p.rel, mtimeMs: st.mtimeMs });
        const ancestors = run.settings.followLinks ? new Set([...task.ancestors, id]) : task.ancestors;
        subfolders.push({ kind: "folder", src: p.src, dest: p.dest, rel: p.rel, destExists: !run.env.dryrun || (destHas && exists(p.dest)), ancestors });
      } else if (st.kind === "file") {
        const copying = syncFile(run, p, st, destHas);
        if (copying) await copying;
      } else if (st.kind === "link") {
        syncLink(run, p, destHas);
      } else {
        run.counters.skipped++;
        run.log.warn(`${p.rel}: skipped, not a file, folder or link (a device, pipe or socket)`);
      }
    }
    if (run.stop) return;
    cleanDest(run, task.dest, task.rel, destNames, keep, entries.length);
    // Children are pushed in reverse so they are handled in name order, each folder's
    // "times" task popping after everything inside it.
    for (let i = subfolders.length - 2; i >= 0; i -= 2) stack.push(subfolders[i]!, subfolders[i + 1]!);
  }
}

function exists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

function listSource(run: SyncRun, src: string, rel: string): Dirent[] | undefined {
  try {
    return readdirSync(src, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    const c = classifyFsError(err);
    if (c.kind === "failed") run.failed(`cannot list folder ${rel === "" ? "(the top folder)" : rel}: ${shortFsMessage(err)}`);
    else run.problem(c.kind, "source", rel, c.code, shortFsMessage(err));
    return undefined;
  }
}

function listDest(dest: string): Set<string> {
  try {
    return new Set(readdirSync(dest));
  } catch {
    return new Set();
  }
}

function statEntry(run: SyncRun, src: string, rel: string): EntryStat | undefined {
  try {
    const st = entryStat(src);
    if (!st) throw Object.assign(new Error(`ENOENT: no such file or directory, lstat '${src}'`), { code: "ENOENT" });
    if (st.kind !== "link" || !run.settings.followLinks) return st;
    try {
      const target = entryStat(src, true);
      if (!target) throw new Error("dangling");
      return target;
    } catch {
      run.counters.skipped++;
      run.log.warn(`${rel}: skipped, a link whose target does not exist`);
      return undefined;
    }
  } catch (err) {
    const c = classifyFsError(err);
    // A name that is not valid UTF-8 comes back with U+FFFD and can never be found again.
    if (c.kind === "vanished" && rel.includes("\uFFFD")) run.failed(`cannot read ${rel}: its name is not valid UTF-8`);
    else run.problem(c.kind, "source", rel, c.code, shortFsMessage(err));
    return undefined;
  }
}

/** With `delete`, remove what the source does not have; always remove our leftover temporary files. */
function cleanDest(run: SyncRun, dest: string, rel: string, destNames: ReadonlySet<string>, keep: ReadonlySet<string>, sourceCount: number): void {
  const { env, settings, counters } = run;
  const extra = [...destNames].filter((n) => !keep.has(n)).sort();
  for (const name of extra) {
    const path = childPath(dest, name, env.platform);
    if (TEMP_RE.test(name)) {
      if (env.dryrun) continue;
      try {
        unlinkSync(path);
        counters.leftoversRemoved++;
        run.log.debug(`removed a temporary file left by an interrupted run: ${childRel(rel, name)}`);
      } catch {}
    }
  }
  if (!settings.deleteExtraneous) return;
  const victims = extra.filter((n) => !TEMP_RE.test(n));
  if (victims.length === 0) return;
  if (rel === "" && sourceCount === 0) {
    run.failed(`the source is empty but the destination is not: nothing is deleted (is the share mounted?). Put a file in the source, or empty the destination by hand`);
    return;
  }
  for (const name of victims) {
    const path = childPath(dest, name, env.platform);
    const r = childRel(rel, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (settings.excluder.excluded(r, name, st.isDirectory())) continue;
    if (env.dryrun) {
      env.say(`would delete ${r}${st.isDirectory() ? "/" : ""}`);
      continue;
    }
    try {
      const n = removeEntry(path, env.platform);
      counters.filesDeleted += n.files;
      counters.foldersDeleted += n.folders;
      run.log.info(`deleted ${r}${st.isDirectory() ? `/ (${n.files} file(s))` : ""}: not in the source any more`);
    } catch (err) {
      const c = classifyFsError(err);
      run.problem(c.kind === "vanished" ? "failed" : c.kind, "destination", r, c.code, shortFsMessage(err));
    }
  }
}

/** Give the destination folder its source's times, when they differ (after its contents were written). */
function setFolderTimes(run: SyncRun, task: { src: string; dest: string; rel: string; mtimeMs: number }): void {
  try {
    const d = entryStat(task.dest);
    if (!d || sameTime(d.mtimeMs, task.mtimeMs, 0)) return;
    const st = statSync(task.src, { bigint: true });
    setTimesNs(task.dest, st.atimeNs, st.mtimeNs);
  } catch (err) {
    run.log.debug(`cannot set the times of folder ${task.rel === "" ? "(the top folder)" : task.rel}: ${shortFsMessage(err)}`);
  }
}
