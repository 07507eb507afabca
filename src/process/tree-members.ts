/**
 * Linux: which processes make up a child's tree, from one read of /proc. A process group
 * alone is not the tree: a descendant may start a session or group of its own (setsid, a
 * daemon's double fork). So the tree is
 *
 * - the child and the members of its process group (when it leads one),
 * - every descendant of those, by parent links,
 * - when a run's session is given (the dispatcher stopping a job's tree): every process
 *   whose environment carries `CNCOP_SESSION=<session>` (agents and commands get it, and
 *   their descendants inherit it), and every orphan re-parented to us as child subreaper
 *   (src/process/native-linux.ts) that we did not start ourselves, with their descendants.
 *
 * Never this process, never a zombie (it has ended already).
 */
import { linuxEnvironHas, linuxStat, type ProcStat, procPids, running, sessionEntry } from "./proc-info.ts";

export interface ProcEntry extends ProcStat {
  readonly pid: number;
}

/** Every process /proc shows now (a process that ends while it is read is left out). */
export function readProcTable(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const pid of procPids()) {
    const st = linuxStat(pid);
    if (st) out.push({ pid, ...st });
  }
  return out;
}

/**
 * Other POSIX systems (macOS, BSD): the table from `ps -axo pid=,ppid=,pgid=,stat=`. Start
 * times and environments are not read there: the tree is the group and parent links.
 */
export function parsePsTable(text: string): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)/.exec(line);
    if (!m) continue;
    out.push({ pid: Number(m[1]), ppid: Number(m[2]), pgrp: Number(m[3]), state: m[4]!.startsWith("Z") ? "Z" : "S", start: "0" });
  }
  return out;
}

export interface TreeQuery {
  /** The child, and whether its process group is part of the tree. */
  readonly root?: { readonly pid: number; readonly group: boolean } | undefined;
  /** The run's session: its processes and our adopted orphans belong to the tree. */
  readonly session?: string | undefined;
  /** This process. */
  readonly self: number;
  /** The children we started ourselves and that still run: never taken for adopted orphans. */
  readonly ownChildren: ReadonlySet<number>;
  /** Only a process started at or after these boot ticks can carry the session (our own start). */
  readonly sinceTicks?: string | null | undefined;
}

export type EnvironCheck = (pid: number, entry: string) => boolean | undefined;

/**
 * One look at a process's environment, no retry: a sweep is repeated while a tree is
 * stopped, so a process caught mid-execve (its environ empty for a moment) is found the
 * next time, and kernel threads (always empty) cost no waiting.
 */
const environOnce: EnvironCheck = (pid, entry) => linuxEnvironHas(pid, entry, 0);

/** Kernel threads: kthreadd (pid 2) and its children. Never part of a tree. */
const kernelThread = (p: ProcEntry) => p.pid === 2 || p.ppid === 2;

/** The live members of the tree described by `q`, from `table`. */
export function treeMembers(q: TreeQuery, table: readonly ProcEntry[] = readProcTable(), environHas: EnvironCheck = environOnce): ProcEntry[] {
  const live = table.filter((p) => p.pid !== q.self && running(p) && !kernelThread(p));
  const members = new Map<number, ProcEntry>();
  const min = q.sinceTicks ? BigInt(q.sinceTicks) : 0n;
  const entry = q.session === undefined ? undefined : sessionEntry(q.session);
  for (const p of live) {
    const root = q.root;
    const ofRoot = root !== undefined && (p.pid === root.pid || (root.group && p.pgrp === root.pid));
    const adopted = entry !== undefined && p.ppid === q.self && !q.ownChildren.has(p.pid);
    const ofSession = entry !== undefined && BigInt(p.start) >= min && environHas(p.pid, entry) === true;
    if (ofRoot || adopted || ofSession) members.set(p.pid, p);
  }
  // Descendants by parent links, however they grouped themselves.
  const children = new Map<number, ProcEntry[]>();
  for (const p of live) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const queue = [...members.keys()];
  for (let i = 0; i < queue.length; i++) {
    for (const c of children.get(queue[i]!) ?? []) {
      if (members.has(c.pid)) continue;
      members.set(c.pid, c);
      queue.push(c.pid);
    }
  }
  return [...members.values()];
}
