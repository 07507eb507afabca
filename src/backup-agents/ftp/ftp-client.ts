/**
 * A lean FTP client (RFC 959, with RFC 2228/4217 TLS, RFC 2428 EPSV and RFC 3659 MLSD,
 * MDTM, SIZE and REST STREAM): the commands a mirror needs, one at a time, on the wires
 * of ftp-wire.ts. It replaced basic-ftp's Client for transfers, which spent about three
 * times lftp's CPU per file (docs/performance.md); basic-ftp still parses the listings
 * and gives FTPError, so replies mean what they meant.
 *  - Every wait (a reply, a data connection's bytes) ends after `timeoutMs` without a byte
 *    from the server: the session then fails with a "timed out" error.
 *  - A failed session stays failed: every later call throws its first error.
 *  - Nothing sent carries a line break: a name holding one is refused before it is sent.
 */
import { FTPError } from "basic-ftp";
import { writeSync } from "node:fs";
import { monotonicMs } from "../../format/time.ts";
import { pasvTarget, parseMdtm, type Reply, ReplyReader } from "./ftp-replies.ts";
import { openPlain, openTls, openUpgradable, upgrade, type TlsSettings, type Wire, type WireEvents } from "./ftp-wire.ts";

export interface FtpClientOptions extends TlsSettings {
  readonly port: number;
  readonly tls: "none" | "explicit" | "implicit";
  readonly timeoutMs: number;
}

/** Listings larger than this are refused rather than held in memory. */
export const MAX_LISTING_BYTES = 256 * 1024 ** 2;

export class FtpClient {
  private wire!: Wire;
  private data: Wire | undefined;
  private readonly reader = new ReplyReader((r) => this.delivered(r));
  private readonly replies: Reply[] = [];
  private waiting: PromiseWithResolvers<Reply> | undefined;
  private failure: Error | undefined;
  private lastActivity = monotonicMs();
  private transferring = false;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private passiveMode: "EPSV" | "PASV" | undefined;
  private listCommand: string | undefined;
  readonly features = new Map<string, string>();

  private constructor(private readonly o: FtpClientOptions) {}

  /** Connects and reads the greeting. */
  static async connect(o: FtpClientOptions): Promise<FtpClient> {
    const c = new FtpClient(o);
    const events = c.controlEvents();
    const open = o.tls === "implicit" ? openTls(o.host, o.port, o, events, { waitHandshake: true }) : o.tls === "explicit" ? openUpgradable(o.host, o.port, events) : openPlain(o.host, o.port, events);
    c.wire = await c.bounded(open, `connecting to ${o.host} port ${o.port}`);
    c.lastActivity = monotonicMs();
    c.watchdog = setInterval(() => c.checkTimeout(), Math.min(1000, Math.max(50, o.timeoutMs / 4)));
    c.watchdog.unref?.();
    try {
      const hello = await c.final(await c.reply());
      if (hello.code >= 400) throw new FTPError(hello);
      return c;
    } catch (err) {
      c.close();
      throw err;
    }
  }

  /** AUTH TLS, then TLS on the control connection. A refusal throws the reply's FTPError. */
  async authTls(): Promise<void> {
    const r = await this.send("AUTH TLS");
    if (r.code !== 234) throw new FTPError(r);
    this.wire = await this.bounded(upgrade(this.wire, this.o, this.controlEvents()), "the TLS handshake");
  }

  /** USER and PASS (the password is never in an error). */
  async login(user: string, password: string): Promise<void> {
    let r = await this.send(`USER ${user}`);
    if (r.code === 331) r = await this.send(`PASS ${password}`);
    if (r.code !== 230 && r.code !== 202) throw new FTPError(r);
  }

  /** After login: FEAT once, binary transfers, UTF-8 and full MLSD facts where offered, protected data under TLS. */
  async setup(): Promise<void> {
    const feat = await this.send("FEAT");
    if (feat.code === 211) {
      for (const line of feat.message.split("\n").slice(1, -1)) {
        const m = /^\s*(\S+)\s*(.*)$/.exec(line);
        if (m) this.features.set(m[1]!.toUpperCase(), m[2]!.trim());
      }
    }
    await this.request("TYPE I");
    if (this.features.has("UTF8")) await this.send("OPTS UTF8 ON");
    if (this.features.has("MLST")) await this.send("OPTS MLST type;size;modify;unix.mode;");
    if (this.o.tls !== "none") {
      await this.send("PBSZ 0");
      await this.request("PROT P");
    }
  }

  cwd(path: string): Promise<Reply> {
    return this.request(`CWD ${path}`);
  }

  async size(path: string): Promise<number> {
    const r = await this.request(`SIZE ${path}`);
    const n = Number(/^\d{3} (\d+)\s*$/.exec(r.message.trim())?.[1]);
    if (!Number.isSafeInteger(n)) throw new Error(`cannot read the size of ${path} in the server's answer: ${r.message}`);
    return n;
  }

  async lastMod(path: string): Promise<Date | undefined> {
    return parseMdtm((await this.request(`MDTM ${path}`)).message);
  }

  /** The current folder's listing (MLSD where offered, else LIST -a, else LIST), as text. */
  async list(): Promise<string> {
    const candidates = this.listCommand ? [this.listCommand] : this.features.has("MLST") ? ["MLSD"] : ["LIST -a", "LIST"];
    for (let i = 0; ; i++) {
      const cmd = candidates[i]!;
      const chunks: Uint8Array[] = [];
      let bytes = 0;
      try {
        await this.transfer(cmd, (c) => {
          bytes += c.length;
          if (bytes > MAX_LISTING_BYTES) throw new Error(`the listing is larger than ${MAX_LISTING_BYTES / 1024 ** 2} MiB`);
          chunks.push(c.slice());
        });
      } catch (err) {
        if (err instanceof FTPError && err.code >= 500 && err.code <= 504 && i + 1 < candidates.length) continue;
        throw err;
      }
      this.listCommand = cmd;
      return new TextDecoder().decode(Buffer.concat(chunks));
    }
  }

