/**
 * What a failure means for a remote run (docs/agents-remote.md, "Transient failures").
 * `transient`: the connection or server failed in a way a later run cures (RE-RUN);
 * `fatal`: nothing will change without a person (ERROR now); `vanished`/`changed`: one
 * file, RE-RUN at the end; `failed`: one file, ERROR at the end; `full`: the destination
 * cannot take more (ERROR now).
 */
import { classifyFsError, fullMessage } from "../cifs/fs-errors.ts";
import { errnoCode } from "../../cli/errors.ts";

export type RemoteErrorKind = "transient" | "fatal" | "missing" | "vanished" | "changed" | "failed" | "full";

/** An error whose meaning the protocol code already knows. */
export class RemoteError extends Error {
  constructor(
    readonly kind: RemoteErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const NETWORK = new Set([
  "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN",
  "ENETRESET", "EPIPE", "ENOTCONN", "EAI_AGAIN", "ERR_SOCKET_CLOSED", "ERR_STREAM_PREMATURE_CLOSE", "ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
]);

const CERT = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID", "CERT_REVOKED",
  "CERT_UNTRUSTED", "CERT_REJECTED", "CERT_SIGNATURE_FAILURE", "INVALID_CA", "HOSTNAME_MISMATCH",
]);

const LOCAL_CODES = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EISDIR", "ENOTDIR", "EEXIST", "EIO", "ENAMETOOLONG", "EINVAL", "EMFILE"]);

export interface Classified {
  readonly kind: RemoteErrorKind;
  readonly message: string;
}

function text(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/\s+/g, " ").trim();
}

/** The meaning of an error from a session or the local disk. `where` names what was being done. */
export function classify(err: unknown, where: string): Classified {
  if (err instanceof RemoteError) return { kind: err.kind, message: err.message };
  const code = errnoCode(err) ?? (typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : undefined);
  const msg = text(err);
  if (code && CERT.has(code)) return { kind: "fatal", message: `the server's TLS certificate is not valid (${code}: ${msg}); give its CA in settings.ca_file if it is a private one` };
  if (code && NETWORK.has(code)) return { kind: "transient", message: `${where}: the connection failed (${code}): ${msg}` };
  if (code === "ENOTFOUND") return { kind: "fatal", message: `${where}: the host name is not known (ENOTFOUND): ${msg}` };
  if (code && LOCAL_CODES.has(code)) {
    const c = classifyFsError(err);
    if (c.kind === "full") return { kind: "full", message: `${fullMessage(c.code)} (${where})` };
    return { kind: "failed", message: `${where}: ${msg}` };
  }
  if (/timed? ?out/i.test(msg)) return { kind: "transient", message: `${where}: timed out: ${msg}` };
  if (/closed|FIN packet|socket hang up|connection lost|not connected|ended by other party|No response from server/i.test(msg)) {
    return { kind: "transient", message: `${where}: the server closed the connection: ${msg}` };
  }
  return { kind: "failed", message: `${where}: ${msg}` };
}
