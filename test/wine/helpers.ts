/**
 * The Wine lane's helpers: Windows install trees on this machine's disk, the suite's
 * windows-x64 build (dist/windows-x64) and the fake agent (dist/wine-tools/fakeagent.exe,
 * from .ci/wine/fakeagent.c) run under Wine, and path conversion between the two worlds.
 *
 * `.ci/wine/lane.sh` builds what these need and sets CNCOP_WINEPREFIX; to run one file by
 * hand after the lane has built once: `CNCOP_WINEPREFIX=/work/wine/prefix bun test test/wine/x.test.ts`
 * (without the variable, /work/wine/prefix is used when it holds the stand-in DLL).
 *
 * Paths: Wine's drive Z: is the Linux root, so a Linux path /tmp/x is Z:\tmp\x for the
 * Windows programs (`winPath`); `winepathAgrees()` checks that mapping against `winepath`.
 */
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { PROGRAM_NAMES } from "../../src/cli.ts";
import { BACKUPJOB_SCHEMA } from "../../src/install/jobs-db.ts";
import { insertJob, type JobRow, type RunOutput } from "../helpers/tree.ts";

export const REPO = nodePath.resolve(import.meta.dir, "..", "..");
/** The windows-x64 build: cncopagent.exe alone (scripts/build.ts --target=windows-x64). */
export const WIN_DIST = process.env.CNCOP_WIN_DIST ? nodePath.resolve(process.env.CNCOP_WIN_DIST) : nodePath.join(REPO, "dist", "windows-x64");
export const WIN_EXE = nodePath.join(WIN_DIST, "cncopagent.exe");
/** What .ci/wine/lane.sh builds with mingw-w64: the stand-in DLL and the fake agent. */
export const WINE_TOOLS = nodePath.join(REPO, "dist", "wine-tools");
export const FAKE_AGENT = nodePath.join(WINE_TOOLS, "fakeagent.exe");
const SHARED_PREFIX = "/work/wine/prefix";

function prefixHasDll(p: string): boolean {
  return existsSync(nodePath.join(p, "drive_c", "windows", "system32", "bcryptprimitives.dll"));
}

/** The Wine prefix the lane runs in: CNCOP_WINEPREFIX, else the machine's shared one. */
export function winePrefix(): string {
  const p = process.env.CNCOP_WINEPREFIX ?? (prefixHasDll(SHARED_PREFIX) ? SHARED_PREFIX : undefined);
  if (!p) throw new Error("no Wine prefix: run .ci/wine/lane.sh, or set CNCOP_WINEPREFIX to a prefix holding the stand-in bcryptprimitives.dll");
  if (!prefixHasDll(p)) throw new Error(`the Wine prefix ${p} holds no system32/bcryptprimitives.dll (see .ci/wine/lane.sh)`);
  for (const f of [WIN_EXE, FAKE_AGENT]) if (!existsSync(f)) throw new Error(`${f} is missing: run .ci/wine/lane.sh once (it builds it)`);
  return p;
}

/** The Windows spelling of a Linux path (Wine's Z: drive is /). */
export function winPath(p: string): string {
  const abs = nodePath.resolve(p);
  return `Z:${abs.replace(/\//g, "\\")}`;
}

/** The Linux path of a Windows path on Z: or C: (the prefix's drive_c). */
export function unixPath(w: string): string {
  const m = /^([A-Za-z]):(.*)$/.exec(w);
  if (!m) throw new Error(`not a drive path: ${w}`);
  const rest = m[2]!.replace(/\\/g, "/");
  if (m[1]!.toLowerCase() === "z") return rest === "" ? "/" : rest;
  if (m[1]!.toLowerCase() === "c") return nodePath.join(winePrefix(), "drive_c", rest);
  throw new Error(`no Linux path for drive ${m[1]}:`);
}

/** Does `winepath -w` give the same Windows paths as `winPath` for these Linux paths? */
export async function winepathAgrees(paths: string[]): Promise<{ ok: boolean; winepath: string[]; ours: string[] }> {
  const proc = Bun.spawn(["winepath", "-w", ...paths], { env: wineEnv(), stdout: "pipe", stderr: "ignore", stdin: "ignore" });
  const out = (await new Response(proc.stdout).text()).split("\n").filter((l) => l !== "");
  await proc.exited;
  const ours = paths.map(winPath);
  return { ok: JSON.stringify(out) === JSON.stringify(ours), winepath: out, ours };
}

