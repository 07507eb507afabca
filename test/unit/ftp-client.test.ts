/**
 * The FTP client of backupagentftp (src/backup-agents/ftp/ftp-client.ts) against a scripted
 * server on loopback: what real servers do that vsftpd (test/e2e/backup-agents-ftp.test.ts)
 * does not show: replies split or joined across packets, no EPSV, no `LIST -a`, a final
 * reply before the data ends, a preliminary greeting, silence, a dropped connection.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { FTPError } from "basic-ftp";
import type { Socket, TCPSocketListener } from "bun";
import { FtpClient } from "../../src/backup-agents/ftp/ftp-client.ts";
import { parseMdtm, pasvTarget, type Reply, ReplyReader } from "../../src/backup-agents/ftp/ftp-replies.ts";

/** What the scripted server does with a command: reply lines, and optionally data to send on the data connection first. */
type Answer = { say: string[]; data?: Uint8Array | string; dataThenSay?: string[]; close?: boolean } | "silent";

interface FakeServer {
  readonly port: number;
  readonly commands: string[];
  stop(): void;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A server that greets with `greeting`, then answers each command with `script(cmd)`; EPSV/PASV open a data listener. */
function fakeServer(script: (cmd: string) => Answer | undefined, greeting: string[] = ["220 fake ready"], opts: { epsv?: boolean } = {}): FakeServer {
  const commands: string[] = [];
  let dataListener: TCPSocketListener<unknown> | undefined;
  let dataSocket: Socket<unknown> | undefined;
  let dataReady: PromiseWithResolvers<Socket<unknown>> | undefined;
  const openData = () => {
    dataListener?.stop(true);
    dataReady = Promise.withResolvers<Socket<unknown>>();
    const ready = dataReady;
    dataListener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => ((dataSocket = s), ready.resolve(s)), data() {} } });
    return dataListener.port;
  };
  let buffered = "";
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: (s) => void s.write(greeting.map((l) => `${l}\r\n`).join("")),
      async data(s, chunk) {
        buffered += chunk.toString();
        let i;
        while ((i = buffered.indexOf("\r\n")) >= 0) {
          const cmd = buffered.slice(0, i);
          buffered = buffered.slice(i + 2);
          commands.push(cmd);
          if (cmd === "EPSV" && opts.epsv !== false) {
            s.write(`229 Entering Extended Passive Mode (|||${openData()}|)\r\n`);
            continue;
          }
          if (cmd === "EPSV") {
            s.write("502 EPSV not implemented\r\n");
            continue;
          }
          if (cmd === "PASV") {
            const p = openData();
            s.write(`227 Entering Passive Mode (127,0,0,1,${p >> 8},${p & 255})\r\n`);
            continue;
          }
          const a = script(cmd) ?? { say: ["200 ok"] };
          if (a === "silent") continue;
          if (a.close) {
            s.end();
            return;
          }
          s.write(a.say.map((l) => `${l}\r\n`).join(""));
          if (a.data !== undefined || a.dataThenSay) {
            const d = await dataReady!.promise;
            if (a.data !== undefined) d.write(a.data);
            d.end();
            dataSocket = undefined;
            if (a.dataThenSay) s.write(a.dataThenSay.map((l) => `${l}\r\n`).join(""));
          }
        }
      },
    },
  });
  const stop = () => {
    dataSocket?.end();
    dataListener?.stop(true);
    server.stop(true);
  };
  cleanups.push(stop);
  return { port: server.port, commands, stop };
}

const LOGIN: Record<string, Answer> = { "USER u": { say: ["331 password please"] }, "PASS pw": { say: ["230 logged in"] } };

async function client(port: number, timeoutMs = 5_000): Promise<FtpClient> {
  const c = await FtpClient.connect({ host: "127.0.0.1", port, tls: "none", ca: undefined, timeoutMs });
  cleanups.push(() => c.close());
  return c;
}

function tempFile(): string {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), "ftp-client-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return nodePath.join(dir, "f");
}

