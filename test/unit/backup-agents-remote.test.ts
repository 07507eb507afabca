/** Pure parts of the remote agents: source URLs, known_hosts, settings, names, error meanings. */
import { describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { FTPError, parseList } from "basic-ftp";
import { parseRemoteUrl, RemoteUrlError, shownOf } from "../../src/backup-agents/remote/remote-url.ts";
import { blobType, checkHostKey, fingerprint, keysFor, preferredHostKeyAlgorithms } from "../../src/backup-agents/sftp/known-hosts.ts";
import { describeSettings, readFtpSettings, readSftpSettings } from "../../src/backup-agents/remote/remote-settings.ts";
import { badName } from "../../src/backup-agents/remote/mirror.ts";
import { classify, RemoteError } from "../../src/backup-agents/remote/remote-errors.ts";
import { entryOf, ftpErrorOf } from "../../src/backup-agents/ftp/ftp-session.ts";
import { sftpErrorOf } from "../../src/backup-agents/sftp/sftp-session.ts";
import { partName, PART_RE, sameMtime } from "../../src/backup-agents/remote/local-side.ts";
import { inListWindow, parseListTime } from "../../src/backup-agents/remote/list-time.ts";

const ED = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const ED2 = "AAAAC3NzaC1lZDI1NTE5AAAAILAky6vfrf/61iutAvwa21e3uJ6zQi0ioziNsWnQk2Lp";
const blob = (b64: string) => Buffer.from(b64, "base64");

describe("source URLs", () => {
  test.each([
    ["ftp://host/pub/data", ["ftp", "host", 21, "/pub/data", undefined, undefined]],
    ["ftps://u@host:2990/", ["ftps", "host", 2990, "/", "u", undefined]],
    ["ftps://host/x", ["ftps", "host", 990, "/x", undefined, undefined]],
    ["sftp://backup@10.0.0.5/srv/a%20b//c/", ["sftp", "10.0.0.5", 22, "/srv/a b/c", "backup", undefined]],
    ["sftp://u:p%40ss@[::1]:2222/d", ["sftp", "::1", 2222, "/d", "u", "p@ss"]],
    ["FTP://Host/ü ñ", ["ftp", "Host", 21, "/ü ñ", undefined, undefined]],
  ] as const)("%s", (text, [scheme, host, port, path, user, password]) => {
    const u = parseRemoteUrl(text, ["ftp", "ftps", "sftp"]);
    expect([u.scheme, u.host, u.port, u.path, u.user, u.password]).toEqual([scheme, host, port, path, user, password]);
    expect(u.shown).not.toContain("p@ss");
  });

  test.each([
    ["", /has no source/],
    ["/local/path", /not a URL this job type takes: write it as sftp:\/\/host\[:port\]\/path/],
    ["ftp://host/x", /not a URL this job type takes/],
    ["sftp://host:99999/x", /not a port number/],
    ["sftp://host/a/../b", /'\.\.'/],
    ["sftp://host/a%0Ab", /line break/],
    ["sftp://host/a\nb", /control character/],
  ])("refused: %j", (text, message) => {
    expect(() => parseRemoteUrl(text, ["sftp"])).toThrow(RemoteUrlError);
    expect(() => parseRemoteUrl(text, ["sftp"])).toThrow(message);
  });

  test("a password in a refused URL is not shown", () => {
    expect(shownOf("http://u:secret@host/x")).toBe("http://u:***@host/x");
    expect(() => parseRemoteUrl("http://u:secret@host/x", ["ftp"])).toThrow(/http:\/\/u:\*\*\*@host/);
  });
});

describe("known_hosts", () => {
  const hashed = (name: string) => {
    const salt = randomBytes(20);
    return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
  };

  test("fingerprints and key types as ssh-keygen shows them", () => {
    expect(blobType(blob(ED))).toBe("ssh-ed25519");
    expect(fingerprint(blob(ED))).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(blobType(Buffer.alloc(2))).toBe("unknown");
  });

  test("plain, [host]:port, hashed, wildcard and negated host fields", () => {
    const text = [
      "# comment",
      `example.org,192.0.2.1 ssh-ed25519 ${ED}`,
      `[example.org]:2222 ssh-ed25519 ${ED2}`,
      `${hashed("[h.example]:2200")} ssh-ed25519 ${ED}`,
      `*.corp,!bad.corp ssh-ed25519 ${ED2}`,
      `@cert-authority *.example ssh-ed25519 ${ED2}`,
    ].join("\n");
    expect(keysFor(text, "example.org", 22).map((k) => k.line)).toEqual([2]);
    expect(keysFor(text, "192.0.2.1", 22).map((k) => k.line)).toEqual([2]);
    expect(keysFor(text, "example.org", 2222).map((k) => k.line)).toEqual([3]);
    expect(keysFor(text, "h.example", 2200).map((k) => k.line)).toEqual([4]);
    expect(keysFor(text, "a.corp", 22).map((k) => k.line)).toEqual([5]);
    expect(keysFor(text, "bad.corp", 22)).toEqual([]);
    expect(keysFor(text, "x.example", 22)).toEqual([]);
  });

  test("known, unknown, changed and revoked keys", () => {
    const text = `host ssh-ed25519 ${ED}\n`;
    expect(checkHostKey(text, "/kh", "host", 22, blob(ED))).toEqual({ ok: true });
    const unknown = checkHostKey(text, "/kh", "other", 22, blob(ED));
    expect(unknown.ok).toBe(false);
    expect(!unknown.ok && unknown.message).toContain(`is unknown: ssh-ed25519 ${fingerprint(blob(ED))} is not in /kh`);
    const changed = checkHostKey(text, "/kh", "host", 22, blob(ED2));
    expect(!changed.ok && changed.message).toContain(`HOST KEY MISMATCH: host presented ssh-ed25519 ${fingerprint(blob(ED2))}, but /kh lists another key for it (line 1: ssh-ed25519 ${fingerprint(blob(ED))})`);
    const revoked = checkHostKey(`${text}@revoked host ssh-ed25519 ${ED}\n`, "/kh", "host", 22, blob(ED));
    expect(!revoked.ok && revoked.message).toContain("@revoked");
  });

  test("host key algorithms: the types known for the host first", () => {
    const all = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
    expect(preferredHostKeyAlgorithms("host ssh-rsa AAAAB3NzaC1yc2E=\n", "host", 22, all)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256"]);
    expect(preferredHostKeyAlgorithms("", "host", 22, all)).toEqual(all);
  });
});

describe("settings", () => {
  test("defaults, limits, secrets never shown, unknown keys warned", () => {
    const { settings, warnings } = readFtpSettings({ password: "pw", private_key: "/k" });
    expect(settings.parallel).toBe(4);
    expect(settings.delete).toBe(false);
    expect(warnings).toEqual([expect.stringContaining('unknown setting "private_key"')]);
    expect(describeSettings(settings)).toContain("password set");
    expect(describeSettings(settings)).not.toContain("pw,");
    expect(() => readSftpSettings({ parallel: 17 })).toThrow(/settings\.parallel = 17 is not valid: expected a whole number from 1 to 16/);
    expect(() => readSftpSettings({ passphrase: 5 })).toThrow(/value is not shown/);
    expect(readSftpSettings({ passphrase: "x" }).settings.passphrase).toBe("x");
  });
});

describe("names and parts", () => {
  test.each([
    ["a.txt", "linux", undefined],
    ["..", "linux", "not a file name"],
    ["a/b", "linux", "holds a slash or control character"],
    ["a\nb", "linux", "holds a slash or control character"],
    ["a:b", "linux", undefined],
    ["a:b", "win32", "cannot be a Windows file name"],
    ["trailing.", "win32", "cannot be a Windows file name"],
  ] as const)("%j on %s", (name, platform, why) => {
    expect(badName(name, platform)).toBe(why);
  });

  test("part names and times", () => {
    expect(partName("日本語.txt")).toMatch(PART_RE);
    expect(partName("a")).not.toBe(partName("b"));
    expect(sameMtime(1_700_000_000_999, 1_700_000_000, 0)).toBe(true);
    expect(sameMtime(1_700_000_001_000, 1_700_000_000, 0)).toBe(false);
    expect(sameMtime(1_700_000_001_000, 1_700_000_000, 1)).toBe(true);
  });
});

describe("what failures mean", () => {
  const ftp = (code: number, message: string) => new FTPError({ code, message });
  test.each([
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:21"), { code: "ECONNREFUSED" }), "transient"],
    [Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), "transient"],
    [Object.assign(new Error("x"), { code: "ETIMEDOUT" }), "transient"],
    [Object.assign(new Error("getaddrinfo ENOTFOUND nohost"), { code: "ENOTFOUND" }), "fatal"],
    [Object.assign(new Error("self signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }), "fatal"],
    [Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" }), "fatal"],
    [Object.assign(new Error("no space"), { code: "ENOSPC" }), "full"],
    [Object.assign(new Error("denied"), { code: "EACCES" }), "failed"],
    [new Error("Timeout (control socket)"), "transient"],
    [new Error("Server sent FIN packet unexpectedly, closing connection."), "transient"],
    [new Error("No response from server"), "transient"],
    [ftpErrorOf(ftp(421, "Too many users"), "x"), "transient"],
    [ftpErrorOf(ftp(426, "Connection closed; transfer aborted"), "x"), "transient"],
    [ftpErrorOf(ftp(530, "Login incorrect"), "x"), "fatal"],
    [ftpErrorOf(ftp(553, "no"), "x"), "failed"],
    [sftpErrorOf(Object.assign(new Error("No such file"), { code: 2 }), "x"), "missing"],
    [sftpErrorOf(Object.assign(new Error("Permission denied"), { code: 3 }), "x"), "failed"],
    [sftpErrorOf(Object.assign(new Error("lost"), { code: 7 }), "x"), "transient"],
    [new RemoteError("changed", "c"), "changed"],
  ])("case %#", (err, kind) => {
    expect(classify(err, "here").kind as string).toBe(kind);
  });

  test("421 says the server is busy; a certificate error says how to trust a private CA", () => {
    expect(classify(ftpErrorOf(ftp(421, "Too many users"), "login"), "x").message).toBe("login: the server is busy or closing (421 Too many users)");
    expect(classify(Object.assign(new Error("self signed"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }), "x").message).toContain("settings.ca_file");
  });
});

describe("LIST times", () => {
  const now = Date.UTC(2026, 10, 30, 12, 0);
  test.each([
    ["Nov 30 11:15", Date.UTC(2026, 10, 30, 11, 15), 60],
    ["Dec  1 09:00", Date.UTC(2026, 11, 1, 9, 0), 60],
    ["Dec 24 09:00", Date.UTC(2025, 11, 24, 9, 0), 60],
    ["Sep 13  2020", Date.UTC(2020, 8, 13), 86_400],
    ["11-30-25  11:15PM", Date.UTC(2025, 10, 30, 23, 15), 60],
    ["01-02-99 12:05AM", Date.UTC(1999, 0, 2, 0, 5), 60],
  ])("%j", (raw, ms, precision) => {
    expect(parseListTime(raw, now)).toEqual({ sec: ms / 1000, precision });
  });

  test("unknown forms give no window; the window is half-open", () => {
    expect(parseListTime("yesterday", now)).toBeUndefined();
    expect(parseListTime("Foo 1 10:00", now)).toBeUndefined();
    expect(parseListTime(undefined, now)).toBeUndefined();
    const w = { sec: 1000, precision: 60 };
    expect([inListWindow(999, w), inListWindow(1000, w), inListWindow(1059, w), inListWindow(1060, w)]).toEqual([false, true, true, false]);
  });
});

describe("FTP listings", () => {
  const now = Date.UTC(2026, 10, 30, 12, 0);
  test("MLSD: exact times, kinds, sizes; no window", () => {
    const list = parseList("type=file;size=1234;modify=20261129101112;UNIX.mode=0644; a b.txt\r\ntype=dir;modify=20250101000000; sub\r\ntype=OS.unix=symlink;modify=20250101000000; ln\r\n");
    expect(list.map((i) => entryOf(i, now))).toEqual([
      { name: "a b.txt", kind: "file", size: 1234, mtime: Date.UTC(2026, 10, 29, 10, 11, 12) / 1000, listTime: undefined },
      { name: "sub", kind: "dir", size: 0, mtime: Date.UTC(2025, 0, 1) / 1000, listTime: undefined },
      { name: "ln", kind: "link", size: 0, mtime: Date.UTC(2025, 0, 1) / 1000, listTime: undefined },
    ]);
  });

  test("Unix and DOS LIST: windows instead of times; names with spaces and Unicode", () => {
    const unix = parseList("-rw-r--r--    1 0        0             220 Nov 30 11:11 plain file.txt\r\ndrwxr-xr-x    2 0        0            4096 Sep 13  2020 日本語 dir\r\nlrwxrwxrwx    1 0        0               9 Nov 30 11:11 ln -> plain.txt\r\n");
    expect(unix.map((i) => entryOf(i, now))).toEqual([
      { name: "plain file.txt", kind: "file", size: 220, mtime: undefined, listTime: { sec: Date.UTC(2026, 10, 30, 11, 11) / 1000, precision: 60 } },
      { name: "日本語 dir", kind: "dir", size: 4096, mtime: undefined, listTime: { sec: Date.UTC(2020, 8, 13) / 1000, precision: 86_400 } },
      { name: "ln", kind: "link", size: 9, mtime: undefined, listTime: { sec: Date.UTC(2026, 10, 30, 11, 11) / 1000, precision: 60 } },
    ]);
    const dos = parseList("11-30-25  11:15PM       <DIR>          Folder\r\n11-30-25  09:05AM                 1024 data.bin\r\n");
    expect(dos.map((i) => [i.name, entryOf(i, now).kind, entryOf(i, now).size, entryOf(i, now).listTime?.precision])).toEqual([
      ["Folder", "dir", 0, 60],
      ["data.bin", "file", 1024, 60],
    ]);
  });
});
