/**
 * backupagentftp and backupagentsftp against the tools an administrator would compare
 * them with, side by side in one run, on servers started here on 127.0.0.1 (vsftpd and
 * OpenSSH's sshd, as the tests start them; run as root): a tree of 2,000 small files in
 * 20 folders and one 500 MB file.
 *
 *   FTP  first run (empty destination)   agent vs `lftp -e mirror`                   limit 1.5x
 *   FTP  second run (nothing changed)    agent vs `lftp -e mirror`                   limit 2x
 *   (and, for information, against `lftp -e "mirror --parallel=4"`, the agent's own parallelism)
 *   SFTP first run                       agent vs `rsync -a` over ssh                limit 1.5x
 *   SFTP second run                      agent vs `rsync -a` over ssh                limit 2x
 *
 * The agents are the compiled executable (dist/, built if missing) with their default
 * settings (4 transfers at once), run with the environment cncopagent gives them
 * (src/dispatcher/agent-env.ts). Each figure is the best of ROUNDS runs; `sync` runs
 * before each (5 rounds by default: on this shared machine fewer let one slow reference run
 * decide the ratio). BENCH_NO_P4=1 leaves out the `lftp --parallel=4` information rows.
 * Temporary files live in .bench-tmp/ and are removed at the end.
 * Run: bun bench/remote.bench.ts [BENCH_ROUNDS=n]
 */
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, linkSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { BACKUPJOB_SCHEMA } from "../src/install/jobs-db.ts";
import { makeSourceTree } from "./common.ts";
import { agentRuntimeEnv } from "../src/dispatcher/agent-env.ts";
import { startSshd, startVsftpd, TEST_PASSWORD, TEST_USER } from "../test/helpers/remote-servers.ts";

const REPO = nodePath.dirname(import.meta.dir);
const SMALL_FILES = 2_000;
const FOLDERS = 20;
const BIG_BYTES = 500 * 1024 ** 2;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const base = nodePath.join(REPO, ".bench-tmp", `remote-${process.pid}`);
const src = nodePath.join(base, "src");

/** Peak resident memory of the last process `run` started, in bytes. */
let lastPeakRss = 0;

function run(argv: string[], env: Record<string, string> = {}, okCodes = [0]): number {
  Bun.spawnSync(["sync"]);
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const ms = performance.now() - t0;
  lastPeakRss = r.resourceUsage?.maxRSS ?? 0;
  if (!okCodes.includes(r.exitCode ?? -1)) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}${r.stdout.toString()}`);
  return ms;
}

function makeSource(): void {
  makeSourceTree(src, SMALL_FILES, FOLDERS, BIG_BYTES);
  chmodSync(base, 0o755);
}

function agentTree(name: string, jobtype: string, source: string, destination: string, settings: object): string[] {
  const dist = nodePath.join(REPO, "dist");
  const agent = jobtype === "SFTP" ? "backupagentsftp" : "backupagentftp";
  if (!existsSync(nodePath.join(dist, agent))) {
    const b = Bun.spawnSync([process.execPath, nodePath.join(REPO, "scripts", "build.ts")], { cwd: REPO, stdout: "inherit", stderr: "inherit" });
    if (b.exitCode !== 0) throw new Error("build failed");
  }
  const root = nodePath.join(base, `root-${name}`);
  mkdirSync(nodePath.join(root, "Bin"), { recursive: true });
  mkdirSync(nodePath.join(root, "Config"), { recursive: true });
  linkSync(nodePath.join(dist, agent), nodePath.join(root, "Bin", agent));
  writeFileSync(nodePath.join(root, "Config", "cncop3.ini"), "[defaults]\n");
  const db = new Database(nodePath.join(root, "Config", "backupjobs.db"), { create: true });
  db.exec(BACKUPJOB_SCHEMA);
  db.query("INSERT INTO BackupJob (jobid, jobtitle, jobtype, source, destination, settings) VALUES (1, 'bench', ?, ?, ?, ?)").run(jobtype, source, destination, JSON.stringify(settings));
  db.close();
  return [nodePath.join(root, "Bin", agent), "-c", nodePath.join(root, "Config", "cncop3.ini"), "1"];
}

const best = (xs: number[]) => Math.min(...xs);
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function line(what: string, agentMs: number, refName: string, refMs: number, limit: number): boolean {
  const ratio = agentMs / refMs;
  const ok = ratio <= limit;
  console.log(`${what.padEnd(34)} agent ${fmt(agentMs).padStart(8)}   ${refName.padEnd(16)} ${fmt(refMs).padStart(8)}   ratio ${ratio.toFixed(2)}x   limit ${limit}x   ${ok ? "OK" : "OVER"}`);
  return ok;
}

/** First runs (each from an empty destination, the order alternating), then no-change runs. */
function compare(label: string, agent: string[], agentDest: string, ref: string[], refDest: string, refName: string, refEnv: Record<string, string> = {}): boolean {
  // The agent runs with what cncopagent adds to its environment (src/dispatcher/agent-env.ts).
  const agentEnv = agentRuntimeEnv(agent[0]!);
  const firstAgent: number[] = [];
  const firstRef: number[] = [];
  let agentPeak = 0;
  const fresh = (dest: string, argv: string[], env: Record<string, string> = {}) => {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    return run(argv, env);
  };
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      firstRef.push(fresh(refDest, ref, refEnv));
      firstAgent.push(fresh(agentDest, agent, agentEnv));
      agentPeak = Math.max(agentPeak, lastPeakRss);
    } else {
      firstAgent.push(fresh(agentDest, agent, agentEnv));
      agentPeak = Math.max(agentPeak, lastPeakRss);
      firstRef.push(fresh(refDest, ref, refEnv));
    }
  }
  const secondAgent: number[] = [];
  const secondRef: number[] = [];
  for (let r = 0; r < ROUNDS * 2; r++) {
    secondRef.push(run(ref, refEnv));
    secondAgent.push(run(agent, agentEnv));
  }
  const ok1 = line(`${label} first run (fetch everything)`, best(firstAgent), refName, best(firstRef), 1.5);
  const ok2 = line(`${label} second run (nothing changed)`, best(secondAgent), refName, best(secondRef), 2);
  console.log(`${label} agent's peak memory in a first run: ${(agentPeak / 1024 ** 2).toFixed(0)} MB (the 500 MB file is streamed)`);
  return ok1 && ok2;
}

