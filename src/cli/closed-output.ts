/**
 * A closed stdout or stderr changes nothing (SPEC §5 "Exit status"): when the reader of a
 * pipe has gone (`cncopagent -a | head`, a closed SSH session), writing to it fails with
 * EPIPE, thrown at once by Bun's fast write path or emitted later as an "error" event.
 * Either would end the program with a crash banner and exit status 1, possibly in the
 * middle of a job. Every program of the suite therefore guards both streams once, at its
 * start: a write that fails marks the stream closed, later writes to it are dropped, and
 * the work (jobs, logs, reports, the exit status) goes on. The log files are the record.
 */

/** Errors of a write to a stream whose other end is gone or unusable. */
const CLOSED_CODES = new Set(["EPIPE", "ECONNRESET", "EBADF", "ENOTCONN", "ERR_STREAM_DESTROYED", "ERR_STREAM_WRITE_AFTER_END", "EIO"]);

export function isClosedOutputError(err: unknown): boolean {
  const code = err && typeof err === "object" && "code" in err ? String((err as { code: unknown }).code) : "";
  return CLOSED_CODES.has(code);
}

type Writable = Pick<NodeJS.WriteStream, "write" | "on">;

const guarded = new WeakSet<object>();
const closed = new WeakSet<object>();

/** Is this guarded stream known to be closed (a write to it failed)? */
export function outputClosed(stream: object): boolean {
  return closed.has(stream);
}

/** Make writes to `stream` never throw for a closed reader; idempotent. */
export function guardStream(stream: Writable): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  const markClosed = () => closed.add(stream);
  // An error of stdout/stderr has nowhere to be shown: the stream counts as closed.
  stream.on("error", markClosed);
  (stream as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    if (closed.has(stream)) {
      // Honour a callback so a caller awaiting the write does not hang.
      const cb = args.find((a) => typeof a === "function") as ((err?: Error) => void) | undefined;
      if (cb) queueMicrotask(() => cb());
      return true;
    }
    try {
      return original(...args);
    } catch (err) {
      // A programming error (a bad argument) is not a closed reader.
      if (!isClosedOutputError(err) && !(err && typeof err === "object" && "errno" in err)) throw err;
      markClosed();
      const cb = args.find((a) => typeof a === "function") as ((err?: Error) => void) | undefined;
      if (cb) queueMicrotask(() => cb());
      return true;
    }
  };
}

/** Guard the process's stdout and stderr (called once by cli.ts before any program runs). */
export function guardStandardStreams(): void {
  guardStream(process.stdout);
  guardStream(process.stderr);
}
