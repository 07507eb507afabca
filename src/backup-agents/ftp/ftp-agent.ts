/**
 * backupagentftp (job types FTP and FTPS): mirrors a folder of an FTP server into a
 * local folder. FTP jobs use plain FTP on ftp:// URLs; FTPS jobs explicit TLS (AUTH TLS)
 * on ftp:// URLs and implicit TLS on ftps:// URLs, never plain. docs/agents-remote.md.
 */
import { readFileSync } from "node:fs";
import type { AgentContext } from "../runtime.ts";
import { type AgentResult, earlyResult } from "../agent-result.ts";
import { SettingsError } from "../settings.ts";
import { ExcludeError, makeExcluder } from "../cifs/exclude.ts";
import { LocationError, resolveLocation } from "../cifs/locations.ts";
import { parseRemoteUrl, RemoteUrlError } from "../remote/remote-url.ts";
import { describeSettings, readFtpSettings } from "../remote/remote-settings.ts";
import { runRemoteMirror } from "../remote/remote-agent.ts";
import { ftpConnector } from "./ftp-session.ts";

export async function runFtpAgent(ctx: AgentContext, platform: NodeJS.Platform = process.platform): Promise<AgentResult> {
  const { job, log } = ctx;
  const type = job.jobtype.toUpperCase();
  try {
    const { settings, warnings } = readFtpSettings(job.settings);
    for (const w of warnings) log.warn(w);
    const url = parseRemoteUrl(job.source, ["ftp", "ftps"]);
    const tls = url.scheme === "ftps" ? "implicit" : type === "FTP" ? "none" : "explicit";
    const destination = resolveLocation(job.destination, "destination", ctx.paths.root, platform);
    const excluder = makeExcluder(settings.exclude, platform);
    let ca: string | undefined;
    if (settings.ca_file) {
      try {
        ca = readFileSync(resolveLocation(settings.ca_file, "destination", ctx.paths.root, platform), "utf8");
      } catch (err) {
        return earlyResult("ERROR", `settings.ca_file ${settings.ca_file} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const user = settings.user ?? url.user ?? "anonymous";
    const password = settings.password ?? url.password ?? (user === "anonymous" ? "cncop@" : "");
    log.info(describeSettings(settings));
    log.info(`${tls === "none" ? "plain FTP" : tls === "explicit" ? "FTPS, explicit TLS (AUTH TLS)" : "FTPS, implicit TLS"}; certificate checked against ${ca ? settings.ca_file : tls === "none" ? "(no TLS)" : "the system's CA store"}`);
    const label = `${url.scheme}://${encodeURIComponent(user)}@${url.host.includes(":") ? `[${url.host}]` : url.host}:${url.port}`;
    const connector = ftpConnector({ host: url.host, port: url.port, user, password, tls, ca, timeoutMs: settings.timeout * 1000, label });
    return await runRemoteMirror(ctx, { connector, remotePath: url.path, destination, excluder, settings }, platform);
  } catch (err) {
    if (err instanceof SettingsError || err instanceof ExcludeError || err instanceof LocationError || err instanceof RemoteUrlError) return earlyResult("ERROR", err.message);
    throw err;
  }
}
