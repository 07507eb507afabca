/**
 * `Config/cncop3.ini` (SPEC §3): read line by line as strictly as Python's configparser
 * (scanIniLines: a malformed line, a key or section given twice, a `#`/`;` inside an
 * unquoted value are errors naming the line), quoted values unquoted by `ini`, files over
 * 1 MiB refused before they are read. Every value is then coerced and validated into one
 * frozen, typed object; values quoted in messages are cut to MAX_ECHO_CHARS.
 */
import { readFileSync, statSync } from "node:fs";
import os from "node:os";
import { maskUrl } from "../format/secrets.ts";
import { echoed, MAX_CONFIG_BYTES, type RawSections, scanIniLines } from "./ini-lines.ts";
import { CncopError, EXIT, errnoCode } from "../cli/errors.ts";
import { isValidJobTypeName, isValidAgentName } from "./job-types.ts";

export type Role = "LOCAL" | "REMOTE";
export type MailSecurity = "none" | "starttls" | "tls";

export interface MailConfig {
  readonly server: string | undefined;
  readonly port: number;
  /** undefined: STARTTLS when the server offers it. */
  readonly security: MailSecurity | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly from: string;
  /** A PEM file of a private CA that signs the server's certificate, resolved against the root. */
  readonly caFile: string | undefined;
  /** Seconds one whole send (connect, TLS, login, delivery) may take. */
  readonly timeoutSec: number;
}

export interface NetworkConfig {
  readonly url: string | undefined;
  readonly apiKey: string | undefined;
  /** A PEM file of a private CA for HTTPS, resolved against the root. */
  readonly caFile: string | undefined;
  /** Seconds one request may take. */
  readonly timeoutSec: number;
}

export interface Config {
  readonly file: string;
  readonly daysOfLogs: number;
  readonly role: Role;
  readonly commandTimeoutSec: number;
  /** `[agents]` entries: upper-case job type -> agent program names in `Bin/`. */
  readonly agents: Readonly<Record<string, readonly string[]>>;
  readonly mail: MailConfig;
  readonly network: NetworkConfig;
  /** Unknown keys and sections, as messages. */
  readonly warnings: readonly string[];
}

export const DEFAULT_DAYS_OF_LOGS = 90;
export const DEFAULT_COMMAND_TIMEOUT_SEC = 3600;
export const DEFAULT_NETWORK_TIMEOUT_SEC = 30;
export const DEFAULT_MAIL_TIMEOUT_SEC = 30;
export const MAX_MAIL_TIMEOUT_SEC = 600;
const MAX_DAYS_OF_LOGS = 36_500;
const MAX_COMMAND_TIMEOUT_SEC = 7 * 24 * 3600;

const KNOWN_KEYS: Record<string, readonly string[] | null> = {
  defaults: ["days_of_logs", "role", "command_timeout"],
  agents: null, // any job type name
  mail: ["mail_server", "mail_port", "mail_security", "mail_user", "mail_password", "mail_from", "mail_ca_file", "mail_timeout"],
  network: ["url", "api_key", "ca_file", "timeout"],
};


export function parseIniText(text: string, file: string): RawSections {
  return scanIniLines(text, file);
}

class Reader {
  constructor(
    readonly file: string,
    readonly raw: RawSections,
  ) {}

  get(section: string, key: string): string | undefined {
    const v = this.raw[section]?.[key];
    return v === undefined || v === "" ? undefined : v;
  }

  bad(section: string, key: string, value: string, allowed: string): CncopError {
    return new CncopError(`${this.file}: [${section}] ${echoed(key)} = "${echoed(value)}" is not valid: ${allowed}.`, EXIT.USAGE);
  }

  int(section: string, key: string, dflt: number, min: number, max: number): number {
    const v = this.get(section, key);
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw this.bad(section, key, v, `expected a whole number from ${min} to ${max}`);
    }
    return Number(v);
  }

  oneOf<T extends string>(section: string, key: string, allowed: readonly T[], caseFold: (s: string) => string): T | undefined {
    const v = this.get(section, key);
    if (v === undefined) return undefined;
    const norm = caseFold(v);
    const hit = allowed.find((a) => a === norm);
    if (!hit) throw this.bad(section, key, v, `expected one of ${allowed.join(", ")}`);
    return hit;
  }
}

// An address as users type one: dot-atom local part, host name (or [IPv4]) domain. A
// single-label domain (root@localhost) is allowed; quoted local parts and display names are not.
const LOCAL_PART_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL_RE = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;
const IPV4_LITERAL_RE = /^\[(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\]$/;
export function isValidEmailAddress(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf("@");
  if (at <= 0) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART_RE.test(local)) return false;
  if (IPV4_LITERAL_RE.test(domain)) return true;
  return domain.length > 0 && domain.split(".").every((label) => DOMAIN_LABEL_RE.test(label));
}

