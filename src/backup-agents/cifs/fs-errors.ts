/**
 * What a file-system error means for a backup run (docs/agents.md, "Transient failures").
 * Pure: a table from errno codes to a kind, by the side of the copy it happened on.
 */
import { errnoCode } from "../../cli/errors.ts";

export type FsErrorKind =
  /** The entry is gone: deleted after it was listed. Transient (RE-RUN). */
  | "vanished"
  /** Only this entry failed for a reason a re-run cures (file in use). Transient. */
  | "busy"
  /** The share or network went away: stop now, RE-RUN. */
  | "network"
  /** The destination cannot take more: stop now, ERROR. */
  | "full"
  /** This entry failed (permission, I/O error...): go on with the rest, ERROR at the end. */
  | "failed";

const NETWORK = new Set(["ETIMEDOUT", "EHOSTDOWN", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "ENETRESET", "ECONNRESET", "ECONNABORTED", "ECONNREFUSED", "ENOTCONN", "ESTALE", "EREMOTEIO", "ENOLINK", "ECOMM"]);
const FULL = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EROFS"]);
const BUSY = new Set(["EBUSY", "EAGAIN", "ETXTBSY"]);

export function classifyFsError(err: unknown): { kind: FsErrorKind; code: string } {
  const code = errnoCode(err) ?? "UNKNOWN";
  if (code === "ENOENT") return { kind: "vanished", code };
  if (NETWORK.has(code)) return { kind: "network", code };
  if (FULL.has(code)) return { kind: "full", code };
  if (BUSY.has(code)) return { kind: "busy", code };
  return { kind: "failed", code };
}

/** The message of an fs error without Node's "ENOENT: ..., open '<path>'" repetition of the path. */
export function shortFsMessage(err: unknown): string {
  const code = errnoCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  const m = /^[A-Z]+: ([^,]+)/.exec(msg);
  const text = m ? m[1]! : msg;
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

export function fullMessage(code: string): string {
  if (code === "EROFS") return "the destination is read-only";
  if (code === "EFBIG") return "the file is too large for the destination's file system";
  if (code === "EDQUOT") return "the destination's disk quota is exhausted";
  return "the destination is full (no space left on the device)";
}
