/**
 * The `source` of a remote job (SPEC §9): `ftp://[user@]host[:port]/path`,
 * `ftps://[user@]host[:port]/path` (implicit TLS, port 990 by default) or
 * `sftp://[user@]host[:port]/path`. Pure. A password in the URL is accepted (it is shown
 * as `***` everywhere) but `settings.password` is the place for it.
 */
export type RemoteScheme = "ftp" | "ftps" | "sftp";

export interface RemoteUrl {
  readonly scheme: RemoteScheme;
  readonly host: string;
  readonly port: number;
  /** Absolute remote path, `/` separated, no trailing `/` (except the root itself). */
  readonly path: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** `scheme://[user@]host:port/path`, without the password: for messages. */
  readonly shown: string;
}

export class RemoteUrlError extends Error {}

const DEFAULT_PORT: Record<RemoteScheme, number> = { ftp: 21, ftps: 990, sftp: 22 };

export function parseRemoteUrl(text: string | undefined, allowed: readonly RemoteScheme[]): RemoteUrl {
  const raw = (text ?? "").trim();
  const forms = allowed.map((s) => `${s}://host[:port]/path`).join(" or ");
  if (raw === "") throw new RemoteUrlError(`the job has no source: set it to ${forms}`);
  if (/[\0-\x1f\x7f]/.test(raw)) throw new RemoteUrlError("the source holds a line break or control character");
  const m = /^([a-z]+):\/\/(?:([^@/]*)@)?(\[[0-9a-f:.]+\]|[^/:@\[\]]+)(?::(\d{1,5}))?(\/.*)?$/i.exec(raw);
  const scheme = m?.[1]?.toLowerCase() as RemoteScheme | undefined;
  if (!m || !scheme || !allowed.includes(scheme)) {
    throw new RemoteUrlError(`the source ${shownOf(raw)} is not a URL this job type takes: write it as ${forms}`);
  }
  const port = m[4] === undefined ? DEFAULT_PORT[scheme] : Number(m[4]);
  if (port < 1 || port > 65535) throw new RemoteUrlError(`the source's port ${m[4]} is not a port number (1 to 65535)`);
  let user: string | undefined;
  let password: string | undefined;
  if (m[2] !== undefined && m[2] !== "") {
    const colon = m[2].indexOf(":");
    const rawUser = colon < 0 ? m[2] : m[2].slice(0, colon);
    user = decode(rawUser, "user name");
    if (colon >= 0) password = decode(m[2].slice(colon + 1), "password");
    if (user === "") user = undefined;
  }
  const host = m[3]!.replace(/^\[|\]$/g, "");
  let path = decode(m[5] ?? "/", "path");
  if (/[\r\n\0]/.test(path)) throw new RemoteUrlError("the source's path holds a line break or NUL");
  path = `/${path.split("/").filter((p) => p !== "" && p !== ".").join("/")}`;
  if (path.split("/").includes("..")) throw new RemoteUrlError("the source's path holds '..': give the folder itself");
  const hostShown = host.includes(":") ? `[${host}]` : host;
  return { scheme, host, port, path, user, password, shown: `${scheme}://${user ? `${encodeURIComponent(user)}@` : ""}${hostShown}:${port}${path}` };
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RemoteUrlError(`the source's ${what} has a bad %-escape`);
  }
}

/** The URL with any password replaced by `***`. */
export function shownOf(raw: string): string {
  return raw.replace(/^([a-z]+:\/\/[^@/:]*):[^@/]*@/i, "$1:***@");
}

/** A remote child path: `dir` joined with one name. */
export function remoteChild(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}