async function main(): Promise<number> {
  mkdirSync(base, { recursive: true });
  const servers: { stop(): Promise<void> }[] = [];
  try {
    console.log(`remote agents benchmark: ${SMALL_FILES} small files in ${FOLDERS} folders + one ${BIG_BYTES / 1024 ** 2} MB file over 127.0.0.1; ${os.cpus().length} CPU(s), ${os.platform()} ${os.release()}; best of ${ROUNDS} (first runs), ${ROUNDS * 2} (second runs)`);
    makeSource();
    const ftpd = await startVsftpd(nodePath.join(base, "ftpd"), { tls: "none" });
    servers.push(ftpd);
    const sshd = await startSshd(nodePath.join(base, "sshd"));
    servers.push(sshd);
    const kh = nodePath.join(base, "known_hosts");
    writeFileSync(kh, `${sshd.knownHostsLine}\n`);

    const ftpAgentDest = nodePath.join(base, "ftp-agent");
    const ftpAgent = agentTree("ftp", "FTP", `ftp://127.0.0.1:${ftpd.port}${src}`, ftpAgentDest, { user: TEST_USER, password: TEST_PASSWORD });
    const lftpDest = nodePath.join(base, "ftp-lftp");
    // The password reaches lftp through its environment (LFTP_PASSWORD with --env-password).
    const lftp = (opts: string) => ["lftp", "--env-password", "-u", TEST_USER, "-p", String(ftpd.port), "-e", `set ftp:ssl-allow no; mirror ${opts}${src} ${lftpDest}; bye`, "127.0.0.1"];
    const ok1 = compare("FTP ", ftpAgent, ftpAgentDest, lftp(""), lftpDest, "lftp mirror", { LFTP_PASSWORD: TEST_PASSWORD });
    if (!process.env.BENCH_NO_P4) compare("FTP ", ftpAgent, ftpAgentDest, lftp("--parallel=4 "), lftpDest, "lftp mirror -P4", { LFTP_PASSWORD: TEST_PASSWORD });

    const sftpAgentDest = nodePath.join(base, "sftp-agent");
    const sftpAgent = agentTree("sftp", "SFTP", `sftp://root@127.0.0.1:${sshd.port}${src}`, sftpAgentDest, { private_key: sshd.rootKey, known_hosts: kh });
    const rsyncDest = nodePath.join(base, "sftp-rsync");
    const ssh = `ssh -p ${sshd.port} -i ${sshd.rootKey} -o UserKnownHostsFile=${kh} -o BatchMode=yes`;
    const rsync = ["rsync", "-a", "-e", ssh, `root@127.0.0.1:${src}/`, `${rsyncDest}/`];
    const ok2 = compare("SFTP", sftpAgent, sftpAgentDest, rsync, rsyncDest, "rsync -a (ssh)");
    return ok1 && ok2 ? 0 : 1;
  } finally {
    for (const s of servers) await s.stop();
    rmSync(base, { recursive: true, force: true });
    try {
      rmdirSync(nodePath.dirname(base));
    } catch {}
  }
}

process.exitCode = await main();
