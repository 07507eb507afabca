/**
 * Pre/post command programs must lie inside `<root>/Bin/` (SPEC §5): the program is
 * resolved against Bin/, and its real path (every symlink resolved) must lie inside the
 * real path of Bin/. Lexical checks refuse the obvious escapes before the file system is
 * asked; the real-path check catches links. On Windows paths compare case-insensitively,
 * and other drives, UNC and device (\\?\, \\.\) paths, alternate data streams, reserved
 * device names (NUL, COM1, ...) and name parts ending in a dot or space are refused.
 */
import { realpathSync, statSync } from "node:fs";
import nodePath from "node:path";

export interface ConfineFs {
  realpath(p: string): string;
  isFile(p: string): boolean;
}

export const realFs: ConfineFs = {
  realpath: (p) => realpathSync.native(p),
  isFile: (p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  },
};

/**
 * `program` is the path as named in Bin/ (what the child sees as its argv[0], so that a
 * link named after a program of the suite still starts that program); `real` is the file
 * that was checked, and the only one ever started: resolve once, check the real path,
 * start the real path. A link swapped after the check changes nothing.
 */
export type ConfineResult = { ok: true; program: string; real: string } | { ok: false; reason: string };

const WINDOWS_EXECUTABLE_EXTENSIONS = [".exe", ".cmd", ".bat", ".com"];
/** CON, NUL, COM1 ... with or without an extension name a device, not a file, in any folder. */
const WINDOWS_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$)(\.[^\\/]*)?$/i;

/** Is `child` equal to or inside `parent` (both absolute, normalised)? */
export function isInside(parent: string, child: string, platform: NodeJS.Platform): boolean {
  const p = platform === "win32" ? nodePath.win32 : nodePath.posix;
  const fold = (s: string) => (platform === "win32" ? s.toLowerCase() : s);
  const rel = p.relative(fold(parent), fold(child));
  if (rel === "") return true;
  return rel !== ".." && !rel.startsWith(`..${p.sep}`) && !rel.startsWith("../") && !p.isAbsolute(rel);
}

/** Lexical refusals that need no file system; undefined when the spelling is acceptable. */
export function lexicalRefusal(program: string, bin: string, platform: NodeJS.Platform): string | undefined {
  if (program === "") return "the command line names no program";
  if (program.includes("\0")) return "the program name holds a NUL byte";
  if (platform === "win32") {
    const w = nodePath.win32;
    if (/^[\\/]{2}/.test(program)) return "UNC and device paths (\\\\server\\share, \\\\?\\, \\\\.\\) are not allowed";
    const stripped = program.replace(/^[A-Za-z]:/, "");
    if (stripped.includes(":")) return "alternate data streams (name:stream) are not allowed";
    if (/^[A-Za-z]:(?![\\/])/.test(program)) return "drive-relative paths (C:name) are not allowed";
    const drive = /^([A-Za-z]):/.exec(program)?.[1];
    const binDrive = /^([A-Za-z]):/.exec(bin)?.[1];
    if (drive && binDrive && drive.toLowerCase() !== binDrive.toLowerCase()) return `the program is on drive ${drive.toUpperCase()}: but Bin/ is on drive ${binDrive.toUpperCase()}:`;
    if (/[<>|?*"]/.test(stripped)) return "the program name holds a character Windows does not allow in file names";
    const parts = stripped.split(/[\\/]/).filter((s) => s !== "" && s !== "." && s !== "..");
    if (parts.some((s) => /[. ]$/.test(s))) return "a part of the program path ends with a dot or a space, which Windows drops";
    const device = parts.find((s) => WINDOWS_DEVICE_NAME.test(s));
    if (device) return `${device} is a reserved device name on Windows`;
    const resolved = w.resolve(bin, program);
    if (!isInside(w.resolve(bin), resolved, "win32")) return "the program path leads outside Bin/";
    return undefined;
  }
  const resolved = nodePath.posix.resolve(bin, program);
  if (!isInside(nodePath.posix.resolve(bin), resolved, "posix" as NodeJS.Platform)) return "the program path leads outside Bin/";
  return undefined;
}

/**
 * Resolve a command's program inside Bin/. On Windows a name without an extension is
 * tried with .exe, .cmd, .bat and .com.
 */
export function confineProgram(program: string, bin: string, platform: NodeJS.Platform = process.platform, fs: ConfineFs = realFs): ConfineResult {
  const where = `it must be a program inside ${bin} (a name such as dump.sh, or a path below that folder)`;
  const lexical = lexicalRefusal(program, bin, platform);
  if (lexical) return { ok: false, reason: `${lexical}: ${where}` };
  const p = platform === "win32" ? nodePath.win32 : nodePath.posix;
  const base = p.resolve(bin, program);
  let candidates = [base];
  if (platform === "win32" && !WINDOWS_EXECUTABLE_EXTENSIONS.includes(p.extname(base).toLowerCase())) {
    candidates = WINDOWS_EXECUTABLE_EXTENSIONS.map((e) => base + e);
  }
  const found = candidates.find((c) => fs.isFile(c));
  if (!found) return { ok: false, reason: `program ${program} not found in ${bin}: ${where}` };
  return confineFound(found, bin, platform, fs, where);
}

/**
 * The real path of `found` (a file named in Bin/), when it lies inside the real path of
 * Bin/: resolved once, and that resolved path is what is started. Pre/post commands and
 * agents both go through here.
 */
export function confineFound(found: string, bin: string, platform: NodeJS.Platform = process.platform, fs: ConfineFs = realFs, where = `it must lie inside ${bin}`): ConfineResult {
  let realBin: string;
  let realProgram: string;
  try {
    realBin = fs.realpath(bin);
    realProgram = fs.realpath(found);
  } catch (err) {
    return { ok: false, reason: `cannot resolve ${found}: ${(err as Error).message}` };
  }
  if (!isInside(realBin, realProgram, platform) || realProgram === realBin) {
    return { ok: false, reason: `${found} resolves to ${realProgram}, outside ${realBin}: ${where}` };
  }
  if (!fs.isFile(realProgram)) return { ok: false, reason: `${found} resolves to ${realProgram}, which is not a file` };
  return { ok: true, program: found, real: realProgram };
}
