/**
 * Settings of the remote agents (docs/agents-remote.md): secrets and trust (SPEC §9) and
 * how to mirror. One schema per agent, so a key the agent does not use is a warning.
 */
import { readBoolean, readNumber, readSecret, readSettings, readString, readStringList, type SettingsSchema } from "../settings.ts";

export interface MirrorSettings {
  readonly user: string | undefined;
  readonly exclude: readonly string[];
  /** Remove local files the server no longer has. Default false: kept. */
  readonly delete: boolean;
  /** Files transferred at once (FTP: connections; SFTP: files over one connection). */
  readonly parallel: number;
  /** Seconds to connect, log in, or wait for any answer. */
  readonly timeout: number;
  /** Continue a file an interrupted run left half-fetched. */
  readonly resume: boolean;
  /** Seconds two modification times may differ and still count as equal. */
  readonly modify_window: number;
}

export interface FtpSettings extends MirrorSettings {
  readonly password: string | undefined;
  readonly ca_file: string | undefined;
}

export interface SftpSettings extends MirrorSettings {
  readonly password: string | undefined;
  readonly private_key: string | undefined;
  readonly passphrase: string | undefined;
  readonly known_hosts: string | undefined;
}

export const MAX_PARALLEL = 16;

const MIRROR_DEFAULTS: MirrorSettings = { user: undefined, exclude: [], delete: false, parallel: 4, timeout: 30, resume: true, modify_window: 0 };
const MIRROR_SCHEMA: SettingsSchema<MirrorSettings> = {
  user: readString,
  exclude: readStringList,
  delete: readBoolean,
  parallel: readNumber(1, MAX_PARALLEL, true),
  timeout: readNumber(1, 3600, true),
  resume: readBoolean,
  modify_window: readNumber(0, 86_400),
};

export function readFtpSettings(raw: Readonly<Record<string, unknown>>): { settings: FtpSettings; warnings: string[] } {
  return readSettings<FtpSettings>(raw, { ...MIRROR_SCHEMA, password: readSecret, ca_file: readString }, { ...MIRROR_DEFAULTS, password: undefined, ca_file: undefined });
}

export function readSftpSettings(raw: Readonly<Record<string, unknown>>): { settings: SftpSettings; warnings: string[] } {
  return readSettings<SftpSettings>(
    raw,
    { ...MIRROR_SCHEMA, password: readSecret, private_key: readString, passphrase: readSecret, known_hosts: readString },
    { ...MIRROR_DEFAULTS, password: undefined, private_key: undefined, passphrase: undefined, known_hosts: undefined },
  );
}

/** The settings as a log line: no secret, only whether one is set. */
export function describeSettings(s: MirrorSettings & Partial<Record<"password" | "passphrase" | "private_key" | "known_hosts" | "ca_file", string>>): string {
  const parts = [
    `exclude ${JSON.stringify(s.exclude)}`,
    `delete ${s.delete}`,
    `parallel ${s.parallel}`,
    `timeout ${s.timeout} s`,
    `resume ${s.resume}`,
    `modify_window ${s.modify_window} s`,
  ];
  if ("password" in s) parts.push(`password ${s.password ? "set" : "none"}`);
  if ("passphrase" in s) parts.push(`passphrase ${s.passphrase ? "set" : "none"}`);
  if (s.private_key) parts.push(`private_key ${s.private_key}`);
  if (s.known_hosts) parts.push(`known_hosts ${s.known_hosts}`);
  if (s.ca_file) parts.push(`ca_file ${s.ca_file}`);
  return `settings: ${parts.join(", ")}`;
}
