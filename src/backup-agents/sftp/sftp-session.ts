/**
 * An SFTP session (ssh2, pure JavaScript) as the mirror's RemoteSession: one SSH
 * connection carries the listing and `parallel` files at once; each file is read with
 * many requests in flight (a bounded window), written in place, from an offset to
 * continue. The host key is checked against known_hosts before anything is sent.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { Client, type ConnectConfig, type ServerHostKeyAlgorithm, type SFTPWrapper, type Stats } from "ssh2";
import type { Connector, FetchResult, RemoteEntry, RemoteSession } from "../remote/remote-fs.ts";
import { RemoteError } from "../remote/remote-errors.ts";
import { checkHostKey, preferredHostKeyAlgorithms } from "./known-hosts.ts";

export interface SftpTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly privateKey: Buffer | undefined;
  readonly passphrase: string | undefined;
  /** The known_hosts text and the file it came from (for messages). */
  readonly knownHosts: { readonly text: string; readonly file: string };
  readonly timeoutMs: number;
  readonly label: string;
}

const HOST_KEY_ALGORITHMS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
/** Bytes in flight per file at most (the memory a transfer holds). */
const IN_FLIGHT = 4 * 1024 * 1024;
/** ssh2's largest read for a server it does not know to be OpenSSH (which takes 254 KiB). */
const SMALL_READ = 32 * 1024;
const S_IFMT = 0o170000;
/** Bytes read between two hints to the garbage collector. */
const GC_EVERY = 32 * 1024 * 1024;

function kindOfMode(mode: number): RemoteEntry["kind"] {
  const t = mode & S_IFMT;
  return t === 0o040000 ? "dir" : t === 0o100000 ? "file" : t === 0o120000 ? "link" : "other";
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02) as the mirror's kinds. */
export function sftpErrorOf(err: unknown, where: string): unknown {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "number") return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 2) return new RemoteError("missing", `${where}: no such file or folder on the server (${msg})`);
  if (code === 6 || code === 7) return new RemoteError("transient", `${where}: the connection was lost (${msg})`);
  return new RemoteError("failed", `${where}: ${msg}`);
}

