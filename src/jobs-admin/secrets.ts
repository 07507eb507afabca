/**
 * Secrets in a job's `settings`: a key whose name contains pass, pwd, secret, token, key,
 * credential or private (any case, at any depth) holds a secret. cncopjobs shows such a
 * value as `***` unless `--show-secrets`; a `***` given back (in `set --settings` or an
 * import) means "keep the secret stored now" and is refused where there is none.
 */

export const SECRET_KEY_RE = /pass|pwd|secret|token|key|credential|private/i;
export const MASK = "***";

export function isSecretKey(name: string): boolean {
  return SECRET_KEY_RE.test(name);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function hasValue(v: unknown): boolean {
  return v !== null && v !== undefined && v !== "";
}

/** A copy with every secret value replaced by `***` (empty values stay visible as empty). */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) && hasValue(v) ? MASK : maskSecrets(v);
  return out;
}

/** Does the value hold a `***` under a secret key? */
export function hasMaskedSecret(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasMaskedSecret);
  if (!isPlainObject(value)) return false;
  return Object.entries(value).some(([k, v]) => (isSecretKey(k) && v === MASK) || hasMaskedSecret(v));
}

export type RestoreResult = { ok: true; value: unknown } | { ok: false; paths: string[] };

/**
 * Put back the stored secret for every `***` under a secret key, matching by key path;
 * the paths that have no stored secret are returned as errors.
 */
export function restoreMaskedSecrets(given: unknown, stored: unknown, at = "settings"): RestoreResult {
  const missing: string[] = [];
  const walk = (g: unknown, s: unknown, path: string): unknown => {
    if (Array.isArray(g)) return g.map((item, i) => walk(item, Array.isArray(s) ? s[i] : undefined, `${path}[${i}]`));
    if (!isPlainObject(g)) return g;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(g)) {
      const old = isPlainObject(s) ? s[k] : undefined;
      const here = `${path}.${k}`;
      if (isSecretKey(k) && v === MASK) {
        if (hasValue(old) && old !== MASK) out[k] = old;
        else missing.push(here);
      } else out[k] = walk(v, old, here);
    }
    return out;
  };
  const value = walk(given, stored, at);
  return missing.length > 0 ? { ok: false, paths: missing } : { ok: true, value };
}
