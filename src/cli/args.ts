/**
 * Argument parsing with citty, made strict: citty (node's parseArgs with strict: false)
 * accepts unknown options silently, so every option token is checked against the
 * definitions first, and a string option without its value is refused.
 */
import { parseArgs, type ArgsDef } from "citty";
import { usageError } from "./errors.ts";

type Def = { type?: string; alias?: string | string[] };

function names(defs: ArgsDef): { long: Map<string, Def>; short: Map<string, Def> } {
  const long = new Map<string, Def>();
  const short = new Map<string, Def>();
  for (const [name, d] of Object.entries(defs) as [string, Def][]) {
    if (d.type === "positional") continue;
    long.set(name, d);
    for (const a of [d.alias ?? []].flat()) (a.length === 1 ? short : long).set(a, d);
  }
  return { long, short };
}

/** Throw a usage error for an unknown option or a missing value. */
export function checkOptions(rawArgs: readonly string[], defs: ArgsDef, usage: string): void {
  const { long, short } = names(defs);
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    if (a === "-" || !a.startsWith("-")) continue;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = a.slice(2, eq === -1 ? undefined : eq);
      const d = long.get(name);
      if (!d) throw usageError(`unknown option --${name}\n${usage}`);
      if (d.type === "string" && eq === -1) {
        const v = rawArgs[i + 1];
        if (v === undefined) throw usageError(`option --${name} needs a value\n${usage}`);
        i++;
      }
      if (d.type === "boolean" && eq !== -1) throw usageError(`option --${name} takes no value\n${usage}`);
      continue;
    }
    // Short options, possibly clustered (-dn) or with an attached value (-cFILE).
    for (let j = 1; j < a.length; j++) {
      const ch = a[j]!;
      const d = short.get(ch);
      if (!d) throw usageError(`unknown option -${ch}\n${usage}`);
      if (d.type === "string") {
        if (j === a.length - 1) {
          if (rawArgs[i + 1] === undefined) throw usageError(`option -${ch} needs a value\n${usage}`);
          i++;
        }
        break;
      }
    }
  }
}

/** Parse strictly: returns citty's parsed arguments with `_` the positionals. */
export function parseStrict<T extends ArgsDef>(rawArgs: readonly string[], defs: T, usage: string) {
  checkOptions(rawArgs, defs, usage);
  const parsed = parseArgs([...rawArgs], defs) as ReturnType<typeof parseArgs<T>> & { _: string[] };
  return parsed;
}

/**
 * Every value given for the string option `name`, in order: citty keeps only the last
 * when an option is repeated (`--email a@x --email b@y`). Call after `checkOptions`.
 */
export function optionValues(rawArgs: readonly string[], defs: ArgsDef, name: string): string[] {
  const { long, short } = names(defs);
  const target = long.get(name);
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    if (a === "-" || !a.startsWith("-")) continue;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const d = long.get(a.slice(2, eq === -1 ? undefined : eq));
      if (d?.type !== "string") continue;
      const value = eq === -1 ? rawArgs[++i] : a.slice(eq + 1);
      if (d === target && value !== undefined) values.push(value);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const d = short.get(a[j]!);
      if (d?.type !== "string") continue;
      const value = j === a.length - 1 ? rawArgs[++i] : a.slice(j + 1);
      if (d === target && value !== undefined) values.push(value);
      break;
    }
  }
  return values;
}
