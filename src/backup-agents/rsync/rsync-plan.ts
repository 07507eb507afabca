/**
 * The rsync command of a job, as data: a pure function of the job, its settings and the
 * environment, so tests (and -d) can look at it. The password never enters the argv:
 * it goes to rsync through RSYNC_PASSWORD.
 *
 * Endpoints: `rsync://host[:port]/module/path` and `host::module/path` are daemons;
 * `[user@]host:path` goes over ssh (or settings.ssh); anything else is a local path,
 * relative ones taken from the cncop root. The source gets a trailing `/`, so its
 * contents land in the destination (as with backupagentcifs).
 */
import nodePath from "node:path";
import { readNumber, readSecret, readSettings, readString, readStringList, readBoolean, SettingsError, type SettingsSchema } from "../settings.ts";

export interface RsyncSettings {
  /** The rsync program: a full path, or a name looked up on PATH. Default "rsync". */
  readonly rsync: string;
  /** Password for an rsync:// daemon (RSYNC_PASSWORD). */
  readonly password: string | undefined;
  readonly delete: boolean;
  readonly exclude: readonly string[];
  /** Further rsync options, one argument each, e.g. ["--compress", "--hard-links"]. */
  readonly options: readonly string[];
  /** Remote shell for host:path, e.g. "ssh -p 2222 -i /root/.ssh/backup". */
  readonly ssh: string | undefined;
  /** I/O timeout in seconds (--timeout); undefined: 600 for remote transfers, none for local. */
  readonly timeout: number | undefined;
  /** Seconds to wait for a daemon to answer (--contimeout). */
  readonly contimeout: number;
  /** KiB per second (--bwlimit); 0: no limit. */
  readonly bwlimit: number;
}

export const RSYNC_DEFAULTS: RsyncSettings = Object.freeze({
  rsync: "rsync", password: undefined, delete: false, exclude: [], options: [], ssh: undefined, timeout: undefined, contimeout: 60, bwlimit: 0,
});
export const REMOTE_TIMEOUT_SEC = 600;

const SCHEMA: SettingsSchema<RsyncSettings> = {
  rsync: readString,
  password: readSecret,
  delete: readBoolean,
  exclude: readStringList,
  options: readStringList,
  ssh: readString,
  timeout: readNumber(0, 86_400, true),
  contimeout: readNumber(1, 3600, true),
  bwlimit: readNumber(0, 100_000_000, true),
};

export function readRsyncSettings(raw: Readonly<Record<string, unknown>>): { settings: RsyncSettings; warnings: string[] } {
  const r = readSettings(raw, SCHEMA, RSYNC_DEFAULTS);
  for (const o of r.settings.options) {
    if (!o.startsWith("-")) {
      throw new SettingsError(`settings.options: ${JSON.stringify(o)} is not an option; give values joined to their option (["--max-size=1G"]); source and destination are set with cncopjobs set JOB --source, --destination`);
    }
    if (/^--(daemon|server|sender|config)(=|$)/.test(o)) throw new SettingsError(`settings.options: ${JSON.stringify(o)} cannot be used by the agent`);
  }
  return r;
}

export type EndpointKind = "local" | "ssh" | "daemon";

export function endpointKind(text: string): EndpointKind {
  if (/^rsync:\/\//i.test(text)) return "daemon";
  if (/^[A-Za-z]:[\\/]/.test(text)) return "local"; // C:\ on Windows
  const colon = text.indexOf(":");
  const slash = text.indexOf("/");
  if (colon > 0 && (slash === -1 || colon < slash)) return text.slice(colon, colon + 2) === "::" ? "daemon" : "ssh";
  return "local";
}

export class EndpointError extends Error {}

/** The endpoint as rsync gets it; a source gets its trailing `/`. */
export function endpointArg(text: string | undefined, what: "source" | "destination", root: string, path: typeof nodePath.posix = nodePath): { arg: string; kind: EndpointKind } {
  const raw = (text ?? "").trim();
  if (raw === "") throw new EndpointError(`the job has no ${what}: set it to a path, host:path or rsync://host/module/path`);
  if (/[\0\r\n]/.test(raw)) throw new EndpointError(`the ${what} holds a line break or NUL`);
  const kind = endpointKind(raw);
  let arg = kind === "local" ? path.resolve(root, raw) : raw;
  if (kind === "daemon") {
    const m = /^rsync:\/\/[^/]+\/([^/]+)/i.exec(arg) ?? /^[^:]+::([^/]+)/.exec(arg);
    if (!m) throw new EndpointError(`the ${what} ${raw} names no module: write rsync://host/module/path or host::module/path`);
  }
  if (what === "source" && !arg.endsWith("/") && !(kind === "ssh" && arg.endsWith(":"))) arg += "/";
  return { arg, kind };
}

/**
 * `rsync://user:PW@host/...` without its password, and the password (percent-decoding
 * undone): rsync gets it through RSYNC_PASSWORD, never on its command line, where every
 * user of the machine could read it in `ps`.
 */
export function withoutUrlPassword(text: string | undefined): { text: string | undefined; password: string | undefined } {
  const m = text === undefined ? null : /^(rsync:\/\/[^/@:]*):([^/@]*)@/i.exec(text);
  if (!m || text === undefined) return { text, password: undefined };
  let password = m[2]!;
  try {
    password = decodeURIComponent(password);
  } catch {}
  return { text: `${m[1]}@${text.slice(m[0].length)}`, password };
}

export interface RsyncPlanInput {
  readonly program: string;
  readonly source: string | undefined;
  readonly destination: string | undefined;
  readonly settings: RsyncSettings;
  readonly root: string;
  readonly debug: boolean;
  readonly dryrun: boolean;
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
}

export interface RsyncPlan {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly source: { arg: string; kind: EndpointKind };
  readonly destination: { arg: string; kind: EndpointKind };
}

export function planRsync(input: RsyncPlanInput): RsyncPlan {
  const s = input.settings;
  const src = withoutUrlPassword(input.source);
  const dst = withoutUrlPassword(input.destination);
  const source = endpointArg(src.text, "source", input.root);
  const destination = endpointArg(dst.text, "destination", input.root);
  if (source.kind !== "local" && destination.kind !== "local") throw new EndpointError("rsync copies between a local path and a remote one, or two local paths: source and destination are both remote");
  const remote = source.kind !== "local" || destination.kind !== "local";
  const daemon = source.kind === "daemon" || destination.kind === "daemon";
  const argv = [input.program, "--archive", "--stats"];
  if (s.delete) argv.push("--delete");
  for (const e of s.exclude) argv.push(`--exclude=${e}`);
  if (s.ssh && remote && !daemon) argv.push("--rsh", s.ssh);
  const timeout = s.timeout ?? (remote ? REMOTE_TIMEOUT_SEC : 0);
  if (timeout > 0) argv.push(`--timeout=${timeout}`);
  if (daemon) argv.push(`--contimeout=${s.contimeout}`);
  if (s.bwlimit > 0) argv.push(`--bwlimit=${s.bwlimit}`);
  if (input.dryrun) argv.push("--dry-run", "--itemize-changes");
  else if (input.debug) argv.push("--itemize-changes");
  argv.push(...s.options, "--", source.arg, destination.arg);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.baseEnv)) if (v !== undefined) env[k] = v;
  // settings.password first; else the password the URL held.
  const password = s.password ?? src.password ?? dst.password;
  if (password !== undefined && daemon) env.RSYNC_PASSWORD = password;
  return { argv, env, source, destination };
}
