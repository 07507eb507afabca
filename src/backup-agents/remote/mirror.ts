/**
 * Mirror a remote folder into a local one (SPEC §9): list the tree with one session,
 * then check and fetch its files with up to `parallel` sessions. A file whose size and
 * modification time (whole seconds) match the local copy is not fetched again; a fetched
 * file lands under a part name and is renamed into place with the server's time.
 */
import nodePath from "node:path";
import { rmSync, type Stats } from "node:fs";
import type { AgentLog } from "../agent-log.ts";
import type { Excluder } from "../cifs/exclude.ts";
import { classify } from "./remote-errors.ts";
import type { Connector, RemoteEntry, RemoteSession } from "./remote-fs.ts";
import { remoteChild } from "./remote-url.ts";
import { ensureLocalDir, finishPart, localNames, localStat, PART_RE, partName, resumableBytes, sameMtime, setMtime } from "./local-side.ts";
import { MirrorState } from "./mirror-state.ts";
import { inListWindow } from "./list-time.ts";

export interface MirrorOptions {
  readonly excluder: Excluder;
  readonly deleteExtraneous: boolean;
  readonly parallel: number;
  readonly resume: boolean;
  readonly modifyWindowSec: number;
  readonly dryrun: boolean;
  readonly platform: NodeJS.Platform;
  readonly log: AgentLog;
  readonly say: (line: string) => void;
  readonly abort: AbortSignal;
}

interface Task {
  readonly rel: string;
  readonly remote: string;
  readonly local: string;
  readonly entry: RemoteEntry;
}

