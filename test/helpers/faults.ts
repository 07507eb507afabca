/**
 * Disk faults injected for real: a small full tmpfs or a read-only bind mount over a
 * folder of a tree, in a private mount namespace (root: unshare -m; others: a user
 * namespace, unshare -rm), so the mount vanishes with the run even when a test fails.
 */
import { IS_ROOT } from "./agents.ts";
import type { RunOutput, Tree } from "./tree.ts";

/** Shell lines (run in the tree's root) that mount a 64 KiB tmpfs on `dir` and fill it. */
export const FULL = (dir: string) => `mount -t tmpfs -o size=64k cncop-test ${dir} && { head -c 1000000 /dev/zero > ${dir}/fill 2>/dev/null; true; }`;
/** Shell lines that make `dir` a read-only bind mount of itself. */
export const READ_ONLY = (dir: string) => `mount --bind ${dir} ${dir} && mount -o remount,bind,ro ${dir}`;

/** Run a program of the suite after `setup` in a private mount namespace; `after` runs there too, once it ended. */
export async function runWithFault(t: Tree, setup: string, program: string, args: string[], after = "true"): Promise<RunOutput> {
  const script = `cd "$CNCOP_HOME" && ${setup} || exit 99; "$@"; rc=$?; ${after}; exit $rc`;
  const proc = Bun.spawn(["unshare", IS_ROOT ? "-m" : "-rm", "--", "sh", "-c", script, "sh", ...t.argv(program, args)], {
    cwd: t.root,
    env: { ...process.env, CNCOP_HOME: t.root, NO_COLOR: "1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 40_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}
