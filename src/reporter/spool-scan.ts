/**
 * Which files in `Spool/Messages/` are reports, and in which order they are sent (SPEC §6):
 * every `JE-`, then `JS-`, `JF-`, `VIRUS-`; oldest first within a prefix by the time the
 * file was written (its mtime; the atomic writer renames a finished file into place, so
 * mtime is when its content was written), ties by name. Temporary files start with a dot
 * and never match; neither do other names, folders or links.
 */
import { type Dirent, readdirSync, statSync } from "node:fs";
import nodePath from "node:path";
import { REPORT_PREFIXES, type ReportPrefix } from "../reports/report-files.ts";

/** `<PREFIX><anything unique>.json`, case as written by the suite. */
export const REPORT_NAME_RE = /^(JE-|JS-|JF-|VIRUS-).+\.json$/;

export type Endpoint = "submit_jobresults" | "submit_virus_alerts";

export interface SpoolEntry {
  readonly name: string;
  readonly path: string;
  readonly prefix: ReportPrefix;
  /** When it was written (epoch ms). */
  readonly mtimeMs: number;
  /** Its size in bytes. */
  readonly size: number;
}

export function prefixOf(name: string): ReportPrefix | undefined {
  const m = REPORT_NAME_RE.exec(name);
  return m ? (m[1] as ReportPrefix) : undefined;
}

export function endpointOf(prefix: ReportPrefix): Endpoint {
  return prefix === "VIRUS-" ? "submit_virus_alerts" : "submit_jobresults";
}

/** `<url>/<endpoint>`; `url` carries no trailing slash (the config strips it). */
export function endpointUrl(baseUrl: string, prefix: ReportPrefix): string {
  return `${baseUrl.replace(/\/+$/, "")}/${endpointOf(prefix)}`;
}

/** The sending order: prefix rank, then mtime, then name. Pure; returns a new array. */
export function orderReports<T extends Pick<SpoolEntry, "name" | "prefix" | "mtimeMs">>(entries: readonly T[]): T[] {
  const rank = (p: ReportPrefix) => REPORT_PREFIXES.indexOf(p);
  return [...entries].sort((a, b) => rank(a.prefix) - rank(b.prefix) || a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Reports in sending order. A file that vanishes while being listed is simply not there. */
export function scanMessages(dir: string): SpoolEntry[] {
  let dirents: Dirent[];
  try {
    dirents = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const entries: SpoolEntry[] = [];
  for (const d of dirents) {
    const prefix = prefixOf(d.name);
    if (!prefix || !d.isFile()) continue;
    const path = nodePath.join(dir, d.name);
    try {
      const st = statSync(path);
      entries.push({ name: d.name, path, prefix, mtimeMs: st.mtimeMs, size: st.size });
    } catch {
      // Sent and deleted by another reporter in the meantime.
    }
  }
  return orderReports(entries);
}
