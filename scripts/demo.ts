/**
 * `npm run demo [-- <folder>]`: builds the suite, makes a self-contained install tree
 * (default ./demo) with a sample configuration, sample data and two jobs (a file-system
 * backup and, where rsync is installed, an rsync backup), runs `Bin/cncopagent -a` in it
 * as a user would, and shows what happened and where everything is. Running it again
 * changes one sample file and shows an incremental run. docs/demo.md describes it.
 */
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import nodePath from "node:path";
import { PROGRAM_NAMES } from "../src/cli.ts";
import { BACKUPJOB_SCHEMA } from "../src/install/jobs-db.ts";
import { localDateStamp, localTimestamp } from "../src/format/time.ts";

const repo = nodePath.dirname(import.meta.dir);
const MAIN = "cncopagent";
const EXE = process.platform === "win32" ? ".exe" : "";

export interface DemoJob {
  readonly jobtitle: string;
  readonly jobtype: string;
  readonly source: string;
  readonly destination: string;
  readonly settings: object;
}

/** The demo's jobs; paths are relative to the root, as the agents allow. */
export function demoJobs(hasRsync: boolean): DemoJob[] {
  const jobs: DemoJob[] = [{ jobtitle: "Demo files", jobtype: "CIFS", source: "SampleData", destination: "Backups/files", settings: { exclude: ["*.tmp"] } }];
  if (hasRsync) jobs.push({ jobtitle: "Demo rsync", jobtype: "RSYNC", source: "SampleData", destination: "Backups/rsync", settings: { delete: true, exclude: ["*.tmp"] } });
  return jobs;
}

