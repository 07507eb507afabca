/** `[mail]` to SMTP settings and nodemailer options, failures in words, and the send deadline. */
import { describe, expect, test } from "bun:test";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { parseConfigText, type MailConfig } from "../../src/install/config.ts";
import { CncopError } from "../../src/cli/errors.ts";
import { deliver, type MailTransport } from "../../src/mail/job-mail.ts";
import type { JobMessage } from "../../src/mail/message.ts";
import { describeMailError, describeSecurity, redactSecrets, resolveMailSettings, transportOptions, type MailSettings } from "../../src/mail/transport.ts";

const mailOf = (lines: string[]): MailConfig => parseConfigText(["[mail]", ...lines, ""].join("\n"), "/r/Config/cncop3.ini", "host1").mail;
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const settingsOf = (lines: string[], files: Record<string, string> = {}): MailSettings =>
  resolveMailSettings(mailOf(lines), "/r", "/r/Config/cncop3.ini", (p) => {
    const text = files[p];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
    return text;
  });

describe("[mail] keys", () => {
  test.each([
    [[], { port: 25, security: undefined, caFile: undefined, timeoutSec: 30, from: "cncopagent@host1" }],
    [["mail_security = TLS"], { port: 465, security: "tls" }],
    [["mail_security = tls", "mail_port = 2465"], { port: 2465, security: "tls" }],
    [["mail_security = starttls", "mail_port = 587"], { port: 587, security: "starttls" }],
    [["mail_ca_file = Config/ca.pem", "mail_timeout = 5"], { caFile: "Config/ca.pem", timeoutSec: 5 }],
  ] as [string[], Partial<MailConfig>][])("%p", (lines, want) => {
    expect(mailOf(lines)).toMatchObject(want);
  });

  test.each([
    [["mail_timeout = 0"], /mail_timeout = "0" is not valid: expected a whole number from 1 to 600/],
    [["mail_timeout = 601"], /from 1 to 600/],
    [["mail_timeout = 5s"], /mail_timeout = "5s"/],
    [["mail_security = ssl"], /mail_security = "ssl" is not valid: expected one of none, starttls, tls/],
  ])("%p is refused", (lines, message) => {
    expect(() => mailOf(lines)).toThrow(message);
  });

  test("no unknown-key warning for the new keys", () => {
    const c = parseConfigText("[mail]\nmail_ca_file = a.pem\nmail_timeout = 9\nmail_colour = red\n", "/f.ini");
    expect(c.warnings).toEqual([expect.stringContaining("unknown key [mail] mail_colour")]);
  });
});

