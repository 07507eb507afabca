/**
 * Linux: a child's output through pipes of our own, read in large batches. The stdio
 * streams of node:child_process (a socketpair read in ~20 KB pieces, one wake-up per piece)
 * cost more CPU than formatting and writing the log: an agent printing 300 MB made ~36,000
 * reads and ~63,000 context switches. Here each stream is a pipe enlarged to 1 MiB
 * (F_SETPIPE_SZ) whose read end is non-blocking and read until empty, then polled again
 * after a short pause that doubles while the child is quiet, from 1 ms up to IDLE_MS_MAX: a
 * line still reaches the log (and `w -f`) within 50 ms, and a quiet child costs about 20
 * wake-ups a second (a few ms of CPU a second). A busy child fills the pipe while we format
 * and write, and we read it in 1 MiB gulps.
 *
 * Order: each stream's bytes stay in order. Between stdout and stderr, what one pass finds
 * is written stdout first; right after output the passes are 1-2 ms apart, so only lines of
 * the two streams written within one pause of each other can swap (event-driven reading
 * swaps what arrives within one wake-up, too).
 *
 * pipe2/fcntl come from glibc through bun:ffi, loaded only on Linux. Anything missing or
 * refused (another libc, the per-user pipe-buffer limit) makes openOutputPipes() return
 * undefined, and the caller uses the ordinary stdio streams.
 */
import type * as Ffi from "bun:ffi";
import { closeSync, readSync } from "node:fs";
import type { StreamSink } from "../logs/log-file.ts";

/** Capacity asked for each pipe; below PIPE_MIN_BYTES the streams are used instead. */
export const PIPE_BYTES = 1 << 20;
const PIPE_MIN_BYTES = 256 * 1024;
/** The read buffer, shared by all readers (sinks copy what they keep). */
const READ_BYTES = 1 << 20;
/** Bytes read per stream before other timers and streams get their turn. */
const TICK_BUDGET_BYTES = 8 << 20;
/** Pause after a pass that found data, and the longest pause while the child is quiet. */
const BUSY_MS = 1;
export const IDLE_MS_MAX = 50;

const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const F_SETFL = 4;
const F_SETPIPE_SZ = 1031;

interface Libc {
  pipe2(fds: Ffi.Pointer, flags: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | undefined {
  if (libc === undefined) {
    try {
      const { dlopen, FFIType } = require("bun:ffi") as typeof Ffi;
      const { symbols } = dlopen("libc.so.6", {
        pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
        fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      });
      libc = symbols as unknown as Libc;
    } catch {
      libc = null;
    }
  }
  return libc ?? undefined;
}

export interface OutputPipe {
  /** Our end: non-blocking, close-on-exec. */
  readonly readFd: number;
  /** The child's stdout or stderr; close it once the child is spawned. */
  readonly writeFd: number;
}

/** `count` enlarged pipes, or undefined where they cannot be had (then use stdio streams). */
export function openOutputPipes(count: number, platform: NodeJS.Platform = process.platform): OutputPipe[] | undefined {
  if (platform !== "linux") return undefined;
  const c = loadLibc();
  if (!c) return undefined;
  const { ptr } = require("bun:ffi") as typeof Ffi;
  const pipes: OutputPipe[] = [];
  try {
    for (let k = 0; k < count; k++) {
      const fds = new Int32Array(2);
      // Close-on-exec on both ends: only the child's dup2'ed stdout/stderr survive its exec,
      // so no other child keeps a write end (and our end of file) open.
      if (c.pipe2(ptr(fds), O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
      pipes.push({ readFd: fds[0]!, writeFd: fds[1]! });
      if (c.fcntl(fds[1]!, F_SETPIPE_SZ, PIPE_BYTES) < PIPE_MIN_BYTES) throw new Error("F_SETPIPE_SZ refused");
      if (c.fcntl(fds[0]!, F_SETFL, O_NONBLOCK) !== 0) throw new Error("O_NONBLOCK refused");
    }
    return pipes;
  } catch {
    closePipes(pipes, "both");
    return undefined;
  }
}

export function closePipes(pipes: readonly OutputPipe[], which: "write" | "read" | "both"): void {
  for (const p of pipes) {
    for (const fd of which === "both" ? [p.readFd, p.writeFd] : [which === "read" ? p.readFd : p.writeFd]) {
      try {
        closeSync(fd);
      } catch {}
    }
  }
}

let readBuffer: Buffer | undefined;

export interface PipeReading {
  /** Streams not at end of file yet. */
  readonly open: number;
  /** Resolves once every stream reached end of file or stop() was called. */
  readonly done: Promise<void>;
  /** Read now rather than after the current pause (the child just exited). */
  poke(): void;
  /** Read what is there now, then close all read ends (a straggler still holds a write end). */
  stop(): void;
}

/** Read each pipe into its sink until end of file; takes ownership of the read ends. */
export function readPipes(streams: readonly { fd: number; sink: Pick<StreamSink, "write"> }[]): PipeReading {
  const open = streams.map((s) => ({ ...s, eof: false }));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pause = BUSY_MS;
  let stopped = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const buf = (readBuffer ??= Buffer.allocUnsafe(READ_BYTES));

  /** Read one stream until it is empty, at end of file or over budget; bytes read. */
  const drain = (s: (typeof open)[number], budget: number): number => {
    let got = 0;
    while (got < budget) {
      let n: number;
      try {
        n = readSync(s.fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EAGAIN" || code === "EWOULDBLOCK" || code === "EINTR") return got;
        n = 0; // EIO, EBADF...: nothing more will come
      }
      if (n === 0) {
        s.eof = true;
        try {
          closeSync(s.fd);
        } catch {}
        return got;
      }
      got += n;
      s.sink.write(buf.subarray(0, n));
    }
    return got;
  };

  const finish = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    for (const s of open) {
      if (s.eof) continue;
      s.eof = true;
      try {
        closeSync(s.fd);
      } catch {}
    }
    resolveDone();
  };

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    let got = 0;
    let more = false;
    for (const s of open) {
      if (s.eof) continue;
      const n = drain(s, TICK_BUDGET_BYTES);
      got += n;
      if (n >= TICK_BUDGET_BYTES) more = true;
    }
    if (open.every((s) => s.eof)) return finish();
    pause = got > 0 ? BUSY_MS : Math.min(IDLE_MS_MAX, pause * 2);
    if (more) setImmediate(tick);
    else timer = setTimeout(tick, pause);
  };

  tick();
  return {
    get open() {
      return open.filter((s) => !s.eof).length;
    },
    done,
    poke() {
      if (!timer) return;
      clearTimeout(timer);
      tick();
    },
    stop() {
      if (stopped) return;
      // What the pipes hold now (at most their capacity each), then close.
      for (const s of open) if (!s.eof) drain(s, PIPE_BYTES);
      finish();
    },
  };
}
