/**
 * Helpers for the agents' end-to-end tests: an install tree whose Bin/ holds the agents
 * (links to the compiled binary with CNCOP_BIN, else small shims that run the source),
 * running an agent (optionally wrapped, e.g. as another user or on a tiny file system),
 * byte-for-byte tree comparison, and the agent's daily log and reports.
 */
import { chmodSync, closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from "node:fs";
import nodePath from "node:path";
import { localDateStamp } from "../../src/format/time.ts";
import { pollPeakRss } from "./peak-rss.ts";
import { BUN, CLI, COMPILED_BIN, makeTree, type RunOutput, type Tree } from "./tree.ts";

export const AGENTS = ["backupagentcifs", "backupagentrsync", "backupagentftp", "backupagentsftp"] as const;
export const IS_ROOT = process.getuid?.() === 0;

/** A tree in which cncopagent finds the agents in Bin/. */
export function agentTree(opts: { config?: string } = {}): Tree {
  const tree = makeTree(opts);
  if (!COMPILED_BIN) for (const a of AGENTS) tree.script(a, `exec "${BUN}" "${CLI}" ${a} "$@"`);
  return tree;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** argv put before the program (a wrapper such as setpriv or unshare). */
  wrap?: string[];
  timeoutMs?: number;
}

export function spawnAgent(tree: Tree, agent: string, args: string[], o: SpawnOptions = {}) {
  return Bun.spawn([...(o.wrap ?? []), ...tree.argv(agent, args)], {
    cwd: tree.root,
    env: { ...process.env, CNCOP_HOME: tree.root, NO_COLOR: "1", ...o.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

export async function runAgent(tree: Tree, agent: string, args: string[], o: SpawnOptions = {}): Promise<RunOutput & { maxRssBytes: number }> {
  const proc = spawnAgent(tree, agent, args, o);
  const peak = process.platform === "linux" ? pollPeakRss(proc.pid) : undefined;
  const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs ?? 50_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const polled = peak?.stop() ?? 0;
  return { exitCode, stdout, stderr, maxRssBytes: polled > 0 ? polled : (proc.resourceUsage()?.maxRSS ?? 0) };
}

/** `<agent> -c <config> [extra] <jobid>` as cncopagent would call it. */
export function agentArgs(tree: Tree, jobid: number, extra: string[] = []): string[] {
  return ["-c", tree.configFile, ...extra, String(jobid)];
}

export function dailyLog(tree: Tree, prefix: string, date = new Date()): string {
  const p = nodePath.join(tree.root, "Spool", "Logs", `${prefix}-${localDateStamp(date)}.log`);
  return existsSync(p) ? readFileSync(p, "utf8") : "";
}

/** Lines of a daily log without their timestamps. */
export function logLines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "").map((l) => l.replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} /, ""));
}

function sameBytes(a: string, b: string): boolean {
  const sa = statSync(a);
  const sb = statSync(b);
  if (sa.size !== sb.size) return false;
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  try {
    const ba = Buffer.alloc(1 << 20);
    const bb = Buffer.alloc(1 << 20);
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null);
      const nb = readSync(fb, bb, 0, bb.length, null);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (!ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/**
 * Differences between two trees (relative path: what differs), empty when every entry of
 * `src` is in `dest` with the same kind, bytes and modification time (to the microsecond),
 * and `dest` has nothing else (entries whose relative path `ignore` accepts are skipped).
 */
export function treeDiff(src: string, dest: string, ignore: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const a = nodePath.join(src, rel);
    const b = nodePath.join(dest, rel);
    const names = new Set([...(existsSync(a) ? readdirSync(a) : []), ...(existsSync(b) ? readdirSync(b) : [])]);
    for (const name of [...names].sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (ignore(r)) continue;
      const sa = lstatSync(nodePath.join(src, r), { bigint: true, throwIfNoEntry: false });
      const sb = lstatSync(nodePath.join(dest, r), { bigint: true, throwIfNoEntry: false });
      if (!sa) {
        out.push(`${r}: only in the destination`);
        continue;
      }
      if (!sb) {
        out.push(`${r}: missing in the destination`);
        continue;
      }
      const kind = (s: typeof sa) => (s.isDirectory() ? "folder" : s.isSymbolicLink() ? "link" : s.isFile() ? "file" : "other");
      if (kind(sa) !== kind(sb)) {
        out.push(`${r}: ${kind(sa)} became ${kind(sb)}`);
        continue;
      }
      if (sa.isDirectory()) walk(r);
      else if (sa.isSymbolicLink()) {
        if (readlinkSync(nodePath.join(src, r)) !== readlinkSync(nodePath.join(dest, r))) out.push(`${r}: link target differs`);
      } else {
        if (!sameBytes(nodePath.join(src, r), nodePath.join(dest, r))) out.push(`${r}: content differs`);
        const d = sa.mtimeNs > sb.mtimeNs ? sa.mtimeNs - sb.mtimeNs : sb.mtimeNs - sa.mtimeNs;
        if (d >= 1000n) out.push(`${r}: modification time differs by ${d} ns`);
      }
    }
  };
  walk("");
  return out;
}

/** Let another user (nobody) use the whole tree: for tests that must run the agent unprivileged. */
export function openUp(paths: string[]): void {
  for (const p of paths) {
    const walk = (q: string) => {
      const st = lstatSync(q);
      if (st.isSymbolicLink()) return;
      chmodSync(q, st.isDirectory() ? 0o777 : 0o666 | (st.mode & 0o111));
      if (st.isDirectory()) for (const n of readdirSync(q)) walk(nodePath.join(q, n));
    };
    walk(p);
  }
}

/** Run as an unprivileged user: root reads every file, so "unreadable" needs another user. */
export function asUnprivileged(): string[] {
  return IS_ROOT ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] : [];
}

/**
 * Run with a small tmpfs mounted at `dir`, in a private mount namespace (root: unshare -m;
 * others: unshare -rm, a user namespace). The mount vanishes with the process.
 */
export function onSmallDisk(dir: string, size: string): string[] {
  return ["unshare", IS_ROOT ? "-m" : "-rm", "--", "sh", "-c", 'mount -t tmpfs -o "size=$1" cncop-test "$2" && shift 2 && exec "$@"', "sh", size, dir];
}
