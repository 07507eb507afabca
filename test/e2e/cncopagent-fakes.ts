/**
 * One-behaviour fake agents (shell scripts in Bin/) and small readers for what they
 * recorded, shared by the cncopagent end-to-end tests.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import nodePath from "node:path";
import type { Tree } from "../helpers/tree.ts";

/** Records argv, environment, working folder and stdin under $CNCOP_HOME/rec/<agent>-<jobid>-<attempt>/, then exits $1 (default 0). */
export function recordingAgent(tree: Tree, name: string, exit = 0): void {
  tree.script(
    name,
    `d="$CNCOP_HOME/rec/$(basename "$0")-$CNCOP_JOBID-$CNCOP_ATTEMPT"
mkdir -p "$d"
printf '%s\\n' "$0" "$@" > "$d/argv"
env > "$d/env"
pwd > "$d/cwd"
cat > "$d/stdin"
echo "$CNCOP_JOBID" >> "$CNCOP_HOME/order"
exit ${exit}`,
  );
}

export interface Recorded {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  stdin: string;
}

export function recorded(tree: Tree, agent: string, jobid: number, attempt = 1): Recorded | undefined {
  const d = nodePath.join(tree.root, "rec", `${agent}-${jobid}-${attempt}`);
  if (!existsSync(nodePath.join(d, "stdin"))) return undefined;
  const env: Record<string, string> = {};
  for (const line of readFileSync(nodePath.join(d, "env"), "utf8").split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    argv: readFileSync(nodePath.join(d, "argv"), "utf8").split("\n").slice(0, -1),
    env,
    cwd: readFileSync(nodePath.join(d, "cwd"), "utf8").trim(),
    stdin: readFileSync(nodePath.join(d, "stdin"), "utf8"),
  };
}

/** Every recording made, as `<agent>-<jobid>-<attempt>`. */
export function recordings(tree: Tree): string[] {
  const d = nodePath.join(tree.root, "rec");
  return existsSync(d) ? readdirSync(d).sort() : [];
}

/** The jobids in the order their agents ran. */
export function runOrder(tree: Tree): number[] {
  const f = nodePath.join(tree.root, "order");
  return existsSync(f) ? readFileSync(f, "utf8").trim().split("\n").map(Number) : [];
}

/** Is the process alive (a zombie counts as dead)? */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Lines of a log, each checked to start with `YYYY-MM-DD HH:MM:SS `. */
export const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} /;

export const CONFIG_WITH_AGENTS = (agents: Record<string, string>, extra = ""): string =>
  `[defaults]\ndays_of_logs = 90\n${extra}\n[agents]\n${Object.entries(agents).map(([t, a]) => `${t} = ${a}`).join("\n")}\n`;
