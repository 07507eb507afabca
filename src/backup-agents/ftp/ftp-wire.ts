/**
 * The byte streams under the FTP client (ftp-client.ts): a control or data connection,
 * plain or TLS, reduced to "bytes in, bytes out, one end". Plain connections are Bun's
 * own sockets (Bun.connect): a first run of many small files opens one data connection
 * per file, and Bun's sockets cost a fraction of the CPU of node:net's stream machinery
 * (docs/performance.md). TLS connections are node:tls sockets: they upgrade a plain
 * control connection after AUTH TLS, and a data connection resumes the control
 * connection's TLS session, as servers such as vsftpd require (`require_ssl_reuse`).
 */
import net from "node:net";
import tls, { type ConnectionOptions } from "node:tls";

/** What a connection tells its owner: bytes as they arrive, and its end (with the error, if any) once. */
export interface WireEvents {
  data(chunk: Uint8Array): void;
  end(err?: Error): void;
}

export interface Wire {
  write(text: string): void;
  /** Closes it (a FIN, then the socket); no more events are sent. */
  close(): void;
  /** The peer's address, for passive data connections (EPSV). */
  readonly remoteAddress: string | undefined;
  /** TLS only: the session to resume on data connections. */
  session(): Buffer | undefined;
  /** Plain node:net wires only: the socket, to be upgraded after AUTH TLS. */
  readonly raw?: net.Socket;
}

/** TLS settings of one server: trust (`ca` or the system store), TLS 1.2 at least. */
export interface TlsSettings {
  readonly host: string;
  readonly ca: string | undefined;
}

function tlsOptions(t: TlsSettings): ConnectionOptions {
  return { ca: t.ca, rejectUnauthorized: true, minVersion: "TLSv1.2", servername: net.isIP(t.host) ? undefined : t.host };
}

/** Calls `end` once at most, and nothing after it. */
function once(ev: WireEvents): WireEvents & { readonly ended: boolean } {
  let ended = false;
  return {
    get ended() {
      return ended;
    },
    data(chunk) {
      if (!ended) ev.data(chunk);
    },
    end(err) {
      if (ended) return;
      ended = true;
      ev.end(err);
    },
  };
}

/** A plain connection on Bun's sockets; resolves once connected. */
export async function openPlain(host: string, port: number, events: WireEvents): Promise<Wire> {
  const ev = once(events);
  let pending: Uint8Array | undefined;
  const enc = new TextEncoder();
  const sock = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data: (_s, chunk) => ev.data(chunk),
      drain(s) {
        if (!pending) return;
        const n = s.write(pending);
        pending = n < pending.length ? pending.subarray(Math.max(n, 0)) : undefined;
      },
      end: () => ev.end(),
      close: (_s, err) => ev.end(err),
      error: (_s, err) => ev.end(err),
    },
  });
  return {
    remoteAddress: sock.remoteAddress,
    write(text) {
      const bytes = enc.encode(text);
      if (pending) {
        const joined = new Uint8Array(pending.length + bytes.length);
        joined.set(pending);
        joined.set(bytes, pending.length);
        pending = joined;
        return;
      }
      const n = sock.write(bytes);
      if (n < bytes.length) pending = bytes.subarray(Math.max(n, 0));
    },
    close() {
      ev.end();
      sock.end();
    },
    session: () => undefined,
  };
}

/** Listens to a node socket (plain or TLS) for a Wire. */
function nodeWire(sock: net.Socket, events: WireEvents, tlsSock?: tls.TLSSocket): Wire {
  const ev = once(events);
  let latest: Buffer | undefined;
  sock.on("data", (chunk: Buffer) => ev.data(chunk));
  sock.on("end", () => ev.end());
  sock.on("close", () => ev.end());
  sock.on("error", (err) => ev.end(err));
  // TLS 1.3 hands sessions over after the handshake ("session" events), not by getSession().
  tlsSock?.on("session", (s: Buffer) => (latest = s));
  return {
    get remoteAddress() {
      return sock.remoteAddress;
    },
    write: (text) => void sock.write(text),
    close() {
      ev.end();
      sock.destroy();
    },
    session: () => latest ?? tlsSock?.getSession(),
    raw: tlsSock ? undefined : sock,
  };
}

/** Resolves once `sock` emitted `ready`, or rejects with its error. */
function connected(sock: net.Socket, ready: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    sock.once("error", fail);
    sock.once(ready, () => {
      sock.removeListener("error", fail);
      resolve();
    });
  });
}

/** A plain node:net connection, for a control connection that AUTH TLS upgrades later. */
export async function openUpgradable(host: string, port: number, events: WireEvents): Promise<Wire> {
  const sock = net.connect({ host, port });
  sock.setNoDelay(true);
  const wire = nodeWire(sock, events);
  await connected(sock, "connect");
  return wire;
}

/** TLS over `plain`'s socket (after AUTH TLS): resolves once the handshake is done. */
export async function upgrade(plain: Wire, t: TlsSettings, events: WireEvents): Promise<Wire> {
  const raw = plain.raw;
  if (!raw) throw new Error("internal error: this connection cannot be upgraded to TLS");
  raw.removeAllListeners("data").removeAllListeners("end").removeAllListeners("close").removeAllListeners("error");
  const sock = tls.connect({ ...tlsOptions(t), socket: raw });
  const wire = nodeWire(sock, events, sock);
  await connected(sock, "secureConnect");
  return wire;
}

/**
 * A TLS connection. `waitHandshake` false (a data connection): resolves once TCP is
 * connected, for a server starts its side of the handshake only after the transfer command.
 */
export async function openTls(host: string, port: number, t: TlsSettings, events: WireEvents, opts: { session?: Buffer; waitHandshake: boolean }): Promise<Wire> {
  if (opts.waitHandshake) {
    const sock = tls.connect({ ...tlsOptions(t), host, port, session: opts.session });
    const wire = nodeWire(sock, events, sock);
    await connected(sock, "secureConnect");
    return wire;
  }
  const raw = net.connect({ host, port });
  await connected(raw, "connect");
  const sock = tls.connect({ ...tlsOptions(t), socket: raw, session: opts.session });
  return nodeWire(sock, events, sock);
}