/** The environment of a program under Wine: a small fixed one, plus `extra`. */
export function wineEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    USER: process.env.USER ?? "root",
    LANG: "C.UTF-8",
    TZ: process.env.TZ ?? "UTC",
    WINEPREFIX: winePrefix(),
    WINEDEBUG: "-all",
    WINEDLLOVERRIDES: "mscoree,mshtml=",
    DISPLAY: "",
    NO_COLOR: "1",
    ...extra,
  };
}

export interface WineRunOptions {
  env?: Record<string, string>;
  /** Linux path of the working folder (default: the tree's root, else /tmp). */
  cwd?: string;
  timeoutMs?: number;
  stdin?: string;
}

/** Start a Windows program (`exe`: a Windows path, or a Linux path converted) under Wine. */
export function spawnWine(exe: string, args: readonly string[], o: WineRunOptions = {}): Bun.Subprocess<"pipe", "pipe", "pipe"> {
  const winExe = /^[A-Za-z]:/.test(exe) ? exe : winPath(exe);
  return Bun.spawn(["wine", winExe, ...args], { cwd: o.cwd ?? os.tmpdir(), env: wineEnv(o.env), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
}

/** How long a program's pipes are still read after it exited. */
const PIPE_SETTLE_MS = 1_500;

/** Reads a stream as it comes; `settle(ms)` gives the text once it ends, or what came within `ms`. */
function collect(stream: ReadableStream<Uint8Array>): { settle(ms: number): Promise<string> } {
  const dec = new TextDecoder();
  let text = "";
  const reader = stream.getReader();
  const done = (async () => {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return;
      text += dec.decode(value, { stream: true });
    }
  })().catch(() => {});
  return {
    async settle(ms) {
      await Promise.race([done, Bun.sleep(ms)]);
      reader.cancel().catch(() => {});
      return text;
    },
  };
}

/** Run a Windows program under Wine to its end (killed after `timeoutMs`); CRLF kept as given. */
export async function runWine(exe: string, args: readonly string[], o: WineRunOptions = {}): Promise<RunOutput> {
  const proc = spawnWine(exe, args, o);
  if (o.stdin !== undefined) proc.stdin.write(o.stdin);
  proc.stdin.end();
  const limitMs = o.timeoutMs ?? 90_000;
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill("SIGKILL");
  }, limitMs);
  const out = collect(proc.stdout);
  const err = collect(proc.stderr);
  const exitCode = await proc.exited;
  clearTimeout(timer);
  // Wine's own services (services.exe, winedevice.exe, ...), started when the first program of
  // a prefix starts, inherit that program's pipes and keep them open as long as the
  // wineserver runs: once the program has exited, its output is read for a moment, not to EOF.
  const [stdout, stderr] = await Promise.all([out.settle(PIPE_SETTLE_MS), err.settle(PIPE_SETTLE_MS)]);
  return { exitCode, stdout, stderr: killed ? `${stderr}\n[killed after ${limitMs} ms]` : stderr };
}

/** Each job's final state as cncopagent printed it (`job 3 'title': OK ...`), by jobid. */
export function finalStates(out: RunOutput): Record<number, string> {
  const states: Record<number, string> = {};
  for (const m of `${out.stdout}\n${out.stderr}`.matchAll(/^job (\d+) '.*': (OK|ERROR|SKIPPED)\b/gm)) states[Number(m[1])] = m[2]!;
  return states;
}

/** The session of each job run in a CA log text, by jobid (the last one when it ran twice). */
export function sessionsOf(caLog: string): Record<number, string> {
  const sessions: Record<number, string> = {};
  for (const m of caLog.matchAll(/ job (\d+) '.*' \([^)]*\): session (\S+)/g)) sessions[Number(m[1])] = m[2]!;
  return sessions;
}

/** What the fake agent recorded of one start (see .ci/wine/fakeagent.c). */
export interface FakeCall {
  program: string;
  commandLine: string;
  cwd: string;
  argv: string[];
  env: Record<string, string>;
}

