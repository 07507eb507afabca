/**
 * Linux: make cncopagent a child subreaper (prctl PR_SET_CHILD_SUBREAPER) through bun:ffi,
 * so that a descendant whose parent exits (a double fork, a daemon) is re-parented to
 * cncopagent instead of init and can still be found as part of the tree, and reap such
 * adopted orphans once they end (waitpid on their pid only: the runtime reaps the children
 * it started itself).
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

function load() {
  return dlopen("libc.so.6", {
    prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  }).symbols;
}

let libc: ReturnType<typeof load> | null | undefined;
let loadError = "";

function lib(): ReturnType<typeof load> | undefined {
  if (libc === undefined) {
    try {
      libc = load();
    } catch (err) {
      libc = null;
      loadError = (err as Error).message;
    }
  }
  return libc ?? undefined;
}

let subreaper = false;

/** Become a child subreaper; undefined on success, else why not (the caller logs it). */
export function becomeSubreaper(platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform !== "linux") return "only Linux has child subreapers";
  if (subreaper) return undefined;
  const c = lib();
  if (!c) return `libc could not be loaded: ${loadError}`;
  if (c.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0) return "prctl(PR_SET_CHILD_SUBREAPER) failed";
  subreaper = true;
  return undefined;
}

export function isSubreaper(): boolean {
  return subreaper;
}

/** Collect the exit status of an adopted orphan that has ended (a zombie of ours). */
export function reapOrphan(pid: number): void {
  const c = lib();
  if (!c || pid <= 0) return;
  const status = new Int32Array(1);
  c.waitpid(pid, ptr(status), WNOHANG);
}
