/**
 * One report, one HTTP POST. Bun's fetch keeps connections alive and reuses them between
 * requests to the same origin, so a pass opens at most as many connections as it has
 * requests in flight. Every request has a time limit covering the answer's body too.
 * HTTPS trusts the bundled and system roots; `[network] ca_file` adds a private CA.
 * Failure at the network boundary is data (SendResult), never an exception.
 */
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { CncopError, EXIT } from "../cli/errors.ts";
import type { SendResult } from "./answer.ts";
import type { ReportBody } from "./report-file.ts";

/** How much of an answer's body is kept for the log; the rest is not read. */
export const MAX_ANSWER_BYTES = 16 * 1024;

export interface Transport {
  send(url: string, body: ReportBody, reportName: string): Promise<SendResult>;
}

export interface FetchTransportOptions {
  readonly apiKey: string | undefined;
  /** Trusted roots for HTTPS; undefined: the defaults (bundled and system store). */
  readonly ca: readonly string[] | undefined;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly fetchImpl?: typeof fetch;
}

/** A header value must be plain ASCII; a file name that is not is sent percent-encoded. */
export function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

export function requestHeaders(apiKey: string | undefined, reportName: string, userAgent: string): Record<string, string> {
  const h: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/json",
    "User-Agent": userAgent,
    // The report's file name is unique: a receiver can drop a report it already accepted
    // (sent again only when the reporter was stopped between the answer and the deletion).
    "Idempotency-Key": headerSafe(reportName),
  };
  if (apiKey !== undefined) h.Authorization = `Bearer ${apiKey}`;
  return h;
}

/**
 * The roots for `ca_file`: its certificates plus the default ones, so the same url keeps
 * working when the server moves to a public certificate. A missing or non-PEM file is a
 * configuration error naming the file.
 */
export function loadTrust(caFile: string, configFile: string): string[] {
  let pem: string;
  try {
    pem = readFileSync(caFile, "utf8");
  } catch (err) {
    throw new CncopError(`${configFile}: [network] ca_file = "${caFile}" cannot be read: ${(err as Error).message}. Give the path of a PEM file (relative to the cncop application directory).`, EXIT.USAGE);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new CncopError(`${configFile}: [network] ca_file = "${caFile}" holds no PEM certificate ("-----BEGIN CERTIFICATE-----"). Export the CA certificate in PEM (Base64) format.`, EXIT.USAGE);
  }
  const getCa = (tls as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  let defaults: string[] = [];
  try {
    defaults = getCa ? getCa("default") : [...tls.rootCertificates];
  } catch {
    defaults = [...tls.rootCertificates];
  }
  return [pem, ...defaults];
}

async function readExcerpt(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    if (got >= MAX_ANSWER_BYTES) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, MAX_ANSWER_BYTES));
}

export function createFetchTransport(opts: FetchTransportOptions): Transport {
  const doFetch = opts.fetchImpl ?? fetch;
  return {
    async send(url, body, reportName) {
      const started = performance.now();
      try {
        // Certificates are always checked: an explicit rejectUnauthorized, so that no
        // NODE_TLS_REJECT_UNAUTHORIZED=0 inherited from the caller switches the check off.
        const init: RequestInit & { tls: { rejectUnauthorized: true; ca?: string[] } } = {
          tls: { rejectUnauthorized: true },
          method: "POST",
          headers: requestHeaders(opts.apiKey, reportName, opts.userAgent),
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(opts.timeoutMs),
        };
        if (opts.ca) init.tls = { rejectUnauthorized: true, ca: [...opts.ca] };
        const res = await doFetch(url, init);
        // The status decides; a body that fails to arrive does not undo an answer.
        const text = await readExcerpt(res).catch(() => "");
        return { kind: "answer", status: res.status, statusText: res.statusText, body: text, ms: performance.now() - started };
      } catch (err) {
        const e = err as Error & { code?: unknown };
        const timedOut = e?.name === "TimeoutError";
        return {
          kind: "error",
          message: e?.message ?? String(err),
          code: typeof e?.code === "string" ? e.code : undefined,
          timedOut,
          ms: performance.now() - started,
        };
      }
    },
  };
}