export function parseConfigText(text: string, file: string, hostname = os.hostname()): Config {
  const raw = parseIniText(text, file);
  const r = new Reader(file, raw);
  const warnings: string[] = [];
  for (const [section, keys] of Object.entries(raw)) {
    const known = KNOWN_KEYS[section];
    if (known === undefined) {
      warnings.push(`${file}: unknown section [${echoed(section)}] ignored (known: ${Object.keys(KNOWN_KEYS).join(", ")}).`);
      continue;
    }
    if (known === null) continue;
    for (const key of Object.keys(keys)) {
      if (!known.includes(key)) warnings.push(`${file}: unknown key [${section}] ${echoed(key)} ignored (known: ${known.join(", ")}).`);
    }
  }

  const daysOfLogs = r.int("defaults", "days_of_logs", DEFAULT_DAYS_OF_LOGS, 0, MAX_DAYS_OF_LOGS);
  const role = r.oneOf("defaults", "role", ["LOCAL", "REMOTE"] as const, (s) => s.toUpperCase()) ?? "LOCAL";
  const commandTimeoutSec = r.int("defaults", "command_timeout", DEFAULT_COMMAND_TIMEOUT_SEC, 1, MAX_COMMAND_TIMEOUT_SEC);

  const agents: Record<string, string[]> = {};
  for (const [type, value] of Object.entries(raw.agents ?? {})) {
    if (!isValidJobTypeName(type)) {
      throw r.bad("agents", type, value, "the key must be a job type name of letters, digits, '_' or '-' (at most 32)");
    }
    const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (names.length === 0 || names.length > 4 || !names.every(isValidAgentName)) {
      throw r.bad("agents", type, value, "expected the name of a program in Bin/ (letters, digits, '.', '_', '-'; no path), or a comma-separated list of up to 4");
    }
    agents[type.toUpperCase()] = names;
  }

  const security = r.oneOf("mail", "mail_security", ["none", "starttls", "tls"] as const, (s) => s.toLowerCase());
  const server = r.get("mail", "mail_server");
  if (server !== undefined && !/^[A-Za-z0-9.\-:\[\]]+$/.test(server)) {
    throw r.bad("mail", "mail_server", server, "expected a host name or IP address");
  }
  const port = r.int("mail", "mail_port", security === "tls" ? 465 : 25, 1, 65535);
  const from = r.get("mail", "mail_from") ?? `cncopagent@${hostname}`;
  if (r.get("mail", "mail_from") !== undefined && !isValidEmailAddress(from)) {
    throw r.bad("mail", "mail_from", from, "expected an email address such as backup@example.com");
  }
  const user = r.get("mail", "mail_user");
  const password = r.get("mail", "mail_password");
  const mailCaFile = r.get("mail", "mail_ca_file");
  const mailTimeout = r.int("mail", "mail_timeout", DEFAULT_MAIL_TIMEOUT_SEC, 1, MAX_MAIL_TIMEOUT_SEC);
  if (password !== undefined && user === undefined) {
    throw new CncopError(`${file}: [mail] mail_password is set but mail_user is not: set both for SMTP authentication.`, EXIT.USAGE);
  }

  const url = r.get("network", "url");
  if (url !== undefined) {
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
      ok = false;
    }
    if (!ok) throw r.bad("network", "url", url, "expected an http:// or https:// URL such as https://reports.example.com/api");
  }
  const apiKey = r.get("network", "api_key");
  if (url !== undefined && apiKey !== undefined && /^http:/i.test(url)) {
    warnings.push(`${file}: [network] url is plain http:// (${echoed(maskUrl(url))}): the api_key travels in clear text with every report. Use an https:// URL.`);
  }
  if (user !== undefined && security === "none") {
    warnings.push(`${file}: [mail] mail_security = none with mail_user set: the SMTP password travels in clear text. Use starttls or tls.`);
  } else if (user !== undefined && security === undefined) {
    warnings.push(`${file}: [mail] mail_user is set and mail_security is not: a server that does not offer STARTTLS gets the password in clear text. Set mail_security = starttls (or tls).`);
  }
  const caFile = r.get("network", "ca_file");
  const networkTimeout = r.int("network", "timeout", DEFAULT_NETWORK_TIMEOUT_SEC, 1, 3600);

  return Object.freeze({
    file,
    daysOfLogs,
    role,
    commandTimeoutSec,
    agents: Object.freeze(agents),
    mail: Object.freeze({ server, port, security, user, password, from, caFile: mailCaFile, timeoutSec: mailTimeout }),
    network: Object.freeze({ url: url?.replace(/\/+$/, ""), apiKey, caFile, timeoutSec: networkTimeout }),
    warnings: Object.freeze(warnings),
  });
}

/** Read and validate the config file; a missing or unreadable file is a clear exit-2 error. */
export function loadConfig(file: string, hostname = os.hostname()): Config {
  let text: string;
  try {
    // Refused before it is read: a huge file must not take the memory of its size.
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) {
      throw new CncopError(`Configuration file ${file} is ${size} bytes: a configuration file over 1 MiB (${MAX_CONFIG_BYTES} bytes) is refused.`, EXIT.USAGE);
    }
    text = readFileSync(file, "utf8");
    if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new CncopError(`Configuration file ${file} grew over 1 MiB while it was read: refused.`, EXIT.USAGE);
  } catch (err) {
    if (err instanceof CncopError) throw err;
    const code = errnoCode(err);
    if (code === "ENOENT") {
      throw new CncopError(
        `Configuration file ${file} not found. Create it (a sample with every key is Config/cncop3.ini in the distribution), or pass -c CONFIG.`,
        EXIT.USAGE,
      );
    }
    if (code === "EISDIR") throw new CncopError(`Configuration file ${file} is a folder, not a file.`, EXIT.USAGE);
    throw new CncopError(`Cannot read configuration file ${file}: ${(err as Error).message}.`, EXIT.USAGE);
  }
  if (text.includes("\u0000")) throw new CncopError(`Configuration file ${file} is not a text file (it contains NUL bytes).`, EXIT.USAGE);
  return parseConfigText(text, file, hostname);
}
export { echoed, MAX_CONFIG_BYTES, MAX_ECHO_CHARS, scanIniLines } from "./ini-lines.ts";