describe("resolveMailSettings: checked before any job runs", () => {
  test("defaults", () => {
    expect(settingsOf(["mail_server = smtp.example.com"])).toEqual({
      host: "smtp.example.com", port: 25, security: undefined, user: undefined, password: undefined, from: "cncopagent@host1", ca: undefined, caFile: undefined, timeoutMs: 30_000,
    });
  });
  test("an IPv6 literal loses its brackets", () => {
    expect(settingsOf(["mail_server = [::1]"]).host).toBe("::1");
  });
  test("mail_ca_file relative to the root, or absolute", () => {
    expect(settingsOf(["mail_server = h", "mail_ca_file = Config/ca.pem"], { "/r/Config/ca.pem": PEM })).toMatchObject({ ca: PEM, caFile: "/r/Config/ca.pem" });
    expect(settingsOf(["mail_server = h", "mail_ca_file = /etc/ca.pem"], { "/etc/ca.pem": PEM })).toMatchObject({ caFile: "/etc/ca.pem" });
  });
  test.each([
    [[], {}, /--email needs a mail server: set mail_server in the \[mail\] section of \/r\/Config\/cncop3\.ini/],
    [["mail_server = h", "mail_user = u"], {}, /mail_user is set but mail_password is not/],
    [["mail_server = h", "mail_ca_file = ca.pem"], {}, /mail_ca_file = "ca.pem": cannot read \/r\/ca\.pem: not found/],
    [["mail_server = h", "mail_ca_file = ca.pem"], { "/r/ca.pem": "hello" }, /holds no PEM certificate/],
  ] as [string[], Record<string, string>, RegExp][])("refused: %p", (lines, files, message) => {
    let err: unknown;
    try {
      settingsOf(lines, files);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CncopError);
    expect((err as CncopError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(message);
  });
});

describe("transportOptions", () => {
  const base = settingsOf(["mail_server = smtp.example.com"]);
  test.each([
    [undefined, { secure: false, ignoreTLS: false, requireTLS: false }, "STARTTLS if offered"],
    ["none", { secure: false, ignoreTLS: true, requireTLS: false }, "plain SMTP"],
    ["starttls", { secure: false, ignoreTLS: false, requireTLS: true }, "STARTTLS required"],
    ["tls", { secure: true, ignoreTLS: false, requireTLS: false }, "TLS"],
  ] as const)("security %p", (security, want, words) => {
    const s = { ...base, security };
    expect(transportOptions(s)).toMatchObject(want);
    expect(describeSecurity(s)).toBe(words);
  });

  test("certificates are always verified; a private CA is added, never verification switched off", () => {
    expect(transportOptions(base).tls).toEqual({ rejectUnauthorized: true, minVersion: "TLSv1.2" });
    expect(transportOptions({ ...base, ca: PEM }).tls).toEqual({ rejectUnauthorized: true, minVersion: "TLSv1.2", ca: [PEM] });
  });

  test("login only when configured, and then insisted on", () => {
    const none = transportOptions(base) as SMTPTransport.Options & { forceAuth?: boolean };
    expect(none.auth).toBeUndefined();
    expect(none.forceAuth).toBeUndefined();
    const withAuth = transportOptions({ ...base, user: "u", password: "p" }) as SMTPTransport.Options & { forceAuth?: boolean };
    expect(withAuth.auth).toEqual({ user: "u", pass: "p" });
    expect(withAuth.forceAuth).toBe(true);
  });

  test.each([
    [30_000, 27_000],
    [1_000, 900],
    [100, 100],
  ])("timeout %d ms: each phase %d ms", (timeoutMs, phase) => {
    expect(transportOptions({ ...base, timeoutMs })).toMatchObject({ connectionTimeout: phase, greetingTimeout: phase, socketTimeout: phase, dnsTimeout: phase });
  });

  test("no file or URL access from message content, no transcript", () => {
    expect(transportOptions(base)).toMatchObject({ disableFileAccess: true, disableUrlAccess: true, logger: false, debug: false });
  });
});

describe("describeMailError", () => {
  const s = { host: "smtp.example.com", port: 587, user: "backup", password: "pa$$word", timeoutMs: 30_000 };
  const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
  test.each([
    ["connect ECONNREFUSED 10.0.0.1:587", "ECONNREFUSED", /^connection refused by smtp\.example\.com:587 \(is the mail server running/],
    ["Failed to connect", "ECONNREFUSED", /^connection refused by/],
    ["getaddrinfo ENOTFOUND smtp.example.com", "ENOTFOUND", /^cannot resolve the mail server name smtp\.example\.com/],
    ["Greeting never received", "ETIMEDOUT", /^timed out \(mail_timeout 30 s\) talking to smtp\.example\.com:587: Greeting never received$/],
    ["Invalid login: 535 5.7.8 Authentication failed", "EAUTH", /^authentication as backup failed at smtp\.example\.com:587: Invalid login: 535/],
    ["Can't send mail - all recipients were rejected: 550 no such user", "EENVELOPE", /^refused by smtp\.example\.com:587: .*550 no such user$/],
    ["Message failed: 554 spam", "EMESSAGE", /^refused by .*554 spam$/],
    ["unable to verify the first certificate", "ESOCKET", /^TLS failure with smtp\.example\.com:587: unable to verify the first certificate \(.*set \[mail\] mail_ca_file/],
    ["Hostname/IP does not match certificate's altnames: Host: x", "ESOCKET", /^TLS failure .*: Host: x \(the certificate is for another name: set mail_server to a name the certificate carries\)$/],
    ["self-signed certificate in certificate chain", "ESOCKET", /^TLS failure .*chain \(the server's certificate is not trusted/],
    ["Error upgrading connection with STARTTLS: 502 5.5.1 Unrecognized command", "ETLS", /^TLS failure .*502.*the server does not do STARTTLS/],
    ["Client network socket disconnected before secure TLS connection was established", "ESOCKET", /^TLS failure with /],
    ["something odd", "EPROTOCOL", /^something odd \(EPROTOCOL\) \[smtp\.example\.com:587\]$/],
    ["a string", undefined, /^a string \[smtp\.example\.com:587\]$/],
  ] as [string, string | undefined, RegExp][])("%#: %s (%s)", (message, code, want) => {
    expect(describeMailError(code === undefined ? message : err(message, code), s)).toMatch(want);
  });

  test("no form of the password survives", () => {
    const b64 = (t: string) => Buffer.from(t).toString("base64");
    const text = describeMailError(err(`Invalid login: 535 pa$$word ${b64("pa$$word")} ${b64("\0backup\0pa$$word")}`, "EAUTH"), s);
    expect(text).toBe("authentication as backup failed at smtp.example.com:587: Invalid login: 535 *** *** ***");
  });
});

test.each([
  ["the password is hunter2", "u", "hunter2", "the password is ***"],
  ["nothing secret", "u", undefined, "nothing secret"],
  ["AUTH PLAIN AHUAaHVudGVyMg==", "u", "hunter2", "AUTH PLAIN ***"],
])("redactSecrets(%p)", (text, user, password, want) => {
  expect(redactSecrets(text, user, password)).toBe(want);
});

describe("deliver: one bounded send", () => {
  const message: JobMessage = { from: "f@example.com", to: ["a@example.com"], subject: "s", text: "t\n", headers: { "X-Cncop-Jobid": "1" } };
  const settings = settingsOf(["mail_server = 127.0.0.1", "mail_timeout = 1"]);

  test("a send that never finishes is given up at the deadline, and the transport closed", async () => {
    let closed = 0;
    let seen: SMTPTransport.Options | undefined;
    const hanging = (options: SMTPTransport.Options): MailTransport => {
      seen = options;
      return { sendMail: () => new Promise(() => {}), close: () => void closed++ };
    };
    const t0 = Date.now();
    const e = await deliver(message, { ...settings, timeoutMs: 50 }, hanging).catch((x: unknown) => x as Error & { code?: string });
    expect(e).toBeInstanceOf(Error);
    expect((e as Error & { code?: string }).code).toBe("ETIMEDOUT");
    expect((e as Error).message).toBe("no connection within 0.05 s");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    expect(closed).toBe(1);
    expect(typeof seen?.getSocket).toBe("function");
    expect(seen?.host).toBe("127.0.0.1");
  });

  test("accepted and refused recipients come back as data", async () => {
    const partial = (): MailTransport => ({
      sendMail: async (m) => {
        expect(m).toEqual({ from: "f@example.com", to: ["a@example.com"], subject: "s", text: "t\n", headers: { "X-Cncop-Jobid": "1" } });
        return Object.assign(
          { envelope: { from: "f@example.com", to: ["a@example.com", "b@example.com"] }, messageId: "<m@x>", accepted: ["a@example.com"], rejected: ["b@example.com"], pending: [], response: "250 queued" },
          { rejectedErrors: [{ recipient: "b@example.com", response: "550 no such user" }] },
        );
      },
      close: () => {},
    });
    expect(await deliver(message, settings, partial)).toEqual({ accepted: ["a@example.com"], rejected: [{ address: "b@example.com", answer: "550 no such user" }], response: "250 queued" });
  });
});
