/**
 * The few kernel32 calls the suite needs on Windows, through bun:ffi: a process's creation
 * time (its identity with the pid), job objects (a whole process tree that ends together)
 * and the console's code page. Loaded on first use, only on Windows; every function says
 * "unavailable" (undefined or false) rather than throwing, so that callers fall back loudly.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

const PROCESS_TERMINATE = 0x0001;
const PROCESS_SET_QUOTA = 0x0100;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
/** JOBOBJECTINFOCLASS JobObjectExtendedLimitInformation. */
const JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9;
export const JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000;
/** sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION) on x64, and the offset of BasicLimitInformation.LimitFlags. */
export const EXTENDED_LIMIT_SIZE = 144;
export const LIMIT_FLAGS_OFFSET = 16;

function load() {
  return dlopen("kernel32.dll", {
    OpenProcess: { args: [FFIType.u32, FFIType.i32, FFIType.u32], returns: FFIType.u64 },
    CloseHandle: { args: [FFIType.u64], returns: FFIType.i32 },
    GetProcessTimes: { args: [FFIType.u64, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    GetCurrentProcess: { args: [], returns: FFIType.u64 },
    GetExitCodeProcess: { args: [FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    CreateJobObjectW: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.u64 },
    SetInformationJobObject: { args: [FFIType.u64, FFIType.u32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    AssignProcessToJobObject: { args: [FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    TerminateJobObject: { args: [FFIType.u64, FFIType.u32], returns: FFIType.i32 },
    GetLastError: { args: [], returns: FFIType.u32 },
    GetConsoleOutputCP: { args: [], returns: FFIType.u32 },
    GetOEMCP: { args: [], returns: FFIType.u32 },
  }).symbols;
}

type Kernel32 = ReturnType<typeof load>;
let kernel: Kernel32 | null | undefined;
let loadError = "";

/** kernel32, or undefined (not Windows, or bun:ffi unavailable; loadFailure() says why). */
export function kernel32(platform: NodeJS.Platform = process.platform): Kernel32 | undefined {
  if (platform !== "win32") return undefined;
  if (kernel === undefined) {
    try {
      kernel = load();
    } catch (err) {
      kernel = null;
      loadError = (err as Error).message;
    }
  }
  return kernel ?? undefined;
}

export function loadFailure(): string {
  return loadError || "kernel32 could not be loaded";
}

function lastError(k: Kernel32): string {
  return `Windows error ${k.GetLastError()}`;
}

/**
 * The creation time of a running process as a decimal FILETIME (100 ns since 1601, UTC,
 * fixed when the process was created: a later clock change does not alter it); undefined
 * when no such process runs or it cannot be opened.
 */
export function windowsProcessStart(pid: number): string | undefined {
  const k = kernel32();
  if (!k) return undefined;
  const h = k.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
  if (!h) return undefined;
  try {
    const times = new BigUint64Array(4);
    if (!k.GetProcessTimes(h, ptr(times, 0), ptr(times, 8), ptr(times, 16), ptr(times, 24))) return undefined;
    // An ended process that someone still holds a handle to has an exit time.
    if (times[1] !== 0n) return undefined;
    return String(times[0]);
  } finally {
    k.CloseHandle(h);
  }
}

/**
 * A handle to process `pid`, held by us: while it is open the pid cannot be given to another
 * process, and the full exit status can be read (the runtime keeps only its low byte).
 */
export function openProcessHandle(pid: number): bigint | undefined {
  const k = kernel32();
  if (!k) return undefined;
  const h = BigInt(k.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid));
  return h === 0n ? undefined : h;
}

const STILL_ACTIVE = 259;

/** The full 32-bit exit status of an ended process (0xC0000005, ...); undefined while it runs or unknown. */
export function processExitCode(handle: bigint): number | undefined {
  const k = kernel32();
  if (!k) return undefined;
  const code = new Uint32Array(1);
  if (!k.GetExitCodeProcess(handle, ptr(code))) return undefined;
  return code[0] === STILL_ACTIVE ? undefined : code[0];
}

export function closeHandle(handle: bigint): void {
  kernel32()?.CloseHandle(handle);
}

export type JobResult<T> = { ok: T } | { error: string };

/** A new job object whose processes all end when its last handle closes (kill on close). */
export function createKillOnCloseJob(): JobResult<bigint> {
  const k = kernel32();
  if (!k) return { error: loadFailure() };
  const job = BigInt(k.CreateJobObjectW(null, null));
  if (job === 0n) return { error: `CreateJobObjectW failed (${lastError(k)})` };
  const set = setKillOnClose(job, true);
  if ("error" in set) {
    k.CloseHandle(job);
    return set;
  }
  return { ok: job };
}

/** Turn a job's kill-on-close limit on or off (the only limit the suite sets). */
export function setKillOnClose(job: bigint, on: boolean): JobResult<true> {
  const k = kernel32();
  if (!k) return { error: loadFailure() };
  const info = new Uint8Array(EXTENDED_LIMIT_SIZE);
  new DataView(info.buffer).setUint32(LIMIT_FLAGS_OFFSET, on ? JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE : 0, true);
  return k.SetInformationJobObject(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ptr(info), EXTENDED_LIMIT_SIZE)
    ? { ok: true }
    : { error: `SetInformationJobObject failed (${lastError(k)})` };
}

/** Put process `pid` (or this process, when pid is undefined) into `job`. */
export function assignToJob(job: bigint, pid: number | undefined): JobResult<true> {
  const k = kernel32();
  if (!k) return { error: loadFailure() };
  if (pid === undefined) {
    return k.AssignProcessToJobObject(job, k.GetCurrentProcess()) ? { ok: true } : { error: `AssignProcessToJobObject failed (${lastError(k)})` };
  }
  const h = k.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, 0, pid);
  if (!h) return { error: `OpenProcess(${pid}) failed (${lastError(k)})` };
  try {
    return k.AssignProcessToJobObject(job, h) ? { ok: true } : { error: `AssignProcessToJobObject(${pid}) failed (${lastError(k)})` };
  } finally {
    k.CloseHandle(h);
  }
}

/** End every process of the job at once, with `exitCode`. */
export function terminateJob(job: bigint, exitCode: number): JobResult<true> {
  const k = kernel32();
  if (!k) return { error: loadFailure() };
  return k.TerminateJobObject(job, exitCode) ? { ok: true } : { error: `TerminateJobObject failed (${lastError(k)})` };
}

export function closeJob(job: bigint): void {
  kernel32()?.CloseHandle(job);
}

/** The code page console programs write in: the console's output code page, else the OEM one. */
export function consoleCodePage(): number | undefined {
  const k = kernel32();
  if (!k) return undefined;
  return Number(k.GetConsoleOutputCP()) || Number(k.GetOEMCP()) || undefined;
}