function call<T>(fn: (cb: (err: Error | undefined | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

class SftpSession implements RemoteSession {
  readonly canResume = true;
  /** One read request: as large as ssh2 sends in one piece to this server. */
  private readonly chunk: number;
  private readonly window: number;
  constructor(
    private readonly conn: Client,
    private readonly sftp: SFTPWrapper,
  ) {
    const max = (sftp as unknown as { _maxReadLen?: unknown })._maxReadLen;
    this.chunk = typeof max === "number" && max >= 1024 ? Math.min(max, 256 * 1024) : SMALL_READ;
    this.window = Math.max(4, Math.floor(IN_FLIGHT / this.chunk));
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    const list = await call<{ filename: string; attrs: Stats }[]>((cb) => this.sftp.readdir(dir, cb)).catch((e) => {
      throw sftpErrorOf(e, `listing ${dir}`);
    });
    return list.filter((e) => e.filename !== "." && e.filename !== "..").map((e) => ({ name: e.filename, kind: kindOfMode(e.attrs.mode), size: e.attrs.size, mtime: e.attrs.mtime }));
  }

  async isDir(path: string): Promise<boolean> {
    const st = await call<Stats>((cb) => this.sftp.stat(path, cb)).catch((e) => {
      throw sftpErrorOf(e, path);
    });
    return kindOfMode(st.mode) === "dir";
  }

  async mtime(path: string): Promise<number | undefined> {
    const st = await call<Stats>((cb) => this.sftp.stat(path, cb)).catch((e) => {
      throw sftpErrorOf(e, path);
    });
    return st.mtime;
  }

  async follow(path: string): Promise<RemoteEntry | undefined> {
    const st = await call<Stats>((cb) => this.sftp.stat(path, cb)).catch(() => undefined);
    return st ? { name: "", kind: kindOfMode(st.mode), size: st.size, mtime: st.mtime } : undefined;
  }

  async fetch(path: string, local: string, offset: number, expected: RemoteEntry, onBytes: (n: number) => void): Promise<FetchResult> {
    const handle = await call<Buffer>((cb) => this.sftp.open(path, "r", cb)).catch((e) => {
      throw sftpErrorOf(e, path);
    });
    let fd: number | undefined;
    try {
      fd = openSync(local, offset > 0 ? "r+" : "w", 0o600);
      const bytes = await this.readAll(handle, fd, offset, expected.size, onBytes);
      // The listing is the "before"; a different size or time now means it changed while read.
      const after = await call<Stats>((cb) => this.sftp.fstat(handle, cb));
      return { bytes, size: after.size, mtime: after.mtime };
    } catch (err) {
      throw sftpErrorOf(err, path);
    } finally {
      if (fd !== undefined) closeSync(fd);
      this.sftp.close(handle, () => {});
    }
  }

  /**
   * Read from `offset` up to `size` (the listed size) with up to `window` requests in
   * flight, writing each block at its place; bytes written. A short answer before `size`
   * re-asks from where it stopped; no data at all (the file shrank) ends the read.
   */
  private async readAll(handle: Buffer, fd: number, offset: number, size: number, onBytes: (n: number) => void): Promise<number> {
    let pos = offset;
    let issueAt = offset;
    const inflight: { at: number; len: number; p: Promise<{ n: number; buf: Buffer }> }[] = [];
    // The blocks are reused: memory stays at `window` blocks per file, and the garbage
    // collector has nothing to chase however large the file.
    const free: Buffer[] = [];
    let sinceGc = 0;
    const fill = () => {
      while (inflight.length < this.window && issueAt < size) {
        const at = issueAt;
        const len = Math.min(this.chunk, size - at);
        const buf = free.pop() ?? Buffer.allocUnsafe(this.chunk);
        const p = new Promise<{ n: number; buf: Buffer }>((resolve, reject) => {
          this.sftp.read(handle, buf, 0, len, at, (err, n) => {
            if (err && (err as { code?: unknown }).code === 1) resolve({ n: 0, buf });
            else if (err) reject(err);
            else resolve({ n, buf });
          });
        });
        p.catch(() => {});
        inflight.push({ at, len, p });
        issueAt += len;
      }
    };
    fill();
    while (inflight.length > 0) {
      const head = inflight.shift()!;
      const { n, buf } = await head.p;
      if (n > 0) {
        // Synchronous: to the page cache, in order, no thread-pool round trip per block.
        for (let off = 0; off < n; ) off += writeSync(fd, buf, off, n - off, head.at + off);
        pos = head.at + n;
        onBytes(n);
        // ssh2 allocates every packet it decrypts: let the collector catch up now and then.
        sinceGc += n;
        if (sinceGc >= GC_EVERY) {
          sinceGc = 0;
          Bun.gc(false);
        }
      }
      free.push(buf);
      if (n < head.len) {
        // Drop what is still in flight (its blocks are not reused: an answer may yet arrive).
        await Promise.allSettled(inflight.map((r) => r.p));
        inflight.length = 0;
        if (n === 0) break;
        issueAt = pos;
      }
      fill();
    }
    return pos - offset;
  }

  async close(): Promise<void> {
    this.conn.end();
  }
}

export function sftpConnector(t: SftpTarget): Connector {
  return {
    label: t.label,
    shared: true,
    open: () =>
      new Promise<RemoteSession>((resolve, reject) => {
        const conn = new Client();
        let hostKeyProblem: string | undefined;
        let settled = false;
        const fail = (err: unknown) => {
          if (settled) return;
          settled = true;
          conn.end();
          reject(err);
        };
        conn.on("error", (err: Error & { level?: string }) => {
          if (hostKeyProblem) return fail(new RemoteError("fatal", hostKeyProblem));
          if (err.level === "client-authentication") {
            return fail(new RemoteError("fatal", `${t.label}: login refused for user ${JSON.stringify(t.user)} (${err.message}); check settings.password or settings.private_key`));
          }
          if (err.level === "client-timeout") return fail(new RemoteError("transient", `${t.label}: timed out connecting (${err.message})`));
          fail(err);
        });
        conn.on("close", () => fail(new RemoteError("transient", `${t.label}: the server closed the connection`)));
        // Servers that take passwords only through keyboard-interactive (PAM) get the
        // password as the answer to their hidden prompts; nothing else is answered.
        conn.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => {
          finish(prompts.map((p) => (t.password !== undefined && !p.echo ? t.password : "")));
        });
        conn.on("ready", () => {
          conn.sftp((err, sftp) => {
            if (err) return fail(err);
            settled = true;
            resolve(new SftpSession(conn, sftp));
          });
        });
        const config: ConnectConfig = {
          host: t.host,
          port: t.port,
          username: t.user,
          password: t.password,
          privateKey: t.privateKey,
          passphrase: t.passphrase,
          tryKeyboard: t.password !== undefined,
          readyTimeout: t.timeoutMs,
          keepaliveInterval: Math.min(15_000, t.timeoutMs),
          keepaliveCountMax: 3,
          algorithms: { serverHostKey: preferredHostKeyAlgorithms(t.knownHosts.text, t.host, t.port, HOST_KEY_ALGORITHMS) as ServerHostKeyAlgorithm[] },
          hostVerifier: (key: Buffer) => {
            const v = checkHostKey(t.knownHosts.text, t.knownHosts.file, t.host, t.port, key);
            if (!v.ok) hostKeyProblem = v.message;
            return v.ok;
          },
        };
        try {
          conn.connect(config);
        } catch (err) {
          // A key that cannot be read (bad passphrase, unknown format) throws here.
          fail(new RemoteError("fatal", `${t.label}: the private key cannot be used: ${err instanceof Error ? err.message : String(err)}`));
        }
      }),
  };
}
