/**
 * The part both remote agents share: check the destination, open the first session
 * (its failure is the run's state: RE-RUN when transient, else ERROR), check the source
 * folder, mirror, close. The protocol is in the Connector the agent builds.
 */
import { mkdirSync, statSync } from "node:fs";
import type { AgentContext } from "../runtime.ts";
import { type AgentResult, earlyResult } from "../agent-result.ts";
import type { Excluder } from "../cifs/exclude.ts";
import { fsPath } from "../cifs/locations.ts";
import { classify } from "./remote-errors.ts";
import type { Connector, RemoteSession } from "./remote-fs.ts";
import { Mirror } from "./mirror.ts";
import type { MirrorSettings } from "./remote-settings.ts";

export interface RemotePlan {
  readonly connector: Connector;
  readonly remotePath: string;
  /** The absolute local folder (resolveLocation). */
  readonly destination: string;
  readonly excluder: Excluder;
  readonly settings: MirrorSettings;
}

function early(kind: string, message: string): AgentResult {
  return earlyResult(kind === "transient" ? "RE-RUN" : "ERROR", message);
}

export async function runRemoteMirror(ctx: AgentContext, plan: RemotePlan, platform: NodeJS.Platform = process.platform): Promise<AgentResult> {
  const { log } = ctx;
  const dest = fsPath(plan.destination, platform);
  if (!ctx.dryrun) {
    try {
      mkdirSync(dest, { recursive: true });
      if (!statSync(dest).isDirectory()) return earlyResult("ERROR", `the destination ${plan.destination} is not a folder`);
    } catch (err) {
      const c = classify(err, `creating the destination ${plan.destination}`);
      return early(c.kind, c.message);
    }
  }
  let session: RemoteSession;
  log.info(`connecting to ${plan.connector.label}`);
  try {
    session = await plan.connector.open();
  } catch (err) {
    const c = classify(err, `connecting to ${plan.connector.label}`);
    return early(c.kind, c.message);
  }
  try {
    let isDir: boolean;
    try {
      isDir = await session.isDir(plan.remotePath);
    } catch (err) {
      const c = classify(err, `opening ${plan.remotePath}`);
      if (c.kind === "missing") return earlyResult("ERROR", `the source folder ${plan.remotePath} does not exist on ${plan.connector.label}`);
      return early(c.kind, c.message);
    }
    if (!isDir) return earlyResult("ERROR", `the source ${plan.remotePath} on ${plan.connector.label} is a file, not a folder`);
    log.info(`connected; mirroring ${plan.remotePath} into ${plan.destination} with up to ${plan.settings.parallel} transfer(s) at once`);
    const mirror = new Mirror(plan.connector, {
      excluder: plan.excluder,
      deleteExtraneous: plan.settings.delete,
      parallel: plan.settings.parallel,
      resume: plan.settings.resume,
      modifyWindowSec: plan.settings.modify_window,
      dryrun: ctx.dryrun,
      platform,
      log,
      say: ctx.say,
      abort: ctx.abort,
    });
    await mirror.run(session, plan.remotePath, dest);
    return mirror.state.verdict(ctx.dryrun);
  } finally {
    await session.close().catch(() => {});
  }
}
