/**
 * Setting a copy's times to the nanosecond. Node's utimes takes seconds as a double,
 * which loses up to a quarter of a microsecond for today's dates, so on Linux and macOS
 * the C library's utimensat() is called through bun:ffi; where that is not available
 * (Windows, another libc) utimes is used, exact to the microsecond or so. Times are
 * compared as the milliseconds (with fraction) of plain fs stats, which are faster to get
 * than bigint ones and exact to about 0.25 µs, with a tolerance of MIN_WINDOW_MS.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { utimesSync } from "node:fs";

/** Differences below one microsecond are rounding, not changes. */
export const MIN_WINDOW_MS = 0.001;

type Utimensat = (path: string, atimeNs: bigint, mtimeNs: bigint, noFollow: boolean) => boolean;

let native: Utimensat | null | undefined;

function loadNative(): Utimensat | null {
  if (process.platform !== "linux" && process.platform !== "darwin") return null;
  try {
    const libName = process.platform === "darwin" ? "libc.dylib" : "libc.so.6";
    const lib = dlopen(libName, { utimensat: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 } });
    const AT_FDCWD = process.platform === "darwin" ? -2 : -100;
    const AT_SYMLINK_NOFOLLOW = process.platform === "darwin" ? 0x20 : 0x100;
    const times = new BigInt64Array(4);
    const fn = lib.symbols.utimensat;
    return (path, atimeNs, mtimeNs, noFollow) => {
      times[0] = atimeNs / 1_000_000_000n;
      times[1] = atimeNs % 1_000_000_000n;
      times[2] = mtimeNs / 1_000_000_000n;
      times[3] = mtimeNs % 1_000_000_000n;
      const cpath = Buffer.from(`${path}\0`, "utf8");
      return fn(AT_FDCWD, ptr(cpath), ptr(times), noFollow ? AT_SYMLINK_NOFOLLOW : 0) === 0;
    };
  } catch {
    return null;
  }
}

/**
 * Set atime and mtime (nanoseconds since the epoch, both >= 0). Throws like fs does when
 * the file cannot be changed.
 */
export function setTimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  if (native === undefined) native = loadNative();
  if (native && atimeNs >= 0n && mtimeNs >= 0n && native(path, atimeNs, mtimeNs, false)) return;
  // The fallback also reports the real error (ENOENT, EPERM...) when the native call failed.
  utimesSync(path, Number(atimeNs) / 1e9, Number(mtimeNs) / 1e9);
}

/** Equal modification times (in ms): at most `windowMs` apart, or less than MIN_WINDOW_MS. */
export function sameTime(aMs: number, bMs: number, windowMs: number): boolean {
  const d = Math.abs(aMs - bMs);
  return d < MIN_WINDOW_MS || d <= windowMs;
}
