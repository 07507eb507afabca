/**
 * OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), to check a server's
 * host key: plain and hashed (`|1|salt|hmac`) host names, `[host]:port` for ports other
 * than 22, `*`/`?` wildcards and `!` negations, `@revoked` keys. `@cert-authority` lines
 * are not used (host certificates are not checked). Pure.
 */
import { createHash, createHmac } from "node:crypto";

export interface KnownKey {
  readonly type: string;
  readonly blob: Buffer;
  readonly line: number;
  readonly revoked: boolean;
}

/** `SHA256:<base64 without padding>`, as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type written at the start of a public key blob (`ssh-ed25519`, ...). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString("latin1") : "unknown";
}

function wildcard(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return re.test(name);
}

function hostMatches(field: string, names: readonly string[]): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (!salt || !hash) return false;
    const key = Buffer.from(salt, "base64");
    return names.some((n) => createHmac("sha1", key).update(n).digest("base64") === hash);
  }
  let matched = false;
  for (const p of field.split(",")) {
    if (p.startsWith("!")) {
      if (names.some((n) => wildcard(p.slice(1), n))) return false;
    } else if (names.some((n) => wildcard(p, n))) matched = true;
  }
  return matched;
}

/** The names a host is written under: `host` for port 22, else `[host]:port`. */
export function hostNames(host: string, port: number): string[] {
  return [port === 22 ? host : `[${host}]:${port}`];
}

/** The keys a known_hosts text lists for `host:port`. */
export function keysFor(text: string, host: string, port: number): KnownKey[] {
  const names = hostNames(host, port);
  const out: KnownKey[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    let fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]!.startsWith("@")) {
      if (fields[0] === "@revoked") revoked = true;
      else return;
      fields = fields.slice(1);
    }
    const [hosts, type, b64] = fields;
    if (!hosts || !type || !b64 || !hostMatches(hosts, names)) return;
    const blob = Buffer.from(b64, "base64");
    if (blob.length === 0) return;
    out.push({ type, blob, line: i + 1, revoked });
  });
  return out;
}

export type HostKeyVerdict = { ok: true } | { ok: false; message: string };

/** Is the key the server showed one the file lists for it (and not revoked)? */
export function checkHostKey(text: string, file: string, host: string, port: number, blob: Buffer): HostKeyVerdict {
  const keys = keysFor(text, host, port);
  const type = blobType(blob);
  const fp = fingerprint(blob);
  const shown = `${hostNames(host, port)[0]}`;
  if (keys.some((k) => k.revoked && k.blob.equals(blob))) return { ok: false, message: `the host key of ${shown} (${type} ${fp}) is marked @revoked in ${file}` };
  if (keys.some((k) => !k.revoked && k.blob.equals(blob))) return { ok: true };
  const known = keys.filter((k) => !k.revoked);
  if (known.length > 0) {
    const lines = known.map((k) => `line ${k.line}: ${k.type} ${fingerprint(k.blob)}`).join("; ");
    return {
      ok: false,
      message: `HOST KEY MISMATCH: ${shown} presented ${type} ${fp}, but ${file} lists another key for it (${lines}). Someone may be intercepting the connection, or the server's key was changed: check with the server's administrator before changing ${file}`,
    };
  }
  return {
    ok: false,
    message: `the host key of ${shown} is unknown: ${type} ${fp} is not in ${file}. Check the fingerprint with the server's administrator, then add the key to ${file} (or name another file in settings.known_hosts)`,
  };
}

/** Host key algorithms for ssh2, the types the file knows for this host first. */
export function preferredHostKeyAlgorithms(text: string, host: string, port: number, all: readonly string[]): string[] {
  const types = new Set<string>();
  for (const k of keysFor(text, host, port)) {
    if (k.revoked) continue;
    if (k.type === "ssh-rsa") ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"].forEach((t) => types.add(t));
    else types.add(k.type);
  }
  const first = all.filter((a) => types.has(a));
  return [...first, ...all.filter((a) => !types.has(a))];
}