function build(): void {
  const r = Bun.spawnSync([process.execPath, nodePath.join(repo, "scripts", "build.ts")], { cwd: repo, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error("the build failed (see above)");
}

/** Bin/: the executable (a hard link to dist/ when possible, else a copy) and its program links. */
function installBin(bin: string): void {
  mkdirSync(bin, { recursive: true });
  const built = nodePath.join(repo, "dist", MAIN + EXE);
  const main = nodePath.join(bin, MAIN + EXE);
  for (const name of PROGRAM_NAMES) rmSync(nodePath.join(bin, name + EXE), { force: true });
  for (const name of PROGRAM_NAMES) rmSync(nodePath.join(bin, `${name}.cmd`), { force: true });
  try {
    linkSync(built, main);
  } catch {
    copyFileSync(built, main);
  }
  for (const name of PROGRAM_NAMES) {
    if (name === MAIN) continue;
    if (process.platform === "win32") writeFileSync(nodePath.join(bin, `${name}.cmd`), `@echo off\r\nset "CNCOP_PROGRAM=${name}"\r\n"%~dp0${MAIN}.exe" %*\r\n`);
    else linkSync(main, nodePath.join(bin, name));
  }
}

function writeSampleData(dir: string): void {
  const put = (rel: string, content: string | Uint8Array) => {
    const p = nodePath.join(dir, rel);
    mkdirSync(nodePath.dirname(p), { recursive: true });
    writeFileSync(p, content);
  };
  put("README.txt", "Sample data of the cncop3 demo: the demo's jobs back this folder up.\n");
  put("Documents/Quarterly report.txt", "Revenue went up.\n".repeat(200));
  put("Documents/empty.txt", "");
  put("Documents/journal.txt", "");
  put("Photos/Été 2024/plage.jpg", crypto.getRandomValues(new Uint8Array(60_000)));
  put("Projects/app/src/main.ts", 'console.log("hello");\n');
  put("scratch.tmp", "excluded by the jobs' settings\n");
}

function setUpTree(root: string, hasRsync: boolean): { fresh: boolean } {
  mkdirSync(nodePath.join(root, "Config"), { recursive: true });
  const ini = nodePath.join(root, "Config", "cncop3.ini");
  if (!existsSync(ini)) copyFileSync(nodePath.join(repo, "Config", "cncop3.ini"), ini);
  const data = nodePath.join(root, "SampleData");
  const fresh = !existsSync(data);
  if (fresh) writeSampleData(data);
  // Every run changes one file, so a second run shows what an incremental run copies.
  appendFileSync(nodePath.join(data, "Documents", "journal.txt"), `demo run at ${localTimestamp()}\n`);
  const db = new Database(nodePath.join(root, "Config", "backupjobs.db"), { create: true });
  try {
    db.exec(BACKUPJOB_SCHEMA);
    for (const j of demoJobs(hasRsync)) {
      if (db.query("SELECT 1 FROM BackupJob WHERE jobtitle = ?").get(j.jobtitle)) continue;
      db.query("INSERT INTO BackupJob (jobtitle, jobtype, source, destination, settings, maxretries, retrydelay) VALUES (?, ?, ?, ?, ?, 1, 5)").run(j.jobtitle, j.jobtype, j.source, j.destination, JSON.stringify(j.settings));
    }
  } finally {
    db.close();
  }
  return { fresh };
}

interface JobSeen {
  id: number;
  title: string;
  type: string;
  session: string;
  state?: string;
  reason?: string;
}

/** The jobs of one CA log: sessions and final states (docs/log-formats.md). */
export function jobsOfCaLog(text: string): JobSeen[] {
  const jobs = new Map<number, JobSeen>();
  for (const line of text.split("\n")) {
    const body = line.slice(20);
    let m = /^job (\d+) '(.*)' \(([^)]+)\): session (\S+)$/.exec(body);
    if (m) jobs.set(Number(m[1]), { id: Number(m[1]), title: m[2]!, type: m[3]!, session: m[4]! });
    m = /^job (\d+) '.*' final state: (OK|ERROR) \((.*)\) after /.exec(body);
    if (m && jobs.has(Number(m[1]))) Object.assign(jobs.get(Number(m[1]))!, { state: m[2], reason: m[3] });
  }
  return [...jobs.values()];
}

function newest(dir: string, prefix: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const names = readdirSync(dir).filter((n) => n.startsWith(prefix)).sort((a, b) => statSync(nodePath.join(dir, a)).mtimeMs - statSync(nodePath.join(dir, b)).mtimeMs || a.localeCompare(b));
  return names.at(-1);
}

function summary(root: string, show: (p: string) => string, exitCode: number, fresh: boolean): string {
  const logs = nodePath.join(root, "Logs");
  const ca = newest(logs, "CA-");
  const jobs = ca ? jobsOfCaLog(readFileSync(nodePath.join(logs, ca), "utf8")) : [];
  const messages = nodePath.join(root, "Spool", "Messages");
  const reports = existsSync(messages) ? readdirSync(messages).filter((n) => n.endsWith(".json") && !n.startsWith(".")) : [];
  const stats = (session: string) =>
    reports.filter((n) => n.startsWith("JS-")).map((n) => JSON.parse(readFileSync(nodePath.join(messages, n), "utf8")) as Record<string, unknown>).filter((r) => r.session === session).at(-1);
  const out = [`\n${fresh ? "First run" : "Incremental run"} of the demo: cncopagent exited with status ${exitCode}.`, "", "Jobs:"];
  for (const j of jobs) {
    const s = stats(j.session);
    const figures = s ? `: ${s.files_transferred} file(s) copied (${s.bytes_transferred} bytes), ${s.files_unchanged} unchanged` : "";
    out.push(`  ${j.id} '${j.title}' (${j.type}): ${j.state ?? "?"}${figures}${j.state === "OK" ? "" : ` (${j.reason})`}`);
  }
  const daily = localDateStamp();
  out.push(
    "",
    "Where things are:",
    `  the backups           ${show(nodePath.join(root, "Backups"))}/ (files/${jobs.some((j) => j.type === "RSYNC") ? " and rsync/" : ""})`,
    `  cncopagent's log      ${ca ? show(nodePath.join(logs, ca)) : "(none)"}`,
    `  the agents' logs      ${show(nodePath.join(root, "Spool", "Logs"))}/CIFS-${daily}.log${jobs.some((j) => j.type === "RSYNC") ? `, RSYNC-${daily}.log` : ""}`,
    `  reports (JS-, JF-)    ${show(messages)}/ (${reports.length} waiting for cncopreporter)`,
    `  configuration, jobs   ${show(nodePath.join(root, "Config"))}/cncop3.ini, backupjobs.db`,
    "",
    "Next, try:",
    `  ${show(nodePath.join(root, "Bin", "cncopagent"))} -a                 run every job again (incremental)`,
    `  ${show(nodePath.join(root, "Bin", "cncopagent"))} -n "Demo files"    a dry run: what would be copied`,
    `  ${show(nodePath.join(root, "Bin", "cncopagent"))} -d 1               with DEBUG lines in Spool/Logs/`,
    `  ${show(nodePath.join(root, "Bin", "w"))} CIFS                        summarise today's file-system backups`,
    `  npm run demo                            run the demo again`,
  );
  return out.join("\n");
}

export async function runDemo(target: string, opts: { build?: boolean; write?: (t: string) => void } = {}): Promise<number> {
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  const root = nodePath.resolve(target);
  const show = (p: string) => {
    const rel = nodePath.relative(process.cwd(), p);
    return rel !== "" && !rel.startsWith("..") && !nodePath.isAbsolute(rel) ? rel : p;
  };
  if (opts.build !== false) {
    write("Building the suite (bun run build)...\n");
    build();
  }
  const hasRsync = Bun.which("rsync") !== null;
  installBin(nodePath.join(root, "Bin"));
  const { fresh } = setUpTree(root, hasRsync);
  write(`\nDemo install tree: ${root}${hasRsync ? "" : "\n(rsync is not installed: the demo has no rsync job; install rsync and run the demo again to add it)"}\n`);
  const argv = [nodePath.join(root, "Bin", MAIN + EXE), "-a"];
  write(`Running: ${show(argv[0]!)} -a\n\n`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CNCOP_")) env[k] = v;
  const proc = Bun.spawn(argv, { cwd: root, env, stdin: "ignore", stdout: "inherit", stderr: "inherit" });
  const exitCode = await proc.exited;
  write(`${summary(root, show, exitCode, fresh)}\n`);
  return exitCode;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.includes("-h") || args.includes("--help")) {
    process.stdout.write("usage: npm run demo [-- [--no-build] [FOLDER]]   (default folder: ./demo)\n");
  } else {
    const target = args.find((a) => !a.startsWith("-")) ?? "demo";
    try {
      process.exitCode = await runDemo(target, { build: !args.includes("--no-build") });
    } catch (err) {
      process.stderr.write(`demo: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