  /** RETR `path` (from `offset`, REST) into `fd` at `offset`; the bytes received. */
  async download(path: string, fd: number, offset: number): Promise<number> {
    let pos = offset;
    await this.transfer(
      `RETR ${path}`,
      (c) => {
        for (let off = 0; off < c.length; ) off += writeSync(fd, c, off, c.length - off, pos + off);
        pos += c.length;
      },
      offset,
    );
    return pos - offset;
  }

  /** QUIT (not waited for) and close; later calls fail. */
  close(): void {
    clearInterval(this.watchdog);
    if (!this.failure && this.wire) this.wire.write("QUIT\r\n");
    this.fail(new Error("the FTP session was closed"));
  }

  /** A command and its final reply; a 4xx or 5xx throws FTPError. */
  async request(cmd: string): Promise<Reply> {
    const r = await this.send(cmd);
    if (r.code >= 400) throw new FTPError(r);
    return r;
  }

  /** A command and its final reply, whatever it says. */
  async send(cmd: string): Promise<Reply> {
    return this.final(await this.sendRaw(cmd));
  }

  private sendRaw(cmd: string): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    if (/[\r\n]/.test(cmd)) return Promise.reject(new Error(`a line break cannot be sent to an FTP server (in the ${cmd.startsWith("USER ") ? "user name" : cmd.startsWith("PASS ") ? "password" : "name"})`));
    this.lastActivity = monotonicMs();
    this.wire.write(`${cmd}\r\n`);
    return this.reply();
  }

  /** Skips preliminary (1xx) replies. */
  private async final(r: Reply): Promise<Reply> {
    while (r.code < 200) r = await this.reply();
    return r;
  }

  private reply(): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    this.waiting = Promise.withResolvers<Reply>();
    return this.waiting.promise;
  }

  private async passive(): Promise<{ host: string; port: number }> {
    const control = this.wire.remoteAddress ?? this.o.host;
    if (this.passiveMode !== "PASV") {
      const r = await this.send("EPSV");
      const port = Number(/\(([!-~])\1\1(\d+)\1\)/.exec(r.message)?.[2]);
      if (r.code === 229 && port > 0 && port < 65536) {
        this.passiveMode = "EPSV";
        return { host: control, port };
      }
      if (this.passiveMode === "EPSV") throw r.code >= 400 ? new FTPError(r) : new Error(`cannot read the answer to EPSV: ${r.message}`);
    }
    const r = await this.request("PASV");
    const target = pasvTarget(r.message, control);
    if (!target) throw new Error(`cannot read the answer to PASV: ${r.message}`);
    this.passiveMode = "PASV";
    return target;
  }

  /** One passive transfer: `sink` gets the bytes (a throw from it ends the transfer with that error). */
  private async transfer(cmd: string, sink: (chunk: Uint8Array) => void, restAt = 0): Promise<void> {
    const { host, port } = await this.passive();
    let sinkError: unknown;
    const ended = Promise.withResolvers<Error | undefined>();
    const events: WireEvents = {
      data: (c) => {
        this.lastActivity = monotonicMs();
        if (sinkError !== undefined) return;
        try {
          sink(c);
        } catch (err) {
          sinkError = err;
          this.data?.close();
        }
      },
      end: (err) => ended.resolve(err),
    };
    const open = this.o.tls === "none" ? openPlain(host, port, events) : openTls(host, port, this.o, events, { session: this.wire.session(), waitHandshake: false });
    const data = await this.bounded(open, `opening a data connection to ${host} port ${port}`);
    this.data = data;
    this.transferring = true;
    try {
      if (restAt > 0) {
        const r = await this.send(`REST ${restAt}`);
        if (r.code !== 350) throw new FTPError(r);
      }
      const first = await this.sendRaw(cmd);
      if (first.code >= 400) throw new FTPError(first);
      const done = await this.final(first);
      const dataError = await ended.promise;
      if (sinkError !== undefined) throw sinkError;
      if (done.code >= 400) throw new FTPError(done);
      if (dataError) throw dataError;
    } finally {
      this.transferring = false;
      this.data = undefined;
      data.close();
    }
  }

  private controlEvents(): WireEvents {
    return {
      data: (c) => {
        this.lastActivity = monotonicMs();
        this.reader.push(c);
      },
      end: (err) => this.fail(err ?? new Error("the server closed the connection")),
    };
  }

  private delivered(r: Reply): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (w) w.resolve(r);
    else this.replies.push(r);
  }

  private checkTimeout(): void {
    if ((this.waiting || this.transferring) && monotonicMs() - this.lastActivity > this.o.timeoutMs) {
      this.fail(new Error(`timed out: the server sent nothing for ${this.o.timeoutMs / 1000} s`));
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    clearInterval(this.watchdog);
    this.data?.close();
    this.wire?.close();
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }

  /** `p` within the timeout; what it opens after that is closed. */
  private bounded(p: Promise<Wire>, what: string): Promise<Wire> {
    return new Promise((resolve, reject) => {
      let late = false;
      const t = setTimeout(() => {
        late = true;
        reject(new Error(`${what} timed out after ${this.o.timeoutMs / 1000} s`));
      }, this.o.timeoutMs);
      p.then(
        (w) => (clearTimeout(t), late ? w.close() : resolve(w)),
        (err: unknown) => (clearTimeout(t), reject(err)),
      );
    });
  }
}
