/**
 * `[mail]` turned into SMTP settings and nodemailer options (pure), and send failures
 * turned into words with no secret in them.
 *
 * Security: `none` never upgrades (ignoreTLS), `starttls` insists on it (requireTLS),
 * `tls` is TLS from the first byte, unset takes STARTTLS when the server offers it. Any
 * TLS is verified; a private CA is trusted through `mail_ca_file`, never by switching
 * verification off.
 */
import { readFileSync } from "node:fs";
import nodePath from "node:path";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import type { MailConfig, MailSecurity } from "../install/config.ts";
import { CncopError, EXIT, errnoCode } from "../cli/errors.ts";

export interface MailSettings {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly security: MailSecurity | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly from: string;
  /** PEM text of the private CA, and the file it came from. */
  readonly ca: string | undefined;
  readonly caFile: string | undefined;
  readonly timeoutMs: number;
}

/**
 * Check `[mail]` for `--email` before any job runs: a missing server, a password-less user
 * or an unreadable CA file is a configuration error (exit 2).
 */
export function resolveMailSettings(mail: MailConfig, root: string, configFile: string, readFile: (path: string) => string = (p) => readFileSync(p, "utf8")): MailSettings {
  if (!mail.server) {
    throw new CncopError(`--email needs a mail server: set mail_server in the [mail] section of ${configFile}.`, EXIT.USAGE);
  }
  if (mail.user !== undefined && mail.password === undefined) {
    throw new CncopError(`${configFile}: [mail] mail_user is set but mail_password is not: set both for SMTP authentication, or neither.`, EXIT.USAGE);
  }
  let ca: string | undefined;
  let caFile: string | undefined;
  if (mail.caFile !== undefined) {
    caFile = nodePath.resolve(root, mail.caFile);
    try {
      ca = readFile(caFile);
    } catch (err) {
      const why = errnoCode(err) === "ENOENT" ? "not found" : (err as Error).message;
      throw new CncopError(`${configFile}: [mail] mail_ca_file = "${mail.caFile}": cannot read ${caFile}: ${why}. Give the PEM file of the CA that signs the mail server's certificate (relative to ${root}).`, EXIT.USAGE);
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(ca)) {
      throw new CncopError(`${configFile}: [mail] mail_ca_file = "${mail.caFile}": ${caFile} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line).`, EXIT.USAGE);
    }
  }
  return {
    host: mail.server.replace(/^\[(.*)\]$/, "$1"),
    port: mail.port,
    security: mail.security,
    user: mail.user,
    password: mail.password,
    from: mail.from,
    ca,
    caFile,
    timeoutMs: mail.timeoutSec * 1000,
  };
}

export function describeSecurity(s: Pick<MailSettings, "security">): string {
  switch (s.security) {
    case "none":
      return "plain SMTP";
    case "starttls":
      return "STARTTLS required";
    case "tls":
      return "TLS";
    default:
      return "STARTTLS if offered";
  }
}

/**
 * nodemailer SMTP options for these settings (without the socket hook). Each phase may take
 * 90% of `mail_timeout`, so its own, more telling error (no greeting, no answer) comes
 * before the overall deadline of the send, which is the bound that always holds.
 */
export function transportOptions(s: MailSettings): SMTPTransport.Options {
  const phaseMs = Math.max(100, Math.floor(s.timeoutMs * 0.9));
  const options: SMTPTransport.Options & { forceAuth?: boolean } = {
    host: s.host,
    port: s.port,
    secure: s.security === "tls",
    ignoreTLS: s.security === "none",
    requireTLS: s.security === "starttls",
    tls: { rejectUnauthorized: true, minVersion: "TLSv1.2", ...(s.ca !== undefined ? { ca: [s.ca] } : {}) },
    connectionTimeout: phaseMs,
    greetingTimeout: phaseMs,
    socketTimeout: phaseMs,
    dnsTimeout: phaseMs,
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  if (s.user !== undefined) {
    options.auth = { user: s.user, pass: s.password ?? "" };
    // Credentials were configured: a server that does not offer AUTH is an error, not a
    // reason to send without logging in.
    options.forceAuth = true;
  }
  return options;
}

/** Every form a password can take on the wire (itself, base64 alone, AUTH PLAIN). */
function secretForms(user: string | undefined, password: string | undefined): string[] {
  if (!password) return [];
  const b64 = (t: string) => Buffer.from(t, "utf8").toString("base64");
  const forms = [password, b64(password)];
  if (user !== undefined) forms.push(b64(`\u0000${user}\u0000${password}`), b64(`${user}\u0000${user}\u0000${password}`));
  return forms.sort((a, b) => b.length - a.length);
}

export function redactSecrets(text: string, user: string | undefined, password: string | undefined): string {
  let out = text;
  for (const f of secretForms(user, password)) out = out.split(f).join("***");
  return out;
}

const TLS_RE = /certificate|self[- ]signed|altname|does not match|\bTLS\b|\bSSL\b|handshake|wrong version number|STARTTLS/i;
const NAME_RE = /altname|does not match/i;
const TRUST_RE = /certificate|self[- ]signed/i;

/** A send failure in words: what went wrong, the server's answer, what to do; no secret. */
export function describeMailError(err: unknown, s: Pick<MailSettings, "host" | "port" | "user" | "password" | "timeoutMs">): string {
  const e = (err ?? {}) as { message?: unknown; code?: unknown; syscall?: unknown };
  const message = String(e.message ?? err).replace(/\s+/g, " ").trim();
  const code = typeof e.code === "string" ? e.code : "";
  const where = `${s.host}:${s.port}`;
  const refused = `connection refused by ${where} (is the mail server running, and is mail_port right?)`;
  const timedOut = `timed out (mail_timeout ${s.timeoutMs / 1000} s) talking to ${where}: ${message}`;
  const tls = () => {
    let hint = "";
    if (NAME_RE.test(message)) hint = " (the certificate is for another name: set mail_server to a name the certificate carries)";
    else if (TRUST_RE.test(message)) hint = " (the server's certificate is not trusted: set [mail] mail_ca_file to the CA that signs it)";
    else if (/upgrading connection with STARTTLS/i.test(message)) hint = " (the server does not do STARTTLS: set mail_security = tls with its TLS port, or none)";
    return `TLS failure with ${where}: ${message}${hint}`;
  };
  let text: string;
  if (code === "ECONNREFUSED") text = refused;
  else if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EDNS") text = `cannot resolve the mail server name ${s.host}: ${message}`;
  else if (code === "ETIMEDOUT") text = timedOut;
  else if (code === "EAUTH") text = `authentication${s.user !== undefined ? ` as ${s.user}` : ""} failed at ${where}: ${message}`;
  else if (code === "EENVELOPE" || code === "EMESSAGE") text = `refused by ${where}: ${message}`;
  else if (code === "ETLS") text = tls();
  else if (/ECONNREFUSED|connection refused/i.test(message)) text = refused;
  else if (/timed? ?out|never received/i.test(message)) text = timedOut;
  else if (TLS_RE.test(message)) text = tls();
  else text = `${message}${code && !message.includes(code) ? ` (${code})` : ""} [${where}]`;
  return redactSecrets(text, s.user, s.password);
}
