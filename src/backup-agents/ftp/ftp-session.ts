/**
 * An FTP or FTPS session (basic-ftp) as the mirror's RemoteSession: passive mode, binary,
 * MLSD listings where the server offers them (exact times), LIST otherwise (times then
 * from MDTM), REST to continue a file. TLS is explicit (AUTH TLS) or implicit and never
 * falls back to plain; the certificate is checked against the system store or `ca`.
 */
import { once } from "node:events";
import { closeSync, openSync, writeSync } from "node:fs";
import { Writable } from "node:stream";
import { Client, FileType, FTPError, type FileInfo } from "basic-ftp";
import type { Connector, FetchResult, RemoteEntry, RemoteSession } from "../remote/remote-fs.ts";
import { RemoteError } from "../remote/remote-errors.ts";
import { inListWindow, parseListTime } from "../remote/list-time.ts";

export interface FtpTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly tls: "none" | "explicit" | "implicit";
  /** PEM CA bundle to trust instead of the system store. */
  readonly ca: string | undefined;
  readonly timeoutMs: number;
  readonly label: string;
}

/** What an FTP reply code means (RFC 959): 421 and other 4xx are transient. */
export function ftpErrorOf(err: unknown, where: string): unknown {
  if (!(err instanceof FTPError)) return err;
  const text = `${err.code} ${err.message.replace(/\s+/g, " ").trim()}`.replace(/^(\d+) \1 /, "$1 ");
  if (err.code === 421) return new RemoteError("transient", `${where}: the server is busy or closing (${text})`);
  if (err.code >= 400 && err.code < 500) return new RemoteError("transient", `${where}: the server answered ${text}`);
  if (err.code === 530 || err.code === 331 || err.code === 332) return new RemoteError("fatal", `${where}: login refused (${text}); check settings.user and settings.password`);
  return new RemoteError("failed", `${where}: the server answered ${text}`);
}

function kindOf(info: FileInfo): RemoteEntry["kind"] {
  if (info.type === FileType.Directory) return "dir";
  if (info.type === FileType.SymbolicLink) return "link";
  if (info.type === FileType.File) return "file";
  return "other";
}

function seconds(d: Date | undefined): number | undefined {
  return d && Number.isFinite(d.getTime()) ? Math.floor(d.getTime() / 1000) : undefined;
}

/** A listed entry: MLSD gives the exact time (`modify`), LIST a window. */
export function entryOf(i: FileInfo, nowMs: number = Date.now()): RemoteEntry {
  const mtime = seconds(i.modifiedAt);
  return { name: i.name, kind: kindOf(i), size: i.size, mtime, listTime: mtime === undefined ? parseListTime(i.rawModifiedAt, nowMs) : undefined };
}

