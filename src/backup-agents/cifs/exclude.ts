/**
 * Exclude patterns of the file-system agent (`settings.exclude`), matched with Bun.Glob:
 *
 * - `*` and `?` stay within one name, `**` crosses folders, `[abc]` and `{a,b}` work;
 *   `\` escapes a special character, so `/` separates folders on every OS.
 * - A pattern without `/` matches a name at any depth: `*.tmp`, `Thumbs.db`, `cache`.
 * - A pattern with `/` matches the path from the source root: `logs/*.old`, `build/**`;
 *   a leading `/` only anchors (`/Temp` is the top-level Temp, not a/Temp).
 * - A trailing `/` matches folders only: `cache/`.
 * - An excluded folder is not entered. Excluded paths are never copied and, with
 *   `delete`, never deleted at the destination.
 * - Matching ignores case on Windows, and respects it elsewhere.
 */
export interface ExcludeRule {
  readonly pattern: string;
  readonly glob: InstanceType<typeof Bun.Glob>;
  readonly onPath: boolean;
  readonly dirsOnly: boolean;
}

export class ExcludeError extends Error {}

export function compileExcludes(patterns: readonly string[], ignoreCase: boolean): ExcludeRule[] {
  return patterns.map((pattern) => {
    let p = pattern.trim();
    const dirsOnly = p.endsWith("/");
    if (dirsOnly) p = p.replace(/\/+$/, "");
    const anchored = p.startsWith("/");
    p = p.replace(/^\/+/, "");
    if (p === "") throw new ExcludeError(`exclude pattern ${JSON.stringify(pattern)} matches nothing (it is empty or only slashes)`);
    if (ignoreCase) p = p.toLowerCase();
    return { pattern, glob: new Bun.Glob(p), onPath: anchored || p.includes("/"), dirsOnly };
  });
}

export interface Excluder {
  /** Is this entry excluded? `rel` uses `/` between names, no leading `/`. */
  excluded(rel: string, name: string, isDir: boolean): ExcludeRule | undefined;
  readonly count: number;
}

export function makeExcluder(patterns: readonly string[], platform: NodeJS.Platform = process.platform): Excluder {
  const ignoreCase = platform === "win32";
  const rules = compileExcludes(patterns, ignoreCase);
  return {
    count: rules.length,
    excluded(rel, name, isDir) {
      if (rules.length === 0) return undefined;
      const r = ignoreCase ? rel.toLowerCase() : rel;
      const n = ignoreCase ? name.toLowerCase() : name;
      for (const rule of rules) {
        if (rule.dirsOnly && !isDir) continue;
        if (rule.glob.match(rule.onPath ? r : n)) return rule;
      }
      return undefined;
    },
  };
}
