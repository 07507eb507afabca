/**
 * backupagentrsync (Rsync Backup, job type RSYNC): runs the real rsync from the job's
 * `source` to its `destination` and maps rsync's exit status to the agent's state
 * (exit-codes.ts). rsync runs in the agent's own process group, so when cncopagent stops
 * the agent's tree, rsync stops with it; on SIGTERM the agent also stops rsync itself.
 */
import { existsSync, mkdirSync } from "node:fs";
import nodePath from "node:path";
import { LineSplitter } from "../../format/line-splitter.ts";
import { formatCommandLine } from "../../process/command-line.ts";
import type { OutputSink } from "../../process/output-capture.ts";
import { runProcess, type RunResult } from "../../process/process-tree.ts";
import { type AgentResult, earlyResult } from "../agent-result.ts";
import type { AgentContext } from "../runtime.ts";
import { SettingsError } from "../settings.ts";
import { verdictOf } from "./exit-codes.ts";
import { EndpointError, planRsync, readRsyncSettings, type RsyncPlan } from "./rsync-plan.ts";
import { emptyStats, foldStatsLine, type RsyncStats } from "./stats.ts";

export const STOP_GRACE_MS = 10_000;
const TAIL_LINES = 20;
/** rsync's output, as the agent's log takes it: `\r` (progress redraws) ends a line, and lines are cut at 64 KiB. */
const LINES = { maxLineBytes: 64 * 1024, crEndsLine: true } as const;

export const INSTALL_HINT =
  "install it (Debian/Ubuntu: apt-get install rsync; RHEL/Fedora: dnf install rsync; macOS: brew install rsync; Windows: cwRsync or MSYS2's rsync), or set settings.rsync to its full path";

/** The rsync program: settings.rsync as a path, or a name looked up on PATH. */
export function findRsync(name: string, envPath: string | undefined, root: string): string | undefined {
  if (name.includes("/") || name.includes("\\")) {
    const p = nodePath.resolve(root, name);
    return existsSync(p) ? p : undefined;
  }
  return Bun.which(name, { PATH: envPath ?? "" }) ?? undefined;
}

/** rsync does not print the password; this is a second line of defence, for ones long enough not to hit ordinary text. */
export const MIN_REDACT_LENGTH = 4;

function redactor(secret: string | undefined): (s: string) => string {
  if (!secret || secret.length < MIN_REDACT_LENGTH) return (s) => s;
  return (s) => s.split(secret).join("***");
}

/** A stream of rsync's output as lines, each redacted before anyone sees it. */
function lineSink(redact: (s: string) => string, onLine: (line: string) => void): OutputSink {
  const splitter = new LineSplitter((raw) => onLine(redact(raw)), LINES);
  return { write: (chunk) => splitter.push(chunk), end: () => splitter.flush() };
}

/** rsync stays in the agent's process group; on the agent's abort it gets TERM, then KILL after STOP_GRACE_MS. */
function runRsync(ctx: AgentContext, plan: RsyncPlan, stats: RsyncStats, tail: string[], redact: (s: string) => string): Promise<RunResult> {
  const stdout = lineSink(redact, (line) => {
    if (foldStatsLine(stats, line)) return ctx.log.info(`rsync: ${line.trim()}`);
    if (ctx.dryrun) {
      ctx.say(line);
      return ctx.log.info(`would: ${line}`);
    }
    if (/^(sent |total size is )/.test(line)) return ctx.log.info(`rsync: ${line}`);
    ctx.log.debug(`rsync: ${line}`);
  });
  const stderr = lineSink(redact, (line) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    ctx.log.warn(line.startsWith("rsync") ? line : `rsync: ${line}`);
  });
  return runProcess({ argv: plan.argv, cwd: ctx.paths.root, env: plan.env, graceMs: STOP_GRACE_MS, abort: ctx.abort, stdout, stderr, ownGroup: false });
}

/**
 * The line that says best why rsync failed: a daemon's `@ERROR`, else what the remote
 * shell said (a line not from rsync), else rsync's last message before its summary line.
 */
export function mostTelling(lines: readonly string[]): string | undefined {
  return (
    lines.find((l) => l.startsWith("@ERROR")) ??
    lines.find((l) => !/^rsync[: ]/.test(l)) ??
    [...lines].reverse().find((l) => !/^rsync error: .*\(code \d+\)/.test(l)) ??
    lines.at(-1)
  );
}

