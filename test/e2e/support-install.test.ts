/**
 * Issue 18, as an administrator installs the suite: the README's install steps, run as
 * written (with a temporary folder for /opt/cncop), end with a job that ran; `--init` makes
 * the tree and never overwrites; `w` then fits an 80-column SSH terminal. The built
 * executable is what an administrator installs: CNCOP_BIN, else dist/ (built when missing).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { splitCommandLine } from "../../src/process/command-line.ts";
import { visibleLength } from "../../src/watcher/summary-render.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { BUN, COMPILED_BIN, REPO } from "../helpers/tree.ts";

const scratch = makeScratch("file");
const E2E_TIMEOUT_MS = 90_000;
const DIST = COMPILED_BIN ?? nodePath.join(REPO, "dist");
const SAMPLE = readFileSync(nodePath.join(REPO, "Config", "cncop3.ini"), "utf8");

beforeAll(() => {
  if (existsSync(nodePath.join(DIST, "cncopagent"))) return;
  const r = Bun.spawnSync([BUN, "scripts/build.ts"], { cwd: REPO, stdout: "ignore", stderr: "inherit" });
  expect(r.exitCode).toBe(0);
}, E2E_TIMEOUT_MS);

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  // As from a login shell: no CNCOP_HOME, the programs find their tree from Bin/.
  const { CNCOP_HOME: _home, ...rest } = process.env;
  const proc = Bun.spawn(argv, { env: { ...rest, NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

/** The commands of the README's "Install" section after `npm run build`, one argv each. */
function readmeInstallCommands(subst: Readonly<Record<string, string>>): string[][] {
  const readme = readFileSync(nodePath.join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Install"), readme.indexOf("\n## ", readme.indexOf("## Install") + 3));
  const lines = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n"));
  return lines
    .map((l) => l.replace(/\s+#\s.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("npm "))
    .map((l) => splitCommandLine(Object.entries(subst).reduce((acc, [from, to]) => acc.split(from).join(to), l)));
}

describe("the README's install, as written", () => {
  let root = "";
  let out: { exitCode: number; stdout: string; stderr: string }[] = [];
  const dst = () => nodePath.join(root, "..", "backup-home");

  beforeAll(async () => {
    const base = scratch.dir("install");
    root = nodePath.join(base, "opt", "cncop"); // not made beforehand: --init makes it
    const home = nodePath.join(base, "home");
    mkdirSync(nodePath.join(home, "alice"), { recursive: true });
    writeFileSync(nodePath.join(home, "alice", "notes.txt"), "four");
    const commands = readmeInstallCommands({ "/opt/cncop": root, "/srv/backup/home": nodePath.join(base, "opt", "backup-home"), "/home": home, "dist/": `${DIST}/` });
    expect(commands.map((c) => nodePath.basename(c[0]!))).toEqual(["cncopagent", "cncopjobs", "cncopagent", "cncopagent", "w"]);
    out = [];
    for (const argv of commands) out.push(await run(argv));
  }, E2E_TIMEOUT_MS);

  test("every step exits 0 and the job ran: the backup is there", () => {
    expect(out.map((o) => o.exitCode)).toEqual([0, 0, 0, 0, 0]);
    expect(readFileSync(nodePath.join(dst(), "alice", "notes.txt"), "utf8")).toBe("four");
  });

  test("--init made the tree: the programs, the sample config, an empty job database readable by its owner only", () => {
    for (const p of ["cncopagent", "cncopreporter", "cncopjobs", "w", "backupagentcifs", "backupagentrsync"]) expect(statSync(nodePath.join(root, "Bin", p)).isFile()).toBe(true);
    for (const d of ["Logs", "Spool/Messages", "Spool/Logs", "Spool/Work"]) expect(statSync(nodePath.join(root, d)).isDirectory()).toBe(true);
    expect(readFileSync(nodePath.join(root, "Config", "cncop3.ini"), "utf8")).toBe(SAMPLE);
    expect(readFileSync(nodePath.join(DIST, "Config", "cncop3.ini"), "utf8")).toBe(SAMPLE);
    expect(statSync(nodePath.join(root, "Config", "backupjobs.db")).mode & 0o777).toBe(0o600);
    expect(out[0]!.stderr).toContain(`cncopagent: made ${nodePath.join(root, "Config", "backupjobs.db")}: an empty job database`);
  });

  test("the dry run said what would be copied; the real run said OK; w counts the dry run apart", () => {
    expect(out[2]!.stderr).toMatch(/job 1 'Home folders': backupagentcifs: dry run: .*would copy 1 \(4 bytes\)/);
    expect(out[3]!.stderr).toMatch(/job 1 'Home folders': OK \(.*copied 1 \(4 bytes\).*\) after/);
    expect(out[4]!.stdout).toMatch(/: 2 logs, 1 run: 1 OK; 1 dry run\n/);
  });

  test("--init never overwrites: a second call changes nothing and names what exists", async () => {
    const ini = nodePath.join(root, "Config", "cncop3.ini");
    writeFileSync(ini, `${SAMPLE}\n; edited by the administrator\n`);
    const again = await run([nodePath.join(DIST, "cncopagent"), "--init", root]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`cncopagent: --init ${root}: nothing was changed, because these exist: ${ini}, ${nodePath.join(root, "Config", "backupjobs.db")}`);
    expect(readFileSync(ini, "utf8")).toEndWith("; edited by the administrator\n");
    const mixed = await run([nodePath.join(DIST, "cncopagent"), "--init", root, "-a"]);
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toContain("--init ROOT takes no job selection and no other option");
  });

  test("w fits 80 columns: short session ids, folded lines; --wide shows the whole session", async () => {
    const w = nodePath.join(root, "Bin", "w");
    const narrow = await run([w, "CA"]);
    for (const line of narrow.stdout.split("\n")) expect(visibleLength(line)).toBeLessThanOrEqual(80);
    const session = /: session (\S+)$/m.exec(readFileSync(nodePath.join(root, "Logs", readdirLogs(root)[1]!), "utf8"))![1]!;
    expect(narrow.stdout).toContain(`session …${session.slice(-8)}`);
    expect(narrow.stdout).not.toContain(session);
    const wide = await run([w, "CA", "--wide"]);
    expect(wide.stdout).toContain(`session ${session}`);
    // On a pseudo-terminal as over SSH: the same 80 columns when the terminal says no size.
    const tty = Bun.spawnSync(["script", "-qec", `'${w}' CA`, "/dev/null"], { env: { ...process.env, NO_COLOR: "1", CNCOP_HOME: root } });
    for (const line of tty.stdout.toString().replace(/\r\n/g, "\n").split("\n")) expect(visibleLength(line)).toBeLessThanOrEqual(80);
  });
});

function readdirLogs(root: string): string[] {
  return readdirSync(nodePath.join(root, "Logs")).filter((n) => n.startsWith("CA-")).sort();
}