describe("FTP replies", () => {
  test("groups, several replies in one packet, one reply over several, UTF-8 split inside a character", () => {
    const got: Reply[] = [];
    const r = new ReplyReader((x) => got.push(x));
    const bytes = new TextEncoder().encode("211-Features:\r\n MDTM\r\n 211-not the end\r\n211 End\r\n200 ok\r\n250 Ordner ü\r\n");
    const cut = bytes.indexOf(0xc3) + 1; // inside "ü"
    r.push(bytes.subarray(0, 7));
    r.push(bytes.subarray(7, cut));
    r.push(bytes.subarray(cut));
    expect(got).toEqual([
      { code: 211, message: "211-Features:\n MDTM\n 211-not the end\n211 End" },
      { code: 200, message: "200 ok" },
      { code: 250, message: "250 Ordner ü" },
    ]);
  });

  test("lines that are not replies are skipped; a bare code ends a group", () => {
    const got: Reply[] = [];
    const r = new ReplyReader((x) => got.push(x));
    r.push(new TextEncoder().encode("garbage\r\n230-Welcome\r\nline\r\n230\r\n226\n"));
    expect(got).toEqual([
      { code: 230, message: "230-Welcome\nline\n230" },
      { code: 226, message: "226" },
    ]);
  });

  test("MDTM times and PASV addresses", () => {
    expect(parseMdtm("213 20261130153001")?.toISOString()).toBe("2026-11-30T15:30:01.000Z");
    expect(parseMdtm("213 20261130153001.5")?.toISOString()).toBe("2026-11-30T15:30:01.500Z");
    expect(parseMdtm("213 yesterday")).toBeUndefined();
    expect(pasvTarget("227 Entering Passive Mode (192,0,2,7,78,52)", "192.0.2.1")).toEqual({ host: "192.0.2.7", port: 78 * 256 + 52 });
    // A private address behind a public control address is NAT: the control host is used.
    expect(pasvTarget("227 (10,0,0,5,4,1)", "198.51.100.3")).toEqual({ host: "198.51.100.3", port: 1025 });
    expect(pasvTarget("227 (0,0,0,0,4,1)", "198.51.100.3")).toEqual({ host: "198.51.100.3", port: 1025 });
    expect(pasvTarget("227 (10,0,0,5,4,1)", "10.0.0.1")).toEqual({ host: "10.0.0.5", port: 1025 });
    expect(pasvTarget("227 no address", "10.0.0.1")).toBeUndefined();
  });
});

