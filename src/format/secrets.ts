/**
 * The one masking rule for secrets (SPEC §4, docs/security.md "Masking"): every log,
 * terminal output, report and cncopjobs view shows a secret as `***`.
 *
 * - A key whose name contains pass, pwd, secret, token, key, credential, private, auth,
 *   bearer or cookie (any case, at any depth of `settings`) holds a secret.
 * - URL user information: `scheme://user:PW@host` is shown as `scheme://user:***@host`.
 * - In free text and command lines: options that take a password (`--password=PW`,
 *   `--password PW`, `sshpass -p PW`, `curl -u user:PW`, `smbclient -U user%PW`),
 *   assignments to a secret name (`MYSQL_PWD=PW`, `api_key = PW`, JSON
 *   `"password": "PW"`) and `Bearer PW`.
 *
 * cncopjobs shows such a value as `***` unless `--show-secrets`; a `***` given back (in
 * `set --settings` or an import) means "keep the secret stored now" and is refused where
 * there is none.
 */

const SECRET_WORDS = "pass|pwd|secret|token|key|credential|private|auth|bearer|cookie";
export const SECRET_KEY_RE = new RegExp(SECRET_WORDS, "i");
export const MASK = "***";

/** A value in a command line: quoted as formatCommandLine quotes, or one word. */
const VALUE = `('[^']*'|"[^"]*"|[^\\s'"]+)`;
/**
 * Each rule matches what stays (group 1) and the secret (group 2). Every rule starts
 * where a run of its characters starts (a lookbehind, a blank, a literal), and its
 * repetitions are bounded, so a 1 MB line costs linear time, not quadratic.
 */
const TEXT_RULES: readonly RegExp[] = [
  // scheme://user:PW@host
  /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/@:'"]*:)([^\s/@'"]*)(?=@)/g,
  // sshpass -p PW, sshpass -pPW (after other sshpass options)
  new RegExp(`(\\bsshpass(?:\\s+-[a-oq-zA-Z]\\S*){0,6}\\s+-p\\s*)${VALUE}`, "g"),
  // --password=PW, --password PW, --api-key PW, -password PW
  new RegExp(`((?:^|\\s|['"])--?[A-Za-z0-9_-]*(?:${SECRET_WORDS})[A-Za-z0-9_-]*(?:=|\\s+))(?!-)${VALUE}`, "gi"),
  // curl -u user:PW, --user user:PW, smbclient -U user%PW
  new RegExp(`((?:^|\\s)(?:-u|-U|--user)(?:=|\\s+)['"]?[^\\s:%'"]+[:%])${VALUE}`, "g"),
  // NAME=PW, NAME = PW, where the name is a secret's
  new RegExp(`((?<![A-Za-z0-9_.])[A-Za-z0-9_.]*(?:${SECRET_WORDS})[A-Za-z0-9_.]*\\s*=\\s*)(?![*]{3})${VALUE}`, "gi"),
  // "password": "PW" (JSON)
  new RegExp(`("[^"]*(?:${SECRET_WORDS})[^"]*"\\s*:\\s*")((?:[^"\\\\]|\\\\.)*)(?=")`, "gi"),
  // Authorization: Bearer PW
  /(\bBearer\s+)([^\s'"]+)/gi,
];
const MAYBE_SECRET_RE = new RegExp(`://|${SECRET_WORDS}|-u|-U|--user`, "i");

/**
 * Free text (a log line, a message, a command line, a URL) with every secret it shows by
 * the rules above replaced by `***`; the same string when there is none.
 */
export function maskText(text: string): string {
  if (!MAYBE_SECRET_RE.test(text)) return text;
  let out = text;
  for (const re of TEXT_RULES) out = out.replace(re, `$1${MASK}`);
  return out;
}

/** The secrets that maskText would hide in `text`, quotes taken off. */
export function secretsIn(text: string): string[] {
  if (!MAYBE_SECRET_RE.test(text)) return [];
  const found: string[] = [];
  for (const re of TEXT_RULES) {
    for (const m of text.matchAll(re)) {
      const v = m[2] ?? "";
      found.push(/^(['"]).*\1$/s.test(v) ? v.slice(1, -1) : v);
    }
  }
  return [...new Set(found)].filter((v) => v !== "" && v !== MASK);
}

/** A URL (or any text) with the password of its user information shown as `***`. */
export function maskUrl(text: string): string {
  return text.replace(TEXT_RULES[0]!, `$1${MASK}`);
}

export function isSecretKey(name: string): boolean {
  return SECRET_KEY_RE.test(name);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function hasValue(v: unknown): boolean {
  return v !== null && v !== undefined && v !== "";
}

/**
 * A copy with every secret value replaced by `***` (empty values stay visible as empty),
 * and every other string masked by maskText.
 */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  // A string under any key may still show one (`"ssh": "sshpass -p PW ssh"`).
  if (typeof value === "string") return maskText(value);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) && hasValue(v) ? MASK : maskSecrets(v);
  return out;
}

/** Does the value hold a `***` under a secret key, or a string masked by the text rules? */
export function hasMaskedSecret(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasMaskedSecret);
  if (typeof value === "string") return value.includes(MASK) && maskText(value) === value;
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
    // A string that maskText made from the stored one (`sshpass -p *** ssh`): the stored one.
    if (typeof g === "string") return restoreMaskedText(g, typeof s === "string" ? s : undefined);
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

/** The text fields of a job that may hold a secret (a URL's password, a command's option). */
export const MASKED_JOB_FIELDS = ["prerun", "postsuccess", "postfailure", "source", "destination"] as const;

/**
 * A masked text given back (an export read back in): the stored text it was made from,
 * when masking the stored one gives exactly it; else the text as given.
 */
export function restoreMaskedText(given: string | null | undefined, stored: string | null | undefined): string | null | undefined {
  if (typeof given !== "string" || !given.includes(MASK) || typeof stored !== "string") return given;
  return maskText(stored) === given ? stored : given;
}

/**
 * The secrets a job is known to hold: every value under a secret key of its settings,
 * and what maskText hides in its source, destination and pre/post command lines (with
 * a URL's percent-encoding undone too). Its children's output is cleaned of them.
 */
export function jobSecrets(job: { readonly settings: unknown } & Partial<Record<(typeof MASKED_JOB_FIELDS)[number], string | null | undefined>>): string[] {
  const found: string[] = [];
  const walk = (v: unknown, secret: boolean) => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, secret));
    else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, secret || isSecretKey(k));
    else if (secret && (typeof v === "string" || typeof v === "number") && String(v) !== MASK) found.push(String(v));
    else if (typeof v === "string") found.push(...secretsIn(v));
  };
  walk(job.settings, false);
  for (const f of MASKED_JOB_FIELDS) {
    const text = job[f];
    if (typeof text !== "string") continue;
    for (const s of secretsIn(text)) {
      found.push(s);
      try {
        const decoded = decodeURIComponent(s);
        if (decoded !== s) found.push(decoded);
      } catch {}
    }
  }
  return [...new Set(found)].filter((s) => s.length >= 3);
}
