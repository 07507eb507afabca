/**
 * A real HTTP(S) server on 127.0.0.1 standing in for the cncop network's report service:
 * records every request (path, headers, body, the client's port, which names the
 * connection), answers with a status chosen per request (default: a report's "answer"
 * field, else 200), and counts the requests in flight.
 */
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import nodePath from "node:path";

export interface Received {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The report's file name, from the Idempotency-Key header. */
  readonly name: string;
  readonly clientPort: number;
}

export type Answer = number | { status: number; body?: string };

export interface ReportServer {
  readonly url: string;
  readonly received: Received[];
  /** Most requests seen in flight at once. */
  readonly maxInFlight: number;
  readonly inFlight: number;
  connections(): Set<number>;
  stop(): void;
}

export interface ReportServerOptions {
  answer?: (r: Received) => Answer | Promise<Answer>;
  tls?: { cert: string; key: string };
  /** Base path of the service, e.g. "/api". */
  base?: string;
}

export function answerField(r: Received): Answer {
  try {
    const v = (JSON.parse(r.body) as { answer?: unknown }).answer;
    if (typeof v === "number") return v;
  } catch {}
  return 200;
}

export function startReportServer(opts: ReportServerOptions = {}): ReportServer {
  const received: Received[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 120,
    ...(opts.tls ? { tls: opts.tls } : {}),
    async fetch(req, srv) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        const headers: Record<string, string> = {};
        req.headers.forEach((v, k) => (headers[k] = v));
        const r: Received = {
          path: new URL(req.url).pathname,
          headers,
          body: await req.text(),
          name: headers["idempotency-key"] ?? "",
          clientPort: srv.requestIP(req)?.port ?? 0,
        };
        received.push(r);
        const a = await (opts.answer ?? answerField)(r);
        const { status, body } = typeof a === "number" ? { status: a, body: undefined } : a;
        return new Response(status === 204 || status === 304 ? null : (body ?? `answer ${status}`), { status, headers: status >= 300 && status < 400 ? { Location: "/elsewhere" } : {} });
      } finally {
        inFlight--;
      }
    },
  });
  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${server.port}${opts.base ?? ""}`,
    received,
    get maxInFlight() {
      return maxInFlight;
    },
    get inFlight() {
      return inFlight;
    },
    connections: () => new Set(received.map((r) => r.clientPort)),
    stop: () => void server.stop(true),
  };
}

/** Write a report file into the tree's spool, aged by `ageMs` (mtime in the past). */
export function putReport(root: string, name: string, body: unknown, ageMs = 0, now = Date.now()): string {
  const dir = nodePath.join(root, "Spool", "Messages");
  mkdirSync(dir, { recursive: true });
  const path = nodePath.join(dir, name);
  writeFileSync(path, typeof body === "string" ? body : `${JSON.stringify(body)}\n`);
  const t = new Date(now - ageMs);
  utimesSync(path, t, t);
  return path;
}

export const HOUR_MS = 3600_000;
export const DAY_MS = 24 * HOUR_MS;

export function networkConfig(url: string, extra = ""): string {
  return `[defaults]\ndays_of_logs = 90\n\n[network]\nurl = ${url}\napi_key = "test-key-123"\ntimeout = 5\n${extra}`;
}
