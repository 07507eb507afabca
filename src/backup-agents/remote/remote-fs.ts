/**
 * What the mirror (mirror.ts) needs of a protocol: list a folder, find a file's exact
 * modification time when the listing lacks it, and fetch a file (from an offset) into a
 * local file. ftp/ and sftp/ implement it.
 */
export type RemoteKind = "file" | "dir" | "link" | "other";

export interface RemoteEntry {
  readonly name: string;
  readonly kind: RemoteKind;
  readonly size: number;
  /** Modification time in whole seconds since the epoch, when the listing gives it exactly. */
  readonly mtime: number | undefined;
  /** When the listing gives the time only roughly (FTP LIST): the window it lies in. */
  readonly listTime?: { readonly sec: number; readonly precision: number };
}

export interface FetchResult {
  /** Bytes received by this fetch (after the offset). */
  readonly bytes: number;
  /** The file's size and time as the server had them when the fetch ended, if it says. */
  readonly size: number;
  readonly mtime: number | undefined;
}

export interface RemoteSession {
  /** The entries of a folder (without `.` and `..`). Throws when it is missing. */
  list(dir: string): Promise<RemoteEntry[]>;
  /** Is `path` a folder? Throws a "missing" RemoteError when there is nothing. */
  isDir(path: string): Promise<boolean>;
  /** Exact modification time (seconds) of a file, when the listing did not give it. */
  mtime(path: string): Promise<number | undefined>;
  /** Where a link leads: a file (size, time), a folder, or nothing usable. */
  follow(path: string): Promise<RemoteEntry | undefined>;
  /**
   * Fetch `path` into `local` (created 0600, or continued at `offset`). `expected` is the
   * size and time the listing gave; a difference at the end is reported in the result.
   */
  fetch(path: string, local: string, offset: number, expected: RemoteEntry, onBytes: (n: number) => void): Promise<FetchResult>;
  /** Whether fetch can start at an offset (FTP: REST STREAM). */
  readonly canResume: boolean;
  close(): Promise<void>;
}

/** Opens sessions: the first lists the tree; transfers use up to `parallel` of them. */
export interface Connector {
  /** A human name of the server: `ftp://user@host:port`. */
  readonly label: string;
  open(): Promise<RemoteSession>;
  /** True when one session carries parallel transfers itself (SFTP). */
  readonly shared: boolean;
}