export async function runRsyncAgent(ctx: AgentContext): Promise<AgentResult> {
  const { job, log } = ctx;
  let plan: RsyncPlan;
  let password: string | undefined;
  try {
    const read = readRsyncSettings(job.settings);
    for (const w of read.warnings) log.warn(w);
    password = read.settings.password;
    const program = findRsync(read.settings.rsync, ctx.env.PATH, ctx.paths.root);
    if (!program) return earlyResult("ERROR", `rsync was not found (${read.settings.rsync}${read.settings.rsync.includes("/") ? "" : " on PATH"}): ${INSTALL_HINT}`);
    plan = planRsync({ program, source: job.source, destination: job.destination, settings: read.settings, root: ctx.paths.root, debug: ctx.debug, dryrun: ctx.dryrun, baseEnv: ctx.env });
    if (password !== undefined && plan.source.kind !== "daemon" && plan.destination.kind !== "daemon") log.warn("settings.password is used only with rsync:// daemons (ssh uses keys); it is ignored here");
  } catch (err) {
    if (err instanceof SettingsError || err instanceof EndpointError) return earlyResult("ERROR", err.message);
    throw err;
  }
  // The password rsync gets (settings.password, or the one the URL held) is never shown.
  if (plan.env.RSYNC_PASSWORD !== ctx.env.RSYNC_PASSWORD) password = plan.env.RSYNC_PASSWORD;
  const redact = redactor(password);
  if (plan.destination.kind === "local" && !ctx.dryrun) {
    try {
      mkdirSync(plan.destination.arg, { recursive: true });
    } catch (err) {
      return earlyResult("ERROR", `cannot create the destination ${plan.destination.arg}: ${(err as Error).message}`);
    }
  }
  log.info(`run: ${redact(formatCommandLine(plan.argv))}${plan.env.RSYNC_PASSWORD !== undefined && password !== undefined ? " (password in RSYNC_PASSWORD)" : ""}`);
  const stats = emptyStats();
  const tail: string[] = [];
  const exit = await runRsync(ctx, plan, stats, tail, redact);

  const files = stats.transferred ?? 0;
  const bytes = stats.transferredSize ?? 0;
  const regular = stats.regularFiles ?? (stats.files !== undefined && stats.directories === undefined ? stats.files : undefined);
  const result = (state: AgentResult["state"], reason: string): AgentResult => ({
    state,
    reason,
    files,
    bytes,
    totals: {
      filesTotal: (regular ?? 0) + (stats.links ?? 0),
      bytesTotal: stats.totalSize ?? 0,
      filesUnchanged: Math.max(0, (regular ?? 0) - files),
      filesDeleted: stats.deleted ?? 0,
      filesFailed: 0,
      directories: Math.max(0, (stats.directories ?? 1) - 1),
    },
    details: {
      rsync_exitcode: exit.exitCode,
      rsync_signal: exit.signal,
      files_created: stats.created ?? null,
      literal_data: stats.literalData ?? null,
      matched_data: stats.matchedData ?? null,
      bytes_sent: stats.bytesSent ?? null,
      bytes_received: stats.bytesReceived ?? null,
      source_kind: plan.source.kind,
      destination_kind: plan.destination.kind,
    },
  });
  if (exit.exitCode === null && exit.signal === null) {
    const missing = /ENOENT/.test(exit.spawnError ?? "");
    return result("ERROR", missing ? `rsync could not be started (${plan.argv[0]} not found): ${INSTALL_HINT}` : `rsync could not be started: ${exit.spawnError}`);
  }
  if (exit.signal !== null) return result("ERROR", `rsync was stopped by ${exit.signal}`);
  const code = exit.exitCode!;
  const v = verdictOf(code, tail);
  const telling = mostTelling(tail);
  const last = telling ? `: ${telling}` : "";
  if (v.state === "OK") {
    if (v.warn) log.warn(`rsync exit status ${code} (${v.meaning}): treated as OK`);
    return result("OK", `${ctx.dryrun ? "dry run: " : ""}rsync completed (exit status ${code}${code === 0 ? "" : `, ${v.meaning}`}): ${files} file(s) transferred (${bytes} bytes)`);
  }
  return result(v.state, `rsync exit status ${code} (${v.meaning})${last}`);
}
