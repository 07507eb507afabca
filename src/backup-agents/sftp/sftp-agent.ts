/**
 * backupagentsftp (job type SFTP): mirrors a folder of an SSH server over SFTP into a
 * local folder, with a password or a private key, the host key checked against
 * known_hosts. docs/agents-remote.md.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import type { AgentContext } from "../runtime.ts";
import { type AgentResult, earlyResult } from "../agent-result.ts";
import { SettingsError } from "../settings.ts";
import { ExcludeError, makeExcluder } from "../cifs/exclude.ts";
import { LocationError, resolveLocation } from "../cifs/locations.ts";
import { parseRemoteUrl, RemoteUrlError } from "../remote/remote-url.ts";
import { describeSettings, readSftpSettings } from "../remote/remote-settings.ts";
import { runRemoteMirror } from "../remote/remote-agent.ts";
import { sftpConnector } from "./sftp-session.ts";

function readFileOr(path: string, what: string): { text?: string; problem?: string } {
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (err) {
    return { problem: `${what} ${path} cannot be read: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export async function runSftpAgent(ctx: AgentContext, platform: NodeJS.Platform = process.platform): Promise<AgentResult> {
  const { job, log } = ctx;
  try {
    const { settings, warnings } = readSftpSettings(job.settings);
    for (const w of warnings) log.warn(w);
    const url = parseRemoteUrl(job.source, ["sftp"]);
    const destination = resolveLocation(job.destination, "destination", ctx.paths.root, platform);
    const excluder = makeExcluder(settings.exclude, platform);
    const user = settings.user ?? url.user;
    if (!user) return earlyResult("ERROR", "no user: write the source as sftp://user@host/path or set settings.user");
    const password = settings.password ?? url.password;
    let privateKey: Buffer | undefined;
    if (settings.private_key) {
      const key = readFileOr(resolveLocation(settings.private_key, "source", ctx.paths.root, platform), "settings.private_key");
      if (key.problem) return earlyResult("ERROR", key.problem);
      privateKey = Buffer.from(key.text!, "utf8");
    }
    if (!password && !privateKey) return earlyResult("ERROR", "no credentials: set settings.password or settings.private_key");
    const khFile = settings.known_hosts ? resolveLocation(settings.known_hosts, "source", ctx.paths.root, platform) : nodePath.join(os.homedir(), ".ssh", "known_hosts");
    const kh = readFileOr(khFile, settings.known_hosts ? "settings.known_hosts" : "the user's known_hosts");
    if (kh.problem) return earlyResult("ERROR", `${kh.problem}: the server's host key cannot be checked (name a known_hosts file in settings.known_hosts)`);
    log.info(describeSettings(settings));
    log.info(`host key checked against ${khFile}`);
    const label = `sftp://${encodeURIComponent(user)}@${url.host.includes(":") ? `[${url.host}]` : url.host}:${url.port}`;
    const connector = sftpConnector({
      host: url.host,
      port: url.port,
      user,
      password,
      privateKey,
      passphrase: settings.passphrase,
      knownHosts: { text: kh.text!, file: khFile },
      timeoutMs: settings.timeout * 1000,
      label,
    });
    return await runRemoteMirror(ctx, { connector, remotePath: url.path, destination, excluder, settings }, platform);
  } catch (err) {
    if (err instanceof SettingsError || err instanceof ExcludeError || err instanceof LocationError || err instanceof RemoteUrlError) return earlyResult("ERROR", err.message);
    throw err;
  }
}
