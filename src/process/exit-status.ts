/**
 * Exit statuses in words. On Windows a process that crashed or was interrupted ends with
 * an NTSTATUS code (0xC0000005 for an access violation, 0xC000013A after Ctrl-C or a closed
 * console), which as a bare number (3221225477) tells nobody anything: such statuses are
 * shown in hex with their meaning. Elsewhere a status is the number it is.
 */

/** The NTSTATUS codes a process is commonly seen ending with, and what they mean. */
export const NTSTATUS_NAMES: Readonly<Record<number, string>> = {
  0x40010004: "terminated by another process, DBG_TERMINATE_PROCESS",
  0x80000003: "breakpoint reached, STATUS_BREAKPOINT",
  0xc0000005: "access violation, STATUS_ACCESS_VIOLATION",
  0xc0000006: "in-page error: the program's file could not be read, e.g. its disk or share went away, STATUS_IN_PAGE_ERROR",
  0xc0000008: "invalid handle, STATUS_INVALID_HANDLE",
  0xc0000017: "out of memory, STATUS_NO_MEMORY",
  0xc000001d: "illegal instruction, STATUS_ILLEGAL_INSTRUCTION",
  0xc0000022: "access denied, STATUS_ACCESS_DENIED",
  0xc000007b: "bad executable image, e.g. 32-bit against 64-bit, STATUS_INVALID_IMAGE_FORMAT",
  0xc0000094: "integer division by zero, STATUS_INTEGER_DIVIDE_BY_ZERO",
  0xc0000096: "privileged instruction, STATUS_PRIVILEGED_INSTRUCTION",
  0xc00000fd: "stack overflow, STATUS_STACK_OVERFLOW",
  0xc0000135: "a DLL it needs was not found, STATUS_DLL_NOT_FOUND",
  0xc0000139: "an entry point was not found in a DLL, STATUS_ENTRYPOINT_NOT_FOUND",
  0xc000013a: "interrupted by Ctrl-C or a closed console, STATUS_CONTROL_C_EXIT",
  0xc0000142: "a DLL failed to initialise, STATUS_DLL_INIT_FAILED",
  0xc0000374: "heap corruption, STATUS_HEAP_CORRUPTION",
  0xc0000409: "stack buffer overrun or fail-fast exit, STATUS_STACK_BUFFER_OVERRUN",
  0xc0000417: "invalid parameter to a C runtime function, STATUS_INVALID_CRUNTIME_PARAMETER",
  0xc0000420: "assertion failure, STATUS_ASSERTION_FAILURE",
};

/**
 * An exit status for people: `3` stays `3`; on Windows 0xC0000005 (however it arrives,
 * 3221225477 or -1073741819) is `0xC0000005 (access violation, STATUS_ACCESS_VIOLATION)`.
 * The meaning holds no parentheses, so log readers can skip it as one group.
 */
export function exitStatusText(code: number | null, platform: NodeJS.Platform = process.platform): string {
  if (code === null) return "unknown";
  if (platform !== "win32" || (code >= 0 && code < 0x10000)) return String(code);
  const u = code >>> 0;
  const hex = `0x${u.toString(16).toUpperCase().padStart(8, "0")}`;
  const name = NTSTATUS_NAMES[u];
  return name ? `${hex} (${name})` : hex;
}
