/**
 * A child's stdout and stderr into their sinks: through pipes of our own read in large
 * batches where the platform allows (Linux, output-pipe.ts), else through the stdio streams
 * of node:child_process. The process runner only sees this interface.
 */
import type { ChildProcess } from "node:child_process";
import type { StreamSink } from "../logs/log-file.ts";
import { closePipes, openOutputPipes, type OutputPipe, type PipeReading, readPipes } from "./output-pipe.ts";

/** Where a stream's bytes go: a log's sink, or anything that takes bytes as they come. */
export type OutputSink = Pick<StreamSink, "write" | "end">;

export interface OutputCapture {
  /** The `stdio` option for spawn. */
  readonly stdio: ["ignore", "pipe" | number, "pipe" | number];
  /** After spawn returned (child) or threw (undefined): start reading, or give up. */
  attach(child: ChildProcess | undefined): void;
  /** Streams still open (a stray process of the tree may hold them after the child exited). */
  readonly open: number;
  /** Wait (at most `ms`) until every stream is closed; true if they are. */
  closed(ms: number): Promise<boolean>;
  /** Stop reading: what is there now is read, then the streams are closed. */
  close(): void;
  /** How long after close() the last output may still be arriving (stdio streams only). */
  readonly settleMs: number;
}

/**
 * `CNCOP_CAPTURE=streams` in the environment forces the stdio streams (to compare the two
 * ways, or to step around the pipes should a platform misbehave).
 */
export function captureOutput(stdout: OutputSink, stderr: OutputSink, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): OutputCapture {
  const pipes = env.CNCOP_CAPTURE === "streams" ? undefined : openOutputPipes(2, platform);
  return pipes ? pipeCapture(pipes, stdout, stderr) : streamCapture(stdout, stderr);
}

function pipeCapture(pipes: OutputPipe[], stdout: OutputSink, stderr: OutputSink): OutputCapture {
  const [out, err] = pipes as [OutputPipe, OutputPipe];
  let reading: PipeReading | undefined;
  return {
    stdio: ["ignore", out.writeFd, err.writeFd],
    attach(child) {
      // The child holds its own copies now; ours would keep end of file from coming.
      closePipes(pipes, "write");
      if (!child || child.pid === undefined) closePipes(pipes, "read");
      else
        reading = readPipes([
          { fd: out.readFd, sink: stdout },
          { fd: err.readFd, sink: stderr },
        ]);
    },
    get open() {
      return reading?.open ?? 0;
    },
    closed(ms) {
      if (!reading || reading.open === 0) return Promise.resolve(true);
      reading.poke();
      return within(reading.done, ms).then(() => reading!.open === 0);
    },
    close() {
      reading?.stop();
    },
    settleMs: 0,
  };
}

/** Settling time for 'data' events already queued when the streams are destroyed. */
const STREAM_SETTLE_MS = 200;
/**
 * Each 'data' event brings a new buffer, and the collector lets them pile up: 2 GB of
 * output peaked at about 155 MB. A full collection after every GC_EVERY_BYTES streamed (a
 * few ms each) keeps the peak near 115 MB.
 */
const GC_EVERY_BYTES = 64 << 20;
let streamedSinceGc = 0;

function streamed(bytes: number): void {
  streamedSinceGc += bytes;
  if (streamedSinceGc < GC_EVERY_BYTES) return;
  streamedSinceGc = 0;
  Bun.gc(true);
}

function streamCapture(stdout: OutputSink, stderr: OutputSink): OutputCapture {
  let child: ChildProcess | undefined;
  let open = 0;
  let allClosed: () => void = () => {};
  const done = new Promise<void>((r) => (allClosed = r));
  return {
    stdio: ["ignore", "pipe", "pipe"],
    attach(c) {
      child = c;
      if (!c) return;
      if (c.pid === undefined) {
        c.stdout?.destroy();
        c.stderr?.destroy();
        return;
      }
      for (const [stream, sink] of [
        [c.stdout, stdout],
        [c.stderr, stderr],
      ] as const) {
        if (!stream) continue;
        open++;
        stream.on("data", (chunk: Buffer) => {
          sink.write(chunk);
          streamed(chunk.length);
        });
        stream.on("close", () => {
          if (--open === 0) allClosed();
        });
      }
    },
    get open() {
      return open;
    },
    closed(ms) {
      if (open === 0) return Promise.resolve(true);
      return within(done, ms).then(() => open === 0);
    },
    close() {
      child?.stdout?.destroy();
      child?.stderr?.destroy();
    },
    get settleMs() {
      return open === 0 ? 0 : STREAM_SETTLE_MS;
    },
  };
}

/** Resolves when `p` does or after `ms`, whichever comes first (no timer left behind). */
function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}
