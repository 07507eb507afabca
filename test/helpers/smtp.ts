/**
 * A real SMTP server on 127.0.0.1 for the `--email` tests (the `smtp-server` package):
 * plain, STARTTLS or implicit TLS with the test CA's certificate, optional authentication,
 * refused recipients; and a TCP server that accepts and never greets. Received messages are
 * decoded just enough to read the subject and the plain-text body.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import nodePath from "node:path";
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from "smtp-server";

export const FIXTURES = nodePath.join(import.meta.dir, "..", "fixtures", "mail");
export const CA_PEM = nodePath.join(FIXTURES, "ca.pem");

export interface Received {
  readonly from: string;
  readonly to: readonly string[];
  readonly secure: boolean;
  readonly user: string | undefined;
  readonly raw: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly subject: string;
  readonly text: string;
}

export interface SmtpOptions {
  /** `plain` may still offer STARTTLS (`offerStartTls`); `starttls` offers it; `tls` is implicit TLS. */
  readonly mode: "plain" | "starttls" | "tls";
  readonly offerStartTls?: boolean;
  /** Require this login; a wrong one gets 535 with `failAnswer(password)` as its text. */
  readonly auth?: { user: string; pass: string; failAnswer?: (password: string) => string };
  readonly refuse?: (recipient: string) => boolean;
}

export interface SmtpServer {
  readonly port: number;
  readonly messages: Received[];
  /** Logins tried: user and password as the server got them. */
  readonly logins: { user: string; pass: string }[];
  close(): Promise<void>;
}

export async function startSmtp(o: SmtpOptions): Promise<SmtpServer> {
  const messages: Received[] = [];
  const logins: { user: string; pass: string }[] = [];
  const tls = o.mode !== "plain" || o.offerStartTls === true;
  const server = new SMTPServer({
    secure: o.mode === "tls",
    key: tls ? readFileSync(nodePath.join(FIXTURES, "server.key")) : undefined,
    cert: tls ? readFileSync(nodePath.join(FIXTURES, "server.pem")) : undefined,
    disabledCommands: [...(o.auth ? [] : ["AUTH"]), ...(tls ? [] : ["STARTTLS"])],
    authOptional: !o.auth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth: SMTPServerAuthentication, _session: SMTPServerSession, cb: (err: Error | null | undefined, res?: { user: string }) => void) {
      const user = auth.username ?? "";
      const pass = auth.password ?? "";
      logins.push({ user, pass });
      if (o.auth && user === o.auth.user && pass === o.auth.pass) return cb(null, { user });
      const err = new Error(o.auth?.failAnswer?.(pass) ?? "Authentication failed") as Error & { responseCode: number };
      err.responseCode = 535;
      cb(err);
    },
    onRcptTo(address, _session, cb) {
      if (o.refuse?.(address.address)) {
        const err = new Error(`<${address.address}>: mailbox unavailable`) as Error & { responseCode: number };
        err.responseCode = 550;
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        messages.push({
          ...parseMessage(raw),
          raw,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          user: typeof session.user === "string" ? session.user : undefined,
        });
        cb();
      });
    },
  });
  server.on("error", () => {}); // a client that gives up mid-handshake is part of the tests
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    port,
    messages,
    logins,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP server that accepts connections and never says a word. */
export async function startSilentServer(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const s = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < s.length; i++) {
    const hex = s.slice(i + 1, i + 3);
    if (s[i] === "=" && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(s[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_, enc: string, data: string) =>
      enc.toUpperCase() === "B" ? Buffer.from(data, "base64").toString("utf8") : decodeQuotedPrintable(data.replace(/_/g, " ")),
    );
}

/** Headers (unfolded, lower-case names, encoded words decoded) and the decoded text body. */
export function parseMessage(raw: string): { headers: Record<string, string>; subject: string; text: string } {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const body = raw.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = decodeEncodedWords(line.slice(colon + 1).trim());
  }
  const cte = (headers["content-transfer-encoding"] ?? "7bit").toLowerCase();
  let text = body;
  if (cte === "quoted-printable") text = decodeQuotedPrintable(body);
  else if (cte === "base64") text = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  return { headers, subject: headers.subject ?? "", text: text.replace(/\r\n/g, "\n") };
}
