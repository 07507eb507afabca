/**
 * `w -f`: follows the newest log of a prefix as it is written, like `tail -F`, and moves
 * on to a newer log when one appears (a new cncopagent invocation, a new day).
 *
 * Woken by fs.watch on the log folder, with a poll every POLL_MS as the fallback (network
 * shares, folders that do not exist yet, platforms without events). Each wake-up reads
 * what was appended since the last offset; a partial last line is held until its newline
 * comes (or the file is left). A file that shrinks was truncated: it is read again from
 * its start. A file replaced under the same name (rotation) is read to its end, then the
 * new one from its start. Stops when `signal` aborts; memory stays bounded.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from "node:fs";
import type { LogFile } from "./catalog.ts";
import type { Paint } from "../format/terminal.ts";
import { escapeControls } from "../format/escape.ts";
import { LineSplitter } from "../format/line-splitter.ts";
import { lastLines, WATCH_LINE_BYTES } from "./lines.ts";
import { toneOfLine } from "./log-line.ts";

export const POLL_MS = 500;
export const INITIAL_LINES = 10;
const COALESCE_MS = 25;
const READ_CHUNK_BYTES = 256 * 1024;

export interface FollowOptions {
  /** The newest log of the prefix now, if any. */
  readonly newest: () => LogFile | undefined;
  /** Folders whose changes wake the follower. */
  readonly watchDirs: readonly string[];
  /** Log lines and `==> file <==` headers (stdout). */
  readonly write: (text: string) => Promise<void>;
  /** Messages for the person (stderr). */
  readonly notice: (text: string) => void;
  readonly paint: Paint;
  readonly signal: AbortSignal;
  readonly pollMs?: number;
  /** Lines of the newest log shown before following it. */
  readonly initialLines?: number;
  /** What to say while there is no log yet. */
  readonly waitingFor?: string;
  /** Called after each look at the files (tests wait on it instead of sleeping). */
  readonly onStep?: () => void;
}

interface Current {
  readonly file: LogFile;
  fd: number;
  ino: number;
  offset: number;
}

export async function follow(opts: FollowOptions): Promise<void> {
  const pollMs = opts.pollMs ?? POLL_MS;
  let batch: string[] = [];
  const show = (line: string) => batch.push(`${opts.paint(toneOfLine(line), line)}\n`);
  // A log holds a child's output byte for byte: shown, its control characters are escaped.
  const splitter = new LineSplitter((line) => show(escapeControls(line)), { maxLineBytes: WATCH_LINE_BYTES });
  const emit = async () => {
    if (batch.length === 0) return;
    const text = batch.join("");
    batch = [];
    await opts.write(text);
  };

  let wakeUp: (() => void) | undefined;
  // Set by an event that came while we were reading: look again before sleeping.
  let woken = false;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  opts.signal.addEventListener("abort", wake, { once: true });
  const watchers = new Map<string, FSWatcher>();
  const ensureWatchers = () => {
    for (const dir of opts.watchDirs) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, wake);
        w.on("error", () => {
          w.close();
          watchers.delete(dir);
        });
        watchers.set(dir, w);
      } catch {
        // No events for this folder (it may not exist yet): the poll covers it.
      }
    }
  };

  let cur: Current | undefined;
  let started = false;
  const open = (file: LogFile, fromStart: boolean): Current | undefined => {
    try {
      const fd = openSync(file.path, "r");
      const st = fstatSync(fd);
      return { file, fd, ino: st.ino, offset: fromStart ? 0 : st.size };
    } catch (err) {
      opts.notice(`cannot open ${file.path}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const leave = () => {
    if (!cur) return;
    splitter.flush();
    try {
      closeSync(cur.fd);
    } catch {}
    cur = undefined;
  };
  const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  /** Read what was appended since the last time. */
  const drain = async (c: Current) => {
    const size = fstatSync(c.fd).size;
    if (size < c.offset) {
      opts.notice(`${c.file.path} was truncated: reading it again from its start`);
      splitter.reset();
      c.offset = 0;
    }
    for (;;) {
      const n = readSync(c.fd, buf, 0, buf.length, c.offset);
      if (n === 0) break;
      c.offset += n;
      splitter.push(buf.subarray(0, n));
      await emit();
      if (opts.signal.aborted) return;
    }
  };

  const step = async () => {
    woken = false;
    ensureWatchers();
    if (cur) {
      await drain(cur);
      let replaced = false;
      try {
        replaced = statSync(cur.file.path).ino !== cur.ino;
      } catch {
        // Deleted or renamed away: nothing more will come to this name unless it is re-created.
        replaced = false;
      }
      if (replaced) {
        const file = cur.file;
        leave();
        await emit();
        opts.notice(`${file.path} was replaced (rotated): following the new file from its start`);
        cur = open(file, true);
        if (cur) await drain(cur);
      }
    }
    const newest = opts.newest();
    if (newest && (!cur || newest.sortKey > cur.file.sortKey || (newest.sortKey === cur.file.sortKey && newest.path !== cur.file.path))) {
      const first = cur === undefined && !started;
      leave();
      await emit();
      await opts.write(`${opts.paint("bold", `==> ${newest.path} <==`)}\n`);
      if (first) {
        // The log that exists when we start: its last lines, then what comes.
        const { lines, end } = safeLastLines(newest.path, opts.initialLines ?? INITIAL_LINES);
        for (const l of lines) batch.push(`${opts.paint(toneOfLine(l), l)}\n`);
        await emit();
        cur = open(newest, false);
        if (cur) cur.offset = Math.min(end, cur.offset);
      } else {
        cur = open(newest, true);
      }
      if (cur) await drain(cur);
    }
    started = true;
  };

  try {
    if (!opts.newest() && opts.waitingFor) opts.notice(`waiting for ${opts.waitingFor} (Ctrl-C to stop)`);
    while (!opts.signal.aborted) {
      await step();
      opts.onStep?.();
      if (opts.signal.aborted) break;
      if (!woken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, pollMs);
          function done() {
            clearTimeout(t);
            wakeUp = undefined;
            resolve();
          }
          wakeUp = done;
        });
      }
      // Coalesce a burst of events (a busy agent writes many lines) into one read.
      if (!opts.signal.aborted) await Bun.sleep(COALESCE_MS);
    }
  } finally {
    leave();
    await emit().catch(() => {});
    for (const w of watchers.values()) w.close();
    opts.signal.removeEventListener("abort", wake);
  }
}

function safeLastLines(path: string, count: number): { lines: string[]; end: number } {
  try {
    return lastLines(path, count);
  } catch {
    return { lines: [], end: 0 };
  }
}
