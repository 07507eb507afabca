/**
 * The FTP control connection's replies (RFC 959 section 4.2): `123 text` or a group from
 * `123-text` to `123 text`, decoded as UTF-8 across chunk boundaries; and the replies
 * whose text carries a value (MDTM's time, PASV's address).
 */

export interface Reply {
  readonly code: number;
  /** The whole reply, its lines joined by "\n", codes included (as basic-ftp's FTPError has it). */
  readonly message: string;
}

/** Bounds on what a hostile server can make a reader hold. */
const MAX_LINE_CHARS = 65_536;
const MAX_GROUP_LINES = 10_000;

/** Cuts the control connection's bytes into replies; `onReply` gets each whole one. */
export class ReplyReader {
  private readonly decoder = new TextDecoder();
  private partial = "";
  private group: string[] = [];
  private multi: string | undefined;

  constructor(private readonly onReply: (r: Reply) => void) {}

  push(chunk: Uint8Array): void {
    const lines = (this.partial + this.decoder.decode(chunk, { stream: true })).split("\n");
    this.partial = lines.pop() ?? "";
    if (this.partial.length > MAX_LINE_CHARS) this.partial = this.partial.slice(0, MAX_LINE_CHARS);
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (this.multi !== undefined) {
        if (this.group.length < MAX_GROUP_LINES) this.group.push(line);
        if (line.startsWith(`${this.multi} `) || line === this.multi) this.complete();
      } else if (/^\d{3}-/.test(line)) {
        this.multi = line.slice(0, 3);
        this.group = [line];
      } else if (/^\d{3}(?: |$)/.test(line)) {
        this.group = [line];
        this.complete();
      }
      // Anything else outside a group is not a reply: skipped.
    }
  }

  private complete(): void {
    const message = this.group.join("\n");
    this.group = [];
    this.multi = undefined;
    this.onReply({ code: Number(message.slice(0, 3)), message });
  }
}

/** `213 20261130153000[.123]` (MDTM, UTC), or undefined when it is not such a time. */
export function parseMdtm(message: string): Date | undefined {
  const m = /^\d{3} (\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d{1,3}))?\s*$/.exec(message.trim());
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +(m[7] ?? "0").padEnd(3, "0")));
  return Number.isFinite(d.getTime()) ? d : undefined;
}

/** The data connection's address in a PASV reply; the control host when it names a private or unset one the control host is not. */
export function pasvTarget(message: string, controlHost: string): { host: string; port: number } | undefined {
  const m = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(message);
  if (!m) return undefined;
  const host = `${m[1]}.${m[2]}.${m[3]}.${m[4]}`;
  const port = (+m[5]! & 255) * 256 + (+m[6]! & 255);
  const local = (h: string) => /^(10\.|127\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|0\.0\.0\.0$)/.test(h);
  return { host: local(host) && !local(controlHost) ? controlHost : host, port };
}

