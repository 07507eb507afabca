/**
 * The state of one remote mirror run: counters, the first problems, and why it stopped
 * early; `verdict` turns it into the agent's result.
 */
import type { AgentLog } from "../agent-log.ts";
import type { AgentResult } from "../agent-result.ts";
import type { FinishState } from "../../reports/finish-state.ts";
import type { Classified } from "./remote-errors.ts";

export interface MirrorCounters {
  filesTotal: number;
  bytesTotal: number;
  filesFetched: number;
  bytesFetched: number;
  filesUnchanged: number;
  filesDeleted: number;
  filesFailed: number;
  directories: number;
  excluded: number;
  skipped: number;
  vanished: number;
  changed: number;
  resumed: number;
  partsRemoved: number;
}

export interface MirrorStop {
  readonly kind: "transient" | "fatal" | "full" | "interrupted";
  readonly message: string;
}

export class MirrorState {
  readonly c: MirrorCounters = {
    filesTotal: 0, bytesTotal: 0, filesFetched: 0, bytesFetched: 0, filesUnchanged: 0, filesDeleted: 0, filesFailed: 0,
    directories: 0, excluded: 0, skipped: 0, vanished: 0, changed: 0, resumed: 0, partsRemoved: 0,
  };
  stop: MirrorStop | undefined;
  firstTransient: string | undefined;
  firstFailure: string | undefined;

  constructor(readonly log: AgentLog) {}

  halt(kind: MirrorStop["kind"], message: string): void {
    if (this.stop) return;
    this.stop = { kind, message };
    if (kind !== "interrupted") this.log.error(message);
  }

  /** A problem with one entry, or with the whole run, by its kind. */
  problem(p: Classified): void {
    switch (p.kind) {
      case "transient":
      case "fatal":
      case "full":
        return this.halt(p.kind, p.message);
      case "vanished":
      case "missing":
        this.c.vanished++;
        this.firstTransient ??= p.message;
        return this.log.warn(p.message);
      case "changed":
        this.c.changed++;
        this.firstTransient ??= p.message;
        return this.log.warn(p.message);
      default:
        this.c.filesFailed++;
        this.firstFailure ??= p.message;
        return this.log.error(p.message);
    }
  }

  verdict(dryrun: boolean): AgentResult {
    const c = this.c;
    const would = dryrun ? "would fetch" : "fetched";
    const summary = `${c.filesTotal} file(s) in ${c.directories + 1} folder(s): ${would} ${c.filesFetched} (${c.bytesFetched} bytes${c.resumed ? `, ${c.resumed} resumed` : ""}), ${c.filesUnchanged} unchanged, ${c.filesDeleted} deleted, ${c.filesFailed} failed, ${c.vanished + c.changed} vanished or changed, ${c.excluded} excluded, ${c.skipped} skipped`;
    this.log.info(summary);
    let state: FinishState = "OK";
    let reason = dryrun ? `dry run: ${summary}` : summary;
    if (this.stop) {
      state = this.stop.kind === "transient" ? "RE-RUN" : "ERROR";
      reason = this.stop.kind === "interrupted" ? "interrupted" : `${this.stop.message} (${summary})`;
    } else if (c.filesFailed > 0) {
      state = "ERROR";
      reason = `${c.filesFailed} file(s) could not be fetched (the first: ${this.firstFailure}); the rest was fetched`;
    } else if (c.vanished + c.changed > 0) {
      state = "RE-RUN";
      reason = `${c.vanished + c.changed} file(s) vanished or changed while being fetched (the first: ${this.firstTransient}); the rest was fetched`;
    }
    return {
      state,
      reason,
      files: c.filesFetched,
      bytes: c.bytesFetched,
      totals: { filesTotal: c.filesTotal, bytesTotal: c.bytesTotal, filesUnchanged: c.filesUnchanged, filesDeleted: c.filesDeleted, filesFailed: c.filesFailed, directories: c.directories },
      details: { excluded: c.excluded, skipped: c.skipped, vanished: c.vanished, changed: c.changed, resumed: c.resumed, parts_removed: c.partsRemoved },
    };
  }
}
