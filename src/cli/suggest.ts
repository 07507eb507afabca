/**
 * "Did you mean": the known word nearest to a mistyped one (an option, a subcommand, a job
 * title, a log prefix), by edit distance with transpositions (`--maxretires` is one step
 * from `--maxretries`), or the one known word it is the start of (`--all` → `--alljobs`).
 * And the line every short usage error ends with: where the rest is.
 */

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/** How far a word of this length may be from a suggestion: about one typo per three letters. */
function allowedDistance(length: number): number {
  return Math.max(1, Math.floor(length / 3));
}

/**
 * The candidate the user most likely meant, compared without case: the nearest within the
 * allowed distance (ties: the first given), else the only candidate that starts with the
 * word; undefined when nothing is close or the word is too short to guess from.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const bare = w.replace(/^-+/, "");
  if (bare.length < 2) return undefined;
  let best: { name: string; d: number } | undefined;
  const prefixed: string[] = [];
  for (const name of candidates) {
    const c = name.toLowerCase();
    if (c === w) continue;
    const d = editDistance(w, c);
    if (d <= allowedDistance(bare.length) && (!best || d < best.d)) best = { name, d };
    if (c.startsWith(w)) prefixed.push(name);
  }
  if (best) return best.name;
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** `; did you mean X?` when a candidate is near, else "". */
export function didYouMean(word: string, candidates: Iterable<string>, quote = false): string {
  const s = suggest(word, candidates);
  if (s === undefined) return "";
  return `; did you mean ${quote ? JSON.stringify(s) : s}?`;
}

/** The program a usage line is of: `usage: cncopjobs [-?] ...` → cncopjobs. */
export function programOfUsage(usage: string): string {
  return /^usage:\s+(\S+)/.exec(usage)?.[1] ?? "the program";
}

/**
 * What follows the first line of every usage error: the usage line when it is one line
 * (scripts and people know it from argparse), never a longer synopsis, then where the rest
 * is.
 */
export function moreHelp(usage: string): string {
  const tryHelp = `Try '${programOfUsage(usage)} --help' for more information.`;
  return usage.includes("\n") ? tryHelp : `${usage}\n${tryHelp}`;
}
