/**
 * An FTP or FTPS session (ftp-client.ts; listings parsed by basic-ftp) as the mirror's RemoteSession: passive mode, binary,
 * MLSD listings where the server offers them (exact times), LIST otherwise (times then
 * from MDTM), REST to continue a file. TLS is explicit (AUTH TLS) or implicit and never
 * falls back to plain; the certificate is checked against the system store or `ca`.
 */
import { closeSync, openSync } from "node:fs";
import { FileType, FTPError, parseList, type FileInfo } from "basic-ftp";
import { FtpClient } from "./ftp-client.ts";
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

/** An FTP error as `550 Permission denied.`: its code once, its lines joined. */
function replyText(err: FTPError): string {
  return `${err.code} ${err.message.replace(/^\d{3}[ -]/, "").replace(/\s+/g, " ").trim()}`;
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

class FtpSession implements RemoteSession {
  readonly canResume: boolean;
  constructor(private readonly client: FtpClient) {
    this.canResume = /STREAM/i.test(client.features.get("REST") ?? "");
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    try {
      await this.client.cwd(dir);
    } catch (err) {
      if (err instanceof FTPError && err.code === 550) throw new RemoteError("missing", `folder ${dir} does not exist on the server (or is not readable): ${err.message}`);
      throw ftpErrorOf(err, `listing ${dir}`);
    }
    try {
      return parseList(await this.client.list())
        .filter((i) => i.name !== "." && i.name !== "..")
        .map((i) => entryOf(i));
    } catch (err) {
      throw ftpErrorOf(err, `listing ${dir}`);
    }
  }

  async isDir(path: string): Promise<boolean> {
    try {
      await this.client.cwd(path);
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
    let bytes: number;
    try {
      bytes = await this.client.download(path, fd, offset);
    } catch (err) {
      if (err instanceof FTPError && err.code === 550) {
        // 550: gone since the listing (transient), or there but not readable (ERROR).
        const stillThere = await this.client.size(path).then(() => true, () => false);
        if (stillThere) throw new RemoteError("failed", `${path}: the server refuses to send it (${replyText(err)})`);
        throw new RemoteError("vanished", `${path} vanished from the server after it was listed`);
      }
      throw ftpErrorOf(err, path);
    } finally {
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
    onBytes(bytes);
    return { bytes, size, mtime: after };
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
      let client: FtpClient | undefined;
      let step = `connecting to ${t.label}`;
      try {
        client = await FtpClient.connect({ host: t.host, port: t.port, tls: t.tls, ca: t.ca, timeoutMs: t.timeoutMs });
        if (t.tls === "explicit") {
          step = "AUTH TLS";
          await client.authTls();
        }
        step = "login";
        await client.login(t.user, t.password);
        step = `setting up the session with ${t.label}`;
        await client.setup();
        return new FtpSession(client);
      } catch (err) {
        client?.close();
        if (step === "AUTH TLS" && err instanceof FTPError) {
          throw new RemoteError("fatal", `${t.label} refused AUTH TLS (${replyText(err)}): an FTPS job never falls back to plain FTP`);
        }
        if (step === "login" && err instanceof FTPError && err.code >= 500) {
          throw new RemoteError("fatal", `${t.label}: login refused for user ${JSON.stringify(t.user)} (${replyText(err)}); check settings.user and settings.password`);
        }
        throw ftpErrorOf(err, step);
      }
    },
  };
}
