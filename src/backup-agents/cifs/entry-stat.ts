/**
 * The walk's stat: kind, size, modification time (ms with fraction), file id and mode of
 * one entry. On Linux it calls statx() through bun:ffi, about a third cheaper than
 * fs.lstatSync, which matters when an incremental run does nothing but stat both trees;
 * elsewhere, or when that is not available, it is fs.lstatSync/statSync. A failing call
 * is repeated through fs, so errors are Node's own (with `code`), and a missing entry is
 * `undefined` either way.
 */
import { dlopen, FFIType } from "bun:ffi";
import { lstatSync, type Stats, statSync } from "node:fs";

export type EntryKind = "file" | "dir" | "link" | "other";

export interface EntryStat {
  readonly kind: EntryKind;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  /** With `ino`: the same folder reached twice (a link loop). glibc's dev_t encoding. */
  readonly dev: number;
  readonly mode: number;
}

/** Device and file id as one key. */
export function fileId(st: EntryStat): string {
  return `${st.dev}:${st.ino}`;
}

const S_IFMT = 0o170000;
const kindOfMode = (mode: number): EntryKind => {
  const t = mode & S_IFMT;
  return t === 0o100000 ? "file" : t === 0o040000 ? "dir" : t === 0o120000 ? "link" : "other";
};

export function fromStats(st: Stats): EntryStat {
  return { kind: kindOfMode(st.mode), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev, mode: st.mode };
}

function viaFs(path: string, follow: boolean): EntryStat | undefined {
  const st = follow ? statSync(path, { throwIfNoEntry: false }) : lstatSync(path, { throwIfNoEntry: false });
  return st ? fromStats(st) : undefined;
}

type Native = (path: string, follow: boolean) => EntryStat | null;

function loadStatx(): Native | undefined {
  if (process.platform !== "linux" || process.env.CNCOP_NO_STATX === "1") return undefined;
  try {
    const lib = dlopen("libc.so.6", { statx: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 } });
    const statx = lib.symbols.statx;
    const AT_FDCWD = -100;
    const AT_SYMLINK_NOFOLLOW = 0x100;
    const STATX_BASIC_STATS = 0x7ff;
    const buf = new Uint8Array(256);
    const view = new DataView(buf.buffer);
    const pathBuf = new Uint8Array(16 * 1024);
    const encoder = new TextEncoder();
    return (path, follow) => {
      const r = encoder.encodeInto(path, pathBuf);
      if (r.read !== path.length || r.written >= pathBuf.length) return null;
      pathBuf[r.written] = 0;
      if (statx(AT_FDCWD, pathBuf, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf) !== 0) return null;
      // 64-bit fields read as two halves: no BigInt in the hot path.
      const u64 = (at: number) => view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x100000000;
      const mode = view.getUint16(28, true);
      const mtimeMs = (view.getUint32(112, true) + view.getInt32(116, true) * 0x100000000) * 1000 + view.getUint32(120, true) / 1e6;
      const major = view.getUint32(136, true);
      const minor = view.getUint32(140, true);
      // glibc's makedev(), so ids match those of fs stats.
      const dev = (minor & 0xff) + (major & 0xfff) * 0x100 + (minor >>> 8) * 0x100000 + (major >>> 12) * 0x100000000000;
      return { kind: kindOfMode(mode), size: u64(40), mtimeMs, ino: u64(32), dev, mode };
    };
  } catch {
    return undefined;
  }
}

let native: Native | undefined | null = null;

/** lstat (or stat with `follow`): undefined when the entry does not exist; throws other errors. */
export function entryStat(path: string, follow = false): EntryStat | undefined {
  if (native === null) native = loadStatx();
  if (native) {
    const st = native(path, follow);
    if (st) return st;
  }
  return viaFs(path, follow);
}
