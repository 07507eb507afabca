/**
 * Reading one report file just before it is sent, and moving a broken one aside to
 * `Spool/Messages/bad/` (`Paths.badMessages`): a file that is not a UTF-8 JSON object is never sent (a receiver
 * could only refuse it, and its retries would hold up nothing but the log) and never
 * deleted (someone may want to repair it).
 *
 * Memory stays bounded whatever a report's size: a report of up to IN_MEMORY_BYTES (all
 * the suite writes) is read whole, checked with JSON.parse and sent from memory; a larger
 * one is checked as it streams from the disk (json-check.ts) and its body is streamed from
 * the file into the request. A report over MAX_REPORT_BYTES is not read at all: the pass
 * moves it aside (pass.ts), so one huge file can neither exhaust a small host nor hold up
 * the reports behind it.
 */
import { mkdirSync, renameSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import nodePath from "node:path";
import { errnoCode } from "../cli/errors.ts";
import { JsonObjectChecker } from "./json-check.ts";

/** Reports larger than this are never sent: moved to `bad/` (docs/reporting.md). */
export const MAX_REPORT_BYTES = 32 * 1024 * 1024;
/** Reports up to this size are read whole; larger ones are streamed. */
export const IN_MEMORY_BYTES = 1024 * 1024;
/** The piece of a streamed report read at a time. */
const CHUNK_BYTES = 256 * 1024;

/** What is sent: the bytes, or a slice of the file, streamed into the request. */
export type ReportBody = Uint8Array | Blob;

export type ReadReport =
  | {
      readonly kind: "ok";
      readonly body: ReportBody;
      readonly bytes: number;
      /** The ordering key (see orderKey). */
      readonly key: string;
      /** The report's top-level `session`, when it is a string. */
      readonly session: string | undefined;
      /** The report parsed, when it was read whole (for the expiry line of the log). */
      readonly report: Record<string, unknown> | undefined;
    }
  | { readonly kind: "bad"; readonly why: string }
  | { readonly kind: "gone" }
  | { readonly kind: "unreadable"; readonly why: string };

const UTF8_BOM = [0xef, 0xbb, 0xbf];

const hasBom = (b: Uint8Array) => UTF8_BOM.every((x, i) => b[i] === x);

/** Is this the content of a report? Pure: returns the bytes to send (BOM removed). */
export function parseReport(bytes: Uint8Array): ReadReport {
  let body = bytes;
  if (hasBom(body)) body = body.subarray(3);
  if (body.length === 0) return { kind: "bad", why: "the file is empty" };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return { kind: "bad", why: "the file is not UTF-8 text" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: "bad", why: `not valid JSON (${(err as Error).message})` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { kind: "bad", why: `valid JSON, but not one JSON object (a report is {...})` };
  }
  const report = value as Record<string, unknown>;
  return { kind: "ok", body, bytes: body.length, key: orderKey(report), session: typeof report.session === "string" ? report.session : undefined, report };
}

/**
 * Check a large report as it streams from the disk, in CHUNK_BYTES pieces; its body is
 * then the file itself (from after a BOM), streamed into the request when it is sent.
 */
export async function checkLargeReport(path: string): Promise<ReadReport> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const checker = new JsonObjectChecker();
    let pos = 0;
    let start = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, pos);
      if (bytesRead === 0) break;
      let chunk = buf.subarray(0, bytesRead);
      if (pos === 0 && hasBom(chunk)) {
        chunk = chunk.subarray(3);
        start = 3;
      }
      pos += bytesRead;
      try {
        checker.push(decoder.decode(chunk, { stream: true }));
      } catch {
        return { kind: "bad", why: "the file is not UTF-8 text" };
      }
      // A broken start is known at once: the rest need not be read.
      if (checker.failure !== undefined) return { kind: "bad", why: checker.failure };
    }
    try {
      checker.push(decoder.decode());
    } catch {
      return { kind: "bad", why: "the file is not UTF-8 text" };
    }
    const r = checker.end();
    if (!r.ok) return { kind: "bad", why: r.why };
    const end = Math.min(pos, size);
    return { kind: "ok", body: Bun.file(path).slice(start, end), bytes: end - start, key: keyOf(r.jobid), session: r.session, report: undefined };
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Read (or, when large, check as it streams) the report at `path`, of `size` bytes. */
export async function readReport(path: string, size = 0): Promise<ReadReport> {
  try {
    if (size > IN_MEMORY_BYTES) return await checkLargeReport(path);
    return parseReport(await readFile(path));
  } catch (err) {
    // Sent and deleted by someone else since the folder was listed.
    if (errnoCode(err) === "ENOENT") return { kind: "gone" };
    return { kind: "unreadable", why: (err as Error).message };
  }
}

/** `bad/<name>`, or `bad/<name>.1`, `.2`, ... when that name is taken. Returns the new path. */
export function moveAside(messagesDir: string, badDir: string, name: string, exists: (p: string) => boolean): string {
  mkdirSync(badDir, { recursive: true });
  let target = nodePath.join(badDir, name);
  for (let n = 1; exists(target); n++) target = nodePath.join(badDir, `${name}.${n}`);
  renameSync(nodePath.join(messagesDir, name), target);
  return target;
}

function keyOf(jobid: string | undefined): string {
  return jobid !== undefined && jobid !== "" ? `job:${jobid}` : "other";
}

/** The report's ordering key: reports of one job keep their order; see pass.ts. */
export function orderKey(report: Record<string, unknown>): string {
  const id = report.jobid;
  return typeof id === "number" || typeof id === "string" ? keyOf(String(id)) : "other";
}
