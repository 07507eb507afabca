/**
 * Helpers for end-to-end tests of job runs: a tree with a fake job type, shell scripts that
 * each do one thing and leave markers, and checks on processes, reports and lock records.
 */
import { existsSync, readFileSync } from "node:fs";
import nodePath from "node:path";
import { makeTree, type RunOutput, type Tree, waitFor } from "./tree.ts";

/** `extra` lines go into [defaults]; a key they set replaces the default (a key given twice is an error). */
export const FAKE_CONFIG = (extra = "") => {
  const given = new Set([...extra.matchAll(/^\s*([A-Za-z_]+)\s*=/gm)].map((m) => m[1]!.toLowerCase()));
  const defaults = ["days_of_logs = 0", "command_timeout = 30"].filter((l) => !given.has(l.split(" ")[0]!));
  return `[defaults]\n${defaults.join("\n")}\n${extra}\n[agents]\nFAKE = fakeagent\n`;
};

/** A tree whose job type FAKE runs Bin/fakeagent; `defaults` lines go into [defaults]. */
export function fakeTree(defaults = ""): Tree {
  return makeTree({ config: FAKE_CONFIG(defaults) });
}

/** Short grace between TERM and KILL, so tests of hung processes stay quick. */
export const FAST_GRACE = { CNCOP_KILL_GRACE_MS: "400" };

export function marker(tree: Tree, name: string): string {
  return nodePath.join(tree.root, "marks", name);
}

/** Shell code: append a line to a marker file (its folder is created). */
export function mark(name: string, text = "$0"): string {
  return `mkdir -p "$CNCOP_HOME/marks"; printf '%s\\n' "${text}" >> "$CNCOP_HOME/marks/${name}"`;
}

/**
 * Shell code: wait until a file appears (polls; used by fake agents, not by tests). It
 * gives up once the tree is deleted, so a failed test leaves no process waiting for ever.
 */
export function waitForFileSh(path: string): string {
  return `while [ ! -e "${path}" ]; do [ -d "$CNCOP_HOME" ] || exit 99; sleep 0.05; done`;
}

/** Shell code: a loop that runs until the tree is deleted (or the process is stopped). */
export const LOOP_SH = `while [ -d "$CNCOP_HOME" ]; do sleep 0.1; done`;

export function readMarker(tree: Tree, name: string): string[] {
  const p = marker(tree, name);
  return existsSync(p) ? readFileSync(p, "utf8").split("\n").filter((l) => l !== "") : [];
}

export function lockRecordPath(tree: Tree, jobid: number): string {
  return nodePath.join(tree.root, "Spool", "Work", "locks", `job-${jobid}.json`);
}

/** The pids of a job's children in its lock record (none while there is no whole record). */
export function recordedPids(tree: Tree, jobid: number): number[] {
  try {
    const rec = JSON.parse(readFileSync(lockRecordPath(tree, jobid), "utf8")) as { processes?: { pid: number }[] };
    return (rec.processes ?? []).map((p) => p.pid);
  } catch {
    return [];
  }
}

/** Gone: no such process, or only a zombie waiting to be reaped. */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

export async function waitForMarker(tree: Tree, name: string, lines = 1, timeoutMs = 20_000): Promise<string[]> {
  await waitFor(() => readMarker(tree, name).length >= lines, timeoutMs, `marker ${name}`);
  return readMarker(tree, name);
}

export async function collect(proc: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<RunOutput> {
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

/** The session named in the CA log for a job id. */
export function sessionsInLog(tree: Tree, jobid: number): string[] {
  const re = new RegExp(`job ${jobid} '[^\\n]*' \\([A-Z]+\\): session (\\S+)`, "g");
  return [...tree.caLogText().matchAll(re)].map((m) => m[1]!);
}

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The pid a script wrote to `<root>/<name>` with `echo $$ > file`, once the whole line is there. */
export function pidIn(root: string, name: string): number | undefined {
  try {
    const m = /^(\d+)\n$/.exec(readFileSync(nodePath.join(root, name), "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