/** Why a server's name cannot be a local name, if it cannot. */
export function badName(name: string, platform: NodeJS.Platform): string | undefined {
  if (name === "" || name === "." || name === "..") return "not a file name";
  if (/[\0-\x1f\x7f/]/.test(name)) return "holds a slash or control character";
  if (platform === "win32" && /[\\<>:"|?*]|[. ]$/.test(name)) return "cannot be a Windows file name";
  return undefined;
}

export class Mirror {
  readonly state: MirrorState;
  private readonly tasks: Task[] = [];
  private readonly sessions: RemoteSession[] = [];

  constructor(
    private readonly connector: Connector,
    private readonly o: MirrorOptions,
  ) {
    this.state = new MirrorState(o.log);
  }

  private get stopped(): boolean {
    return this.state.stop !== undefined || this.o.abort.aborted;
  }

  /** Run over an open first session; closes every session it opened (not `first`). */
  async run(first: RemoteSession, remoteRoot: string, localRoot: string): Promise<void> {
    const onAbort = () => {
      this.state.halt("interrupted", "interrupted");
      for (const s of [first, ...this.sessions]) void s.close().catch(() => {});
    };
    this.o.abort.addEventListener("abort", onAbort, { once: true });
    try {
      await this.walk(first, remoteRoot, localRoot, "");
      if (!this.stopped) await this.transferAll(first);
    } finally {
      this.o.abort.removeEventListener("abort", onAbort);
      await Promise.all(this.sessions.map((s) => s.close().catch(() => {})));
    }
  }

  private async walk(session: RemoteSession, remoteDir: string, localDir: string, rel: string): Promise<void> {
    const { log, excluder, platform, dryrun } = this.o;
    let entries: RemoteEntry[];
    try {
      entries = await session.list(remoteDir);
    } catch (err) {
      const p = classify(err, `listing ${rel === "" ? "the top folder" : rel}`);
      this.state.problem(p.kind === "missing" ? { kind: "vanished", message: `folder ${rel} vanished while being listed` } : p);
      return;
    }
    if (!dryrun) ensureLocalDir(localDir);
    const keep = new Set<string>();
    const parts = new Set<string>();
    const dirs: [string, string, string][] = [];
    for (const e0 of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const childRel = rel === "" ? e0.name : `${rel}/${e0.name}`;
      const why = badName(e0.name, platform);
      if (why) {
        this.state.c.skipped++;
        log.warn(`skipped ${JSON.stringify(childRel)}: the name ${why}`);
        continue;
      }
      keep.add(e0.name);
      const remote = remoteChild(remoteDir, e0.name);
      let e: RemoteEntry | undefined = e0;
      if (e0.kind === "link") {
        e = await session.follow(remote).catch(() => undefined);
        if (!e || e.kind !== "file") {
          this.state.c.skipped++;
          log.info(`skipped ${childRel}: a link ${e?.kind === "dir" ? "to a folder (not followed)" : "whose target cannot be read"}`);
          continue;
        }
        e = { ...e, name: e0.name };
      }
      const rule = excluder.excluded(childRel, e.name, e.kind === "dir");
      if (rule) {
        this.state.c.excluded++;
        log.debug(`excluded ${childRel} (pattern ${rule.pattern})`);
        continue;
      }
      const local = nodePath.join(localDir, e.name);
      if (e.kind === "dir") {
        this.state.c.directories++;
        dirs.push([remote, local, childRel]);
      } else if (e.kind === "file") {
        this.state.c.filesTotal++;
        this.state.c.bytesTotal += e.size;
        parts.add(partName(e.name));
        this.tasks.push({ rel: childRel, remote, local, entry: e });
      } else {
        this.state.c.skipped++;
        log.info(`skipped ${childRel}: not a file or folder`);
      }
    }
    this.tidyLocal(localDir, rel, keep, parts);
    for (const [remote, local, childRel] of dirs) {
      if (this.stopped) return;
      await this.walk(session, remote, local, childRel);
    }
  }

  /** Remove stale parts and, with `delete`, what the server no longer has. */
  private tidyLocal(localDir: string, rel: string, keep: Set<string>, parts: Set<string>): void {
    const { log, dryrun, deleteExtraneous, excluder } = this.o;
    for (const name of localNames(localDir)) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      const path = nodePath.join(localDir, name);
      try {
        if (PART_RE.test(name)) {
          if (!parts.has(name) && !dryrun) {
            rmSync(path, { force: true });
            this.state.c.partsRemoved++;
            log.debug(`removed the stale part ${childRel}`);
          }
          continue;
        }
        if (!deleteExtraneous || keep.has(name)) continue;
        const st = localStat(path);
        if (excluder.excluded(childRel, name, st?.isDirectory() ?? false)) continue;
        this.state.c.filesDeleted++;
        if (dryrun) this.o.say(`would delete ${childRel}${st?.isDirectory() ? "/" : ""}`);
        else {
          rmSync(path, { recursive: true, force: true });
          log.info(`deleted ${childRel}${st?.isDirectory() ? "/" : ""} (no longer on the server)`);
        }
      } catch (err) {
        this.state.problem(classify(err, `removing ${childRel}`));
      }
    }
  }

  /**
   * What the listing and the local copy alone tell of a file: unchanged (same size, and an
   * exact time that matches or a LIST window that holds the copy's time), to be fetched, or
   * to be asked about (same size, time unknown or outside the window: MDTM decides).
   */
  private judge(t: Task, st: Stats | undefined): "unchanged" | "fetch" | "ask" {
    if (st?.isFile() !== true || st.size !== t.entry.size) return "fetch";
    const { mtime, listTime } = t.entry;
    if (mtime !== undefined) return sameMtime(st.mtimeMs, mtime, this.o.modifyWindowSec) ? "unchanged" : "fetch";
    // A rough listing time (FTP LIST) that holds the copy's time is taken as unchanged, as lftp does.
    return listTime !== undefined && inListWindow(Math.floor(st.mtimeMs / 1000), listTime) ? "unchanged" : "ask";
  }

  private async transferAll(first: RemoteSession): Promise<void> {
    // Files the listing settles need no server, so they are counted before any further
    // connection is opened: a run with nothing changed logs in once, not `parallel` times.
    const queue: Task[] = [];
    let asks = 0;
    for (const t of this.tasks) {
      let verdict: ReturnType<Mirror["judge"]> = "fetch";
      try {
        verdict = this.judge(t, localStat(t.local));
      } catch {} // transfer() stats it again and reports the error
      if (verdict === "unchanged") {
        this.state.c.filesUnchanged++;
        this.o.log.debug(`unchanged ${t.rel}`);
      } else {
        queue.push(t);
        if (verdict === "ask") asks++;
      }
    }
    let next = 0;
    const worker = async (session: RemoteSession) => {
      while (!this.stopped && next < queue.length) await this.transfer(session, queue[next++]!);
    };
    // More connections only for work on the server: a dry run asks for times but fetches nothing.
    const n = Math.min(this.o.parallel, this.o.dryrun ? asks : queue.length);
    const runs: Promise<void>[] = [worker(first)];
    for (let i = 1; i < n; i++) {
      if (this.connector.shared) {
        runs.push(worker(first));
        continue;
      }
      runs.push(
        this.connector.open().then(
          (s) => {
            this.sessions.push(s);
            return worker(s);
          },
          (err) => this.o.log.warn(`another connection could not be opened, going on with fewer: ${classify(err, "connecting").message}`),
        ),
      );
    }
    await Promise.all(runs);
  }

  private async transfer(session: RemoteSession, t: Task): Promise<void> {
    const { log, dryrun } = this.o;
    const part = nodePath.join(nodePath.dirname(t.local), partName(t.entry.name));
    let mtime = t.entry.mtime;
    let offset = 0;
    try {
      const st = localStat(t.local);
      let verdict = this.judge(t, st);
      if (verdict === "ask") {
        mtime = await session.mtime(t.remote);
        if (mtime !== undefined && sameMtime(st!.mtimeMs, mtime, this.o.modifyWindowSec)) verdict = "unchanged";
      }
      if (verdict === "unchanged") {
        this.state.c.filesUnchanged++;
        log.debug(`unchanged ${t.rel}`);
        return;
      }
      // A part is marked with the server's time: the exact one, else the listing's.
      const mark = mtime ?? t.entry.listTime?.sec;
      if (dryrun) {
        this.state.c.filesFetched++;
        this.state.c.bytesFetched += t.entry.size;
        this.o.say(`would fetch ${t.rel} (${t.entry.size} bytes)`);
        return;
      }
      if (this.o.resume && session.canResume) offset = resumableBytes(part, t.entry.size, mark);
      if (offset > 0) log.info(`resuming ${t.rel} at byte ${offset} of ${t.entry.size}`);
      const got = await session.fetch(t.remote, part, offset, { ...t.entry, mtime }, () => {});
      const total = offset + got.bytes;
      if (total !== t.entry.size || got.size !== t.entry.size || (got.mtime !== undefined && mtime !== undefined && got.mtime !== mtime)) {
        rmSync(part, { force: true });
        this.state.problem({ kind: "changed", message: `${t.rel} changed on the server while being fetched (${t.entry.size} bytes listed, ${total} read); it is fetched on the re-run` });
        return;
      }
      finishPart(part, t.local, got.mtime ?? mtime);
      this.state.c.filesFetched++;
      this.state.c.bytesFetched += got.bytes;
      if (offset > 0) this.state.c.resumed++;
      log.debug(`fetched ${t.rel} (${total} bytes${offset > 0 ? `, ${got.bytes} of them now` : ""})`);
    } catch (err) {
      const p = classify(err, t.rel);
      const mark = mtime ?? t.entry.listTime?.sec;
      if (p.kind === "transient" && !dryrun && mark !== undefined) {
        // Keep what arrived, marked with the server's time, for the next run to continue.
        try {
          if (localStat(part)?.isFile()) setMtime(part, mark);
        } catch {}
      } else if (!dryrun) rmSync(part, { force: true });
      this.state.problem(this.o.abort.aborted ? { kind: "transient", message: "interrupted" } : p);
    }
  }
}