/** Writes what arrives at its place in the file, synchronously: in order, and done when "finish" fires. */
class FileSink extends Writable {
  written = 0;
  constructor(
    private readonly fd: number,
    private pos: number,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      for (let off = 0; off < chunk.length; ) off += writeSync(this.fd, chunk, off, chunk.length - off, this.pos + off);
      this.pos += chunk.length;
      this.written += chunk.length;
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

class FtpSession implements RemoteSession {
  canResume = false;
  constructor(private readonly client: Client) {}

  async init(): Promise<void> {
    const features = await this.client.features();
    this.canResume = /STREAM/i.test(features.get("REST") ?? "");
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    try {
      await this.client.cd(dir);
    } catch (err) {
      if (err instanceof FTPError && err.code === 550) throw new RemoteError("missing", `folder ${dir} does not exist on the server (or is not readable): ${err.message}`);
      throw ftpErrorOf(err, `listing ${dir}`);
    }
    try {
      const infos = await this.client.list();
      return infos
        .filter((i) => i.name !== "." && i.name !== "..")
        .map((i) => entryOf(i));
    } catch (err) {
      throw ftpErrorOf(err, `listing ${dir}`);
    }
  }

  async isDir(path: string): Promise<boolean> {
    try {
      await this.client.cd(path);
      return true;
    } catch (err) {
      if (!(err instanceof FTPError) || err.code !== 550) throw ftpErrorOf(err, `opening ${path}`);
    }
    try {
      await this.client.size(path);
      return false;
    } catch (err) {
      if (err instanceof FTPError && err.code === 550) throw new RemoteError("missing", `${path} does not exist on the server`);
      throw ftpErrorOf(err, `opening ${path}`);
    }
  }

  async mtime(path: string): Promise<number | undefined> {
    try {
      return seconds(await this.client.lastMod(path));
    } catch (err) {
      if (err instanceof FTPError && err.code >= 500) {
        if (err.code === 550) throw new RemoteError("vanished", `${path} vanished from the server after it was listed`);
        return undefined;
      }
      throw ftpErrorOf(err, path);
    }
  }

  async follow(path: string): Promise<RemoteEntry | undefined> {
    if (await this.isDir(path)) return { name: "", kind: "dir", size: 0, mtime: undefined };
    const size = await this.client.size(path);
    return { name: "", kind: "file", size, mtime: await this.mtime(path) };
  }

  async fetch(path: string, local: string, offset: number, expected: RemoteEntry, onBytes: (n: number) => void): Promise<FetchResult> {
    const fd = openSync(local, offset > 0 ? "r+" : "w", 0o600);
    const sink = new FileSink(fd, offset);
    const finished = once(sink, "finish").then(
      () => undefined,
      (err: unknown) => err,
    );
    try {
      await this.client.downloadTo(sink, path, offset);
      const failed = await finished;
      if (failed) throw failed;
    } catch (err) {
      if (err instanceof FTPError && err.code === 550) {
        // 550: gone since the listing (transient), or there but not readable (ERROR).
        const stillThere = await this.client.size(path).then(() => true, () => false);
        if (stillThere) throw new RemoteError("failed", `${path}: the server refuses to send it (${err.code} ${err.message.trim()})`);
        throw new RemoteError("vanished", `${path} vanished from the server after it was listed`);
      }
      throw ftpErrorOf(err, path);
    } finally {
      sink.destroy();
      closeSync(fd);
    }
    // The server sends what the file held when it opened it: a change while it was read
    // shows in its time afterwards (MDTM, also the copy's time), and in the count of
    // bytes when it shrank. Without a time from before (a LIST server, a new file), a time
    // outside the listing's window is checked against the size.
    const after = await this.mtime(path).catch(() => undefined);
    let size = expected.size;
    if (expected.mtime === undefined && after !== undefined && expected.listTime && !inListWindow(after, expected.listTime)) {
      size = await this.client.size(path).catch(() => expected.size);
    }
    onBytes(sink.written);
    return { bytes: sink.written, size, mtime: after };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

export function ftpConnector(t: FtpTarget): Connector {
  return {
    label: t.label,
    shared: false,
    async open() {
      const client = new Client(t.timeoutMs);
      const secureOptions = { ca: t.ca, rejectUnauthorized: true, minVersion: "TLSv1.2" as const, host: t.host };
      let step = `connecting to ${t.label}`;
      try {
        if (t.tls === "implicit") await client.connectImplicitTLS(t.host, t.port, secureOptions);
        else await client.connect(t.host, t.port);
        if (t.tls === "explicit") {
          step = "AUTH TLS";
          await client.useTLS(secureOptions);
        }
        step = "login";
        await client.sendIgnoringError("OPTS UTF8 ON");
        await client.login(t.user, t.password);
        step = `setting up the session with ${t.label}`;
        await client.useDefaultSettings();
        const session = new FtpSession(client);
        await session.init();
        return session;
      } catch (err) {
        client.close();
        if (step === "AUTH TLS" && err instanceof FTPError) {
          throw new RemoteError("fatal", `${t.label} refused AUTH TLS (${err.code} ${err.message.trim()}): an FTPS job never falls back to plain FTP`);
        }
        if (step === "login" && err instanceof FTPError && err.code >= 500) {
          throw new RemoteError("fatal", `${t.label}: login refused for user ${JSON.stringify(t.user)} (${err.code} ${err.message.trim()}); check settings.user and settings.password`);
        }
        throw ftpErrorOf(err, step);
      }
    },
  };
}