describe("the FTP client against a scripted server", () => {
  test("a preliminary greeting, login, one FEAT, binary mode, UTF-8 when offered", async () => {
    const s = fakeServer(
      (cmd) => LOGIN[cmd] ?? (cmd === "FEAT" ? { say: ["211-Features:", " UTF8", " REST STREAM", " MDTM", "211 End"] } : undefined),
      ["120 ready in a moment", "220 ready"],
    );
    const c = await client(s.port);
    await c.login("u", "pw");
    await c.setup();
    expect(c.features.get("REST")).toBe("STREAM");
    expect(s.commands).toEqual(["USER u", "PASS pw", "FEAT", "TYPE I", "OPTS UTF8 ON"]);
  });

  test("login refused: the reply's code, never the password", async () => {
    const s = fakeServer((cmd) => (cmd === "USER u" ? { say: ["331 password please"] } : cmd.startsWith("PASS") ? { say: ["530 Login incorrect."] } : undefined));
    const c = await client(s.port);
    const err = await c.login("u", "Secret-9").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FTPError);
    expect((err as FTPError).code).toBe(530);
    expect(String((err as Error).message)).not.toContain("Secret-9");
  });

  test("no EPSV: PASV, remembered; no `LIST -a`: LIST, remembered", async () => {
    const s = fakeServer((cmd) => (cmd === "LIST -a" ? { say: ["501 no options"] } : cmd === "LIST" ? { say: ["150 here"], data: "-rw-r--r-- 1 u g 3 Nov 30 12:00 a.txt\r\n", dataThenSay: ["226 done"] } : undefined), undefined, { epsv: false });
    const c = await client(s.port);
    expect(await c.list()).toContain("a.txt");
    expect(await c.list()).toContain("a.txt");
    expect(s.commands).toEqual(["EPSV", "PASV", "LIST -a", "PASV", "LIST", "PASV", "LIST"]);
  });

  test("the final reply before the data's end, in one packet with the 150: every byte arrives", async () => {
    const body = Buffer.alloc(300_000, "x");
    const s = fakeServer((cmd) => (cmd === "RETR /f" ? { say: ["150 opening", "226 done already"], data: body } : undefined));
    const c = await client(s.port);
    const file = tempFile();
    const fd = openSync(file, "w");
    expect(await c.download("/f", fd, 0)).toBe(body.length);
    closeSync(fd);
    expect(readFileSync(file).equals(body)).toBe(true);
  });

  test("REST: the file is continued at its offset", async () => {
    const s = fakeServer((cmd) => (cmd === "REST 5" ? { say: ["350 restarting at 5"] } : cmd === "RETR /f" ? { say: ["150 opening"], data: "56789", dataThenSay: ["226 done"] } : undefined));
    const c = await client(s.port);
    const file = tempFile();
    writeFileSync(file, "01234");
    const fd = openSync(file, "r+");
    expect(await c.download("/f", fd, 5)).toBe(5);
    closeSync(fd);
    expect(readFileSync(file, "utf8")).toBe("0123456789");
    expect(s.commands.slice(-2)).toEqual(["REST 5", "RETR /f"]);
  });

  test("a local write failure ends the transfer with that error, and the session goes on", async () => {
    const s = fakeServer((cmd) => (cmd === "RETR /f" ? { say: ["150 opening"], data: "data", dataThenSay: ["426 aborted"] } : cmd === "MDTM /f" ? { say: ["213 20261130120000"] } : undefined));
    const c = await client(s.port);
    const file = tempFile();
    writeFileSync(file, "");
    const fd = openSync(file, "r"); // not open for writing: EBADF on the first bytes
    const err = await c.download("/f", fd, 0).catch((e: unknown) => e);
    closeSync(fd);
    expect((err as NodeJS.ErrnoException).code).toBe("EBADF");
    expect((await c.lastMod("/f"))?.toISOString()).toBe("2026-11-30T12:00:00.000Z");
  });

  test("a server error on RETR is an FTPError with its code; the session goes on", async () => {
    const s = fakeServer((cmd) => (cmd === "RETR /f" ? { say: ["550 Permission denied."] } : cmd === "SIZE /f" ? { say: ["213 42"] } : undefined));
    const c = await client(s.port);
    const file = tempFile();
    const fd = openSync(file, "w");
    const err = await c.download("/f", fd, 0).catch((e: unknown) => e);
    closeSync(fd);
    expect((err as FTPError).code).toBe(550);
    expect(await c.size("/f")).toBe(42);
  });

  test("a name with a line break is never sent", async () => {
    const s = fakeServer(() => undefined);
    const c = await client(s.port);
    await expect(c.cwd("/a\r\nDELE /b")).rejects.toThrow(/line break/);
    await c.cwd("/ok");
    expect(s.commands).toEqual(["CWD /ok"]);
  });

  test("a line break in the user or the password is refused before it is sent, and the password is never shown", async () => {
    const s = fakeServer((cmd) => LOGIN[cmd] ?? (cmd.startsWith("USER") ? { say: ["331 password please"] } : undefined));
    const c = await client(s.port);
    await expect(c.login("u\nSITE x", "pw")).rejects.toThrow(/^a line break cannot be sent to an FTP server \(in the user name\)$/);
    const err = (await c.login("u", "Se\r\ncret").catch((e: unknown) => e)) as Error;
    expect(err.message).toBe("a line break cannot be sent to an FTP server (in the password)");
    expect(s.commands).toEqual(["USER u"]);
  });

  test("a silent server times out, and the session stays failed", async () => {
    const s = fakeServer((cmd) => (cmd === "CWD /slow" ? "silent" : undefined));
    const c = await client(s.port, 1_000);
    const t0 = performance.now();
    await expect(c.cwd("/slow")).rejects.toThrow(/timed out: the server sent nothing for 1 s/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    await expect(c.cwd("/other")).rejects.toThrow(/timed out/);
  });

  test("a server that never greets times out too", async () => {
    const s = fakeServer(() => undefined, []);
    await expect(client(s.port, 1_000)).rejects.toThrow(/timed out: the server sent nothing for 1 s/);
  });

  test("a dropped control connection: the waiting call and later ones say the server closed it", async () => {
    const s = fakeServer((cmd) => (cmd === "CWD /x" ? { say: [], close: true } : undefined));
    const c = await client(s.port);
    await expect(c.cwd("/x")).rejects.toThrow(/closed the connection/);
    await expect(c.size("/y")).rejects.toThrow(/closed the connection/);
  });

  test("connection refused keeps its code", async () => {
    const s = fakeServer(() => undefined);
    const port = s.port;
    s.stop();
    const err = await FtpClient.connect({ host: "127.0.0.1", port, tls: "none", ca: undefined, timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });
});
