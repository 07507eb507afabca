/**
 * Options, strictly: node:util's parseArgs tokenizes (clusters such as -dn, -cFILE,
 * --config=FILE, `--`), and every token is checked here against the program's definitions.
 * Its own strict mode is not used because it refuses a value that starts with a dash
 * (`--prerun -x`, `-c --email`) and gives an option one short name only (help has -h
 * and -?).
 */
import { parseArgs } from "node:util";
import { usageError } from "./errors.ts";

export interface OptionDef {
  readonly type: "boolean" | "string";
  /** One-letter spellings: `c` for `-c`. */
  readonly short?: readonly string[];
  /** Keep every value of a repeated option, in order; otherwise the last one counts. */
  readonly multiple?: boolean;
  /** The usage error for an empty value (`-c ""`); without it "" is a value like any other. */
  readonly whenEmpty?: string;
}
export type OptionDefs = Readonly<Record<string, OptionDef>>;

export type OptionValues<T extends OptionDefs> = {
  -readonly [K in keyof T]: T[K] extends { type: "boolean" } ? boolean : T[K] extends { multiple: true } ? string[] | undefined : string | undefined;
};

export const HELP_OPTIONS = {
  help: { type: "boolean", short: ["h", "?"] },
  version: { type: "boolean" },
} as const satisfies OptionDefs;

const DEBUG_OPTION = { debug: { type: "boolean", short: ["d"] } } as const satisfies OptionDefs;

export const CONFIG_OPTION = {
  config: { type: "string", short: ["c"], whenEmpty: "option -c needs a file name" },
} as const satisfies OptionDefs;

/** What every program but w takes: -?/-h/--help, --version, -d, -c CONFIG. */
export const COMMON_OPTIONS = { ...HELP_OPTIONS, ...DEBUG_OPTION, ...CONFIG_OPTION } as const satisfies OptionDefs;

type NodeOptions = Record<string, { type: "boolean" | "string"; short?: string }>;

function tokenize(raw: readonly string[], defs: OptionDefs) {
  const options: NodeOptions = {};
  for (const [name, d] of Object.entries(defs)) options[name] = d.short?.[0] === undefined ? { type: d.type } : { type: d.type, short: d.short[0] };
  return parseArgs({ args: [...raw], options, strict: false, allowPositionals: true, tokens: true }).tokens;
}

/**
 * Parse `raw` against `defs`: an unknown option, a string option without its value or a
 * boolean one given a value is a usage error naming it, followed by `usage`.
 */
export function parseOptions<T extends OptionDefs>(raw: readonly string[], defs: T, usage: string): { values: OptionValues<T>; positionals: string[] } {
  const spellings = new Map<string, [string, OptionDef]>();
  for (const [name, d] of Object.entries(defs)) {
    spellings.set(`--${name}`, [name, d]);
    for (const s of d.short ?? []) spellings.set(`-${s}`, [name, d]);
  }
  const values: Record<string, boolean | string | string[] | undefined> = {};
  for (const [name, d] of Object.entries(defs)) values[name] = d.type === "boolean" ? false : undefined;
  const positionals: string[] = [];
  for (const t of tokenize(raw, defs)) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    const known = spellings.get(t.rawName);
    if (!known) throw usageError(`unknown option ${t.rawName}\n${usage}`);
    const [name, d] = known;
    if (d.type === "boolean") {
      if (t.inlineValue) throw usageError(`option ${t.rawName} takes no value\n${usage}`);
      values[name] = true;
    } else {
      if (t.value === undefined) throw usageError(`option ${t.rawName} needs a value\n${usage}`);
      values[name] = d.multiple ? [...((values[name] as string[] | undefined) ?? []), t.value] : t.value;
    }
  }
  for (const [name, d] of Object.entries(defs)) {
    if (d.whenEmpty !== undefined && values[name] === "") throw usageError(`${d.whenEmpty}\n${usage}`);
  }
  return { values: values as OptionValues<T>, positionals };
}