export interface WinTree {
  /** Linux paths. */
  root: string;
  bin: string;
  configFile: string;
  dbFile: string;
  /** The same as Windows paths. */
  winRoot: string;
  winBin: string;
  winConfig: string;
  writeConfig(text: string): void;
  addJob(job: JobRow): number;
  /** The fake agent as Bin\<name> (a name ending in .exe), doing what `behaviour` says (key=value lines). */
  fake(name: string, behaviour?: string[]): string;
  /** A batch file Bin\<name> (.cmd or .bat) with these lines, written with CRLF. */
  batch(name: string, lines: string[]): string;
  /** Every start the fake agent recorded in this tree (Linux folder <root>/calls), oldest first. */
  calls(): FakeCall[];
  /** Run a program of the suite: Bin\<program>.exe under Wine, CNCOP_HOME set to the root unless `env` says otherwise. */
  run(program: string, args: string[], o?: WineRunOptions): Promise<RunOutput>;
  spawn(program: string, args: string[], o?: WineRunOptions): Bun.Subprocess<"pipe", "pipe", "pipe">;
  caLogText(): string;
  reports(prefix?: string): { name: string; body: Record<string, unknown> }[];
  cleanup(): void;
}

export interface WinTreeOptions {
  config?: string;
  createDb?: boolean;
  /** false: Bin\ holds cncopagent.exe alone (as unpacked from the zip); default: every <program>.exe as a hard link. */
  links?: boolean;
  /** A folder name part for the root (spaces and other characters test quoting). */
  tag?: string;
}

export function makeWinTree(opts: WinTreeOptions = {}): WinTree {
  winePrefix();
  const root = mkdtempSync(nodePath.join(os.tmpdir(), `cncop-win-${opts.tag ?? ""}`));
  const bin = nodePath.join(root, "Bin");
  const configFile = nodePath.join(root, "Config", "cncop3.ini");
  const dbFile = nodePath.join(root, "Config", "backupjobs.db");
  mkdirSync(bin, { recursive: true });
  mkdirSync(nodePath.dirname(configFile), { recursive: true });
  writeFileSync(configFile, opts.config ?? "[defaults]\r\ndays_of_logs = 90\r\n");
  if (opts.createDb !== false) {
    const db = new Database(dbFile, { create: true });
    db.exec(BACKUPJOB_SCHEMA);
    db.close();
  }
  // Hard links to the build: no 110 MB copy per tree (nothing here ever writes through them).
  linkSync(WIN_EXE, nodePath.join(bin, "cncopagent.exe"));
  if (opts.links !== false) for (const n of PROGRAM_NAMES) if (n !== "cncopagent") linkSync(WIN_EXE, nodePath.join(bin, `${n}.exe`));
  const t: WinTree = {
    root,
    bin,
    configFile,
    dbFile,
    winRoot: winPath(root),
    winBin: winPath(bin),
    winConfig: winPath(configFile),
    writeConfig: (text) => writeFileSync(configFile, text),
    addJob: (job) => insertJob(dbFile, job),
    fake(name, behaviour) {
      const p = nodePath.join(bin, name);
      rmSync(p, { force: true });
      copyFileSync(FAKE_AGENT, p);
      if (behaviour) writeFileSync(`${p}.fake`, behaviour.map((l) => `${l}\r\n`).join(""));
      return p;
    },
    batch(name, lines) {
      const p = nodePath.join(bin, name);
      writeFileSync(p, lines.map((l) => `${l}\r\n`).join(""));
      return p;
    },
    calls() {
      const dir = nodePath.join(root, "calls");
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .filter((n) => n.endsWith(".json"))
        .map((n) => ({ n, tick: Number(/-(\d+)\.json$/.exec(n)?.[1] ?? 0) }))
        .sort((a, b) => a.tick - b.tick || a.n.localeCompare(b.n))
        .map(({ n }) => JSON.parse(readFileSync(nodePath.join(dir, n), "utf8")) as FakeCall);
    },
    spawn(program, args, o = {}) {
      return spawnWine(`${t.winBin}\\${program}.exe`, args, { cwd: root, ...o, env: { CNCOP_HOME: t.winRoot, ...o.env } });
    },
    async run(program, args, o = {}) {
      return runWine(`${t.winBin}\\${program}.exe`, args, { cwd: root, ...o, env: { CNCOP_HOME: t.winRoot, ...o.env } });
    },
    caLogText() {
      const dir = nodePath.join(root, "Logs");
      if (!existsSync(dir)) return "";
      return readdirSync(dir)
        .filter((n) => n.startsWith("CA-"))
        .sort()
        .map((n) => readFileSync(nodePath.join(dir, n), "utf8"))
        .join("");
    },
    reports(prefix) {
      const dir = nodePath.join(root, "Spool", "Messages");
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .filter((n) => n.endsWith(".json") && !n.startsWith(".") && (!prefix || n.startsWith(prefix)))
        .sort()
        .map((name) => ({ name, body: JSON.parse(readFileSync(nodePath.join(dir, name), "utf8")) as Record<string, unknown> }));
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  return t;
}
