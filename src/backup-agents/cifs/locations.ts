/**
 * Where the file-system agent reads and writes, for the OS it runs on. Pure functions
 * over `path.win32` or `path.posix`, so Windows forms (drive paths, UNC shares,
 * `\\?\` long paths) are tested on any OS.
 *
 * - Windows: `C:\Data`, `\\server\share\folder` (also written `//server/share/folder`),
 *   `\\?\C:\...` and `\\?\UNC\server\share\...`. A path without a drive or share is
 *   taken relative to the cncop root; `C:Data` (drive-relative) is refused.
 * - Elsewhere: an absolute path, or one relative to the cncop root. A UNC path or an
 *   smb:// URL is refused with how to mount the share.
 * - On Windows every file-system call gets the `\\?\` form, so paths longer than 260
 *   characters (deep trees) work without the registry's long-path setting.
 */
import nodePath from "node:path";

export type PathApi = typeof nodePath.posix;

export function pathApi(platform: NodeJS.Platform): PathApi {
  return platform === "win32" ? nodePath.win32 : nodePath.posix;
}

export class LocationError extends Error {}

const MOUNT_HINT =
  "mount the share first (Linux: mount -t cifs //server/share /mnt/share -o credentials=/root/.smbcred; macOS: mount_smbfs) and give the mount point";

/** The absolute, normalised location of `source` or `destination` (as shown to people). */
export function resolveLocation(text: string | undefined, what: "source" | "destination", root: string, platform: NodeJS.Platform): string {
  const p = pathApi(platform);
  const raw = (text ?? "").trim();
  if (raw === "") throw new LocationError(`the job has no ${what}: give it one with cncopjobs set JOB --${what} FOLDER`);
  if (/[\0\r\n]/.test(raw)) throw new LocationError(`the ${what} ${JSON.stringify(raw)} holds a line break or NUL`);
  if (/^smb:\/\//i.test(raw) || /^cifs:\/\//i.test(raw)) {
    throw new LocationError(`the ${what} ${raw} is a URL; ${platform === "win32" ? "write it as a UNC path: \\\\server\\share\\folder" : MOUNT_HINT}`);
  }
  if (platform === "win32") {
    let s = raw.replace(/\//g, "\\");
    if (/^\\\\\?\\UNC\\/i.test(s)) s = `\\\\${s.slice(8)}`;
    else if (/^\\\\\?\\[A-Za-z]:\\/.test(s)) s = s.slice(4);
    if (/^[A-Za-z]:(?![\\])/.test(s)) throw new LocationError(`the ${what} ${raw} is relative to the current folder of drive ${s[0]}:; write it as ${s[0]}:\\...`);
    if (s.startsWith("\\\\")) {
      const parts = s.slice(2).split("\\").filter((x) => x !== "");
      if (parts.length < 2) throw new LocationError(`the ${what} ${raw} names no share: write it as \\\\server\\share\\folder`);
    }
    const abs = p.resolve(root, s);
    return trimSep(abs, p);
  }
  if (raw.startsWith("\\\\") || raw.startsWith("//")) throw new LocationError(`the ${what} ${raw} is a UNC path, which works only on Windows: ${MOUNT_HINT}`);
  return trimSep(p.resolve(root, raw), p);
}

function trimSep(abs: string, p: PathApi): string {
  const root = p.parse(abs).root;
  return abs.length > root.length ? abs.replace(/[\\/]+$/, "") : abs;
}

/** The form handed to the file system: `\\?\`-prefixed on Windows, as it is elsewhere. */
export function fsPath(location: string, platform: NodeJS.Platform): string {
  return platform === "win32" ? nodePath.win32.toNamespacedPath(location) : location;
}

/** Is `inner` the same as, or inside, `outer`? Case-insensitive on Windows. */
export function isWithin(inner: string, outer: string, platform: NodeJS.Platform): boolean {
  const p = pathApi(platform);
  const fold = (s: string) => (platform === "win32" ? s.toLowerCase() : s);
  const rel = p.relative(fold(outer), fold(inner));
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${p.sep}`) && !p.isAbsolute(rel));
}

/** A child's path: `dir` joined with one name (names never hold a separator). */
export function childPath(dir: string, name: string, platform: NodeJS.Platform): string {
  const sep = platform === "win32" ? "\\" : "/";
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

/** The relative path as shown and matched: names joined with `/`. */
export function childRel(rel: string, name: string): string {
  return rel === "" ? name : `${rel}/${name}`;
}
