/**
 * `cncopagent --link`: every other program of the suite as a hard link to the running
 * executable, beside it (`<program>.exe` on Windows, on NTFS; `<program>` elsewhere), so a
 * distribution can carry the one executable alone. Idempotent: a link already pointing at
 * the executable is left alone; a stale one (another file of that name, e.g. the previous
 * version's after an upgrade) is replaced through a temporary name, so the name never
 * vanishes; a `.cmd` launcher of an older build beside it is removed (cmd.exe re-parses its
 * arguments). Nothing here writes into the executable itself.
 */
import { existsSync, linkSync, lstatSync, readFileSync, renameSync, rmSync, statSync, type Stats } from "node:fs";
import nodePath from "node:path";
import { escapeControls } from "../format/escape.ts";

export type LinkAction = "created" | "up to date" | "refreshed" | "removed launcher" | "failed";

export interface LinkOutcome {
  readonly action: LinkAction;
  /** The file acted on. */
  readonly path: string;
  /** For "refreshed" and "failed": what was there, or why it failed. */
  readonly detail?: string;
}

export interface LinkPlan {
  /** The running executable (process.execPath). */
  readonly exe: string;
  /** Every program of the suite, the executable's own among them. */
  readonly programs: readonly string[];
  readonly platform: NodeJS.Platform;
}

/** A launcher that an older build wrote for a program of the suite: it sets CNCOP_PROGRAM. */
export function isSuiteLauncher(file: string): boolean {
  try {
    if (statSync(file).size > 4096) return false;
    return /set "?CNCOP_PROGRAM=/i.test(readFileSync(file, "latin1"));
  } catch {
    return false;
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  // Windows reports the NTFS file index as ino (with the volume as dev).
  return a.ino !== 0 && a.dev === b.dev && a.ino === b.ino;
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message}` : String(err);
}

/** Link `target` to `exe`; a different file at `target` is replaced without a moment where the name is missing. */
function linkOne(exe: string, exeStat: Stats, target: string): LinkOutcome {
  let old: Stats | undefined;
  try {
    old = lstatSync(target);
  } catch {}
  if (old === undefined) {
    try {
      linkSync(exe, target);
      return { action: "created", path: target };
    } catch (err) {
      return { action: "failed", path: target, detail: linkHint(err) };
    }
  }
  if (old.isDirectory()) return { action: "failed", path: target, detail: "a folder of that name is in the way" };
  if (!old.isSymbolicLink() && sameFile(old, exeStat)) return { action: "up to date", path: target };
  const was = old.isSymbolicLink() ? "a symbolic link" : `another file of ${old.size} bytes`;
  const tmp = `${target}.link-${process.pid}.tmp`;
  try {
    rmSync(tmp, { force: true });
    linkSync(exe, tmp);
  } catch (err) {
    return { action: "failed", path: target, detail: linkHint(err) };
  }
  try {
    renameSync(tmp, target);
    return { action: "refreshed", path: target, detail: `was ${was}` };
  } catch (err) {
    rmSync(tmp, { force: true });
    const busy = ["EBUSY", "EPERM", "EACCES"].includes((err as NodeJS.ErrnoException).code ?? "");
    return { action: "failed", path: target, detail: `cannot replace ${was}${busy ? " (is that program running? stop it and run --link again)" : ""}: ${errText(err)}` };
  }
}

function linkHint(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === "EXDEV" || code === "ENOTSUP" || code === "EPERM" || code === "ENOSYS" ? " (hard links need one NTFS or POSIX volume; FAT and most network shares have none)" : "";
  return `cannot create a hard link${hint}: ${errText(err)}`;
}

/** Make or refresh every link beside `plan.exe`; returns one outcome per file acted on, in program order. */
export function linkPrograms(plan: LinkPlan): LinkOutcome[] {
  const p = plan.platform === "win32" ? nodePath.win32 : nodePath.posix;
  const dir = p.dirname(plan.exe);
  const ext = plan.platform === "win32" ? ".exe" : "";
  const own = p.basename(plan.exe).toLowerCase();
  const exeStat = statSync(plan.exe);
  const out: LinkOutcome[] = [];
  for (const name of plan.programs) {
    const target = p.join(dir, name + ext);
    if (p.basename(target).toLowerCase() === own) continue;
    out.push(linkOne(plan.exe, exeStat, target));
    if (plan.platform !== "win32") continue;
    for (const launcherExt of [".cmd", ".bat"]) {
      const launcher = p.join(dir, name + launcherExt);
      if (!existsSync(launcher) || !isSuiteLauncher(launcher)) continue;
      try {
        rmSync(launcher);
        out.push({ action: "removed launcher", path: launcher });
      } catch (err) {
        out.push({ action: "failed", path: launcher, detail: `cannot remove the old launcher: ${errText(err)}` });
      }
    }
  }
  return out;
}

/** One line per outcome, then a summary line; paths and errors with their control characters escaped. */
export function describeLinks(exe: string, outcomes: readonly LinkOutcome[]): string {
  const lines = outcomes.map((o) => `${o.action}: ${escapeControls(o.path)}${o.detail ? ` (${escapeControls(o.detail)})` : ""}`);
  const count = (a: LinkAction) => outcomes.filter((o) => o.action === a).length;
  const failed = count("failed");
  lines.push(
    `${failed ? "some links could not be made" : "links ready"} beside ${escapeControls(exe)}: ${count("created")} created, ${count("refreshed")} refreshed, ${count("up to date")} up to date` +
      `${count("removed launcher") ? `, ${count("removed launcher")} old launcher(s) removed` : ""}${failed ? `, ${failed} failed` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}
