/**
 * The state of one tree copy: settings, counters and the verdict so far. The walk
 * (tree-sync.ts) and the entry handlers (entries.ts) report into it; `failure` and
 * `transient` turn errors into log lines and the final state.
 */
import type { AgentLog } from "../agent-log.ts";
import type { Excluder } from "./exclude.ts";
import { type FsErrorKind, fullMessage } from "./fs-errors.ts";

export interface SyncSettings {
  readonly excluder: Excluder;
  readonly deleteExtraneous: boolean;
  readonly followLinks: boolean;
  /** Milliseconds two modification times may differ and still be equal. */
  readonly modifyWindowMs: number;
  /** 0: no limit. */
  readonly bytesPerSec: number;
}

export interface SyncEnv {
  readonly platform: NodeJS.Platform;
  readonly dryrun: boolean;
  readonly log: AgentLog;
  readonly say: (line: string) => void;
  readonly abort: AbortSignal;
}

export interface SyncCounters {
  filesTotal: number;
  bytesTotal: number;
  filesCopied: number;
  bytesCopied: number;
  filesUnchanged: number;
  filesDeleted: number;
  foldersDeleted: number;
  filesFailed: number;
  directories: number;
  foldersCreated: number;
  links: number;
  excluded: number;
  skipped: number;
  vanished: number;
  changed: number;
  busy: number;
  leftoversRemoved: number;
}

/** Why the walk stopped early, if it did. */
export interface SyncStop {
  readonly kind: "full" | "network" | "interrupted";
  readonly message: string;
}

export class SyncRun {
  readonly counters: SyncCounters = {
    filesTotal: 0, bytesTotal: 0, filesCopied: 0, bytesCopied: 0, filesUnchanged: 0, filesDeleted: 0, foldersDeleted: 0,
    filesFailed: 0, directories: 0, foldersCreated: 0, links: 0, excluded: 0, skipped: 0, vanished: 0, changed: 0, busy: 0, leftoversRemoved: 0,
  };
  stop: SyncStop | undefined;
  /** The first transient problem and the first failure, for the run's reason. */
  firstTransient: string | undefined;
  firstFailure: string | undefined;

  constructor(
    readonly settings: SyncSettings,
    readonly env: SyncEnv,
  ) {}

  get log(): AgentLog {
    return this.env.log;
  }

  /** This entry failed; the run goes on and ends ERROR. */
  failed(text: string): void {
    this.counters.filesFailed++;
    this.firstFailure ??= text;
    this.log.error(text);
  }

  /** A transient problem with this entry; the run goes on and ends RE-RUN (unless worse). */
  transient(kind: "vanished" | "changed" | "busy", text: string): void {
    this.counters[kind]++;
    this.firstTransient ??= text;
    this.log.warn(text);
  }

  halt(kind: SyncStop["kind"], message: string): void {
    if (this.stop) return;
    this.stop = { kind, message };
    if (kind !== "interrupted") this.log.error(message);
  }

  /** Report an error of `what` (a relative path) by its kind. */
  problem(kind: FsErrorKind | "changed" | "interrupted", side: "source" | "destination", what: string, code: string, message: string): void {
    const shown = what === "" ? "the top folder" : what;
    switch (kind) {
      case "interrupted":
        return this.halt("interrupted", "interrupted");
      case "full":
        return this.halt("full", `${fullMessage(code)} while writing ${shown}: ${message}`);
      case "network":
        return this.halt("network", `the ${side} became unreachable (${code}) at ${shown}: ${message}`);
      case "vanished":
        return this.transient("vanished", `${shown} vanished while being copied (deleted at the source after it was listed)`);
      case "changed":
        return this.transient("changed", `${shown} ${message}; it is copied on the re-run`);
      case "busy":
        return this.transient("busy", `${shown} is in use (${code}): ${message}`);
      default:
        return this.failed(side === "source" ? `cannot read ${shown}: ${message}` : `cannot write ${shown} at the destination: ${message}`);
    }
  }
}
