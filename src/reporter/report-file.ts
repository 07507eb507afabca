/**
 * Reading one report file just before it is sent, and moving a broken one aside to
 * `Spool/Messages/bad/` (`Paths.badMessages`): a file that is not a UTF-8 JSON object is never sent (a receiver
 * could only refuse it, and its retries would hold up nothing but the log) and never
 * deleted (someone may want to repair it).
 */
import { mkdirSync, renameSync } from "node:fs";
import { readFile } from "node:fs/promises";
import nodePath from "node:path";
import { errnoCode } from "../cli/errors.ts";

export type ReadReport =
  | { readonly kind: "ok"; readonly body: Uint8Array; readonly report: Record<string, unknown> }
  | { readonly kind: "bad"; readonly why: string }
  | { readonly kind: "gone" }
  | { readonly kind: "unreadable"; readonly why: string };

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Is this the content of a report? Pure: returns the bytes to send (BOM removed). */
export function parseReport(bytes: Uint8Array): ReadReport {
  let body = bytes;
  if (UTF8_BOM.every((b, i) => body[i] === b)) body = body.subarray(3);
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
  return { kind: "ok", body, report: value as Record<string, unknown> };
}

export async function readReport(path: string): Promise<ReadReport> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    // Sent and deleted by someone else since the folder was listed.
    if (errnoCode(err) === "ENOENT") return { kind: "gone" };
    return { kind: "unreadable", why: (err as Error).message };
  }
  return parseReport(bytes);
}

/** `bad/<name>`, or `bad/<name>.1`, `.2`, ... when that name is taken. Returns the new path. */
export function moveAside(messagesDir: string, badDir: string, name: string, exists: (p: string) => boolean): string {
  mkdirSync(badDir, { recursive: true });
  let target = nodePath.join(badDir, name);
  for (let n = 1; exists(target); n++) target = nodePath.join(badDir, `${name}.${n}`);
  renameSync(nodePath.join(messagesDir, name), target);
  return target;
}

/** The report's ordering key: reports of one job keep their order; see pass.ts. */
export function orderKey(report: Record<string, unknown>): string {
  const id = report.jobid;
  return typeof id === "number" || (typeof id === "string" && id !== "") ? `job:${String(id)}` : "other";
}
