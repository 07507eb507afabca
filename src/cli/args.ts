/**
 * Options: every program is a citty command whose `args` are spread from the fragments
 * below, and citty runs it. Strictness is ours, in the strictOptions plugin: citty's parser
 * accepts an unknown option silently and reads any argument starting with --no- as a
 * negation, even a value (`--prerun --no-x`). node:util's parseArgs tokenizes (clusters
 * such as -dn, -cFILE, --config=FILE, `--`) and every token is checked here against the
 * command's args. node's strict mode is not used: it refuses a value that starts with a
 * dash (`--prerun -x`, `-c --email`) and knows one short name per option (help has -h and -?).
 */
import { parseArgs } from "node:util";
import { defineCittyPlugin, type BooleanArgDef, type CommandContext, type StringArgDef } from "citty";
import { usageError } from "./errors.ts";
import { didYouMean, moreHelp, suggest } from "./suggest.ts";

interface StringExtras {
  /** Keep every value of a repeated option, in order; citty keeps the last. */
  readonly multiple?: true;
  /** The usage error for an empty value (`-c ""`); without it "" is a value like any other. */
  readonly whenEmpty?: string;
}

/** A citty option; a one-letter alias is a short spelling (`-c`), a longer one a long one. */
export type OptionArg = (BooleanArgDef & { type: "boolean" }) | (StringArgDef & StringExtras & { type: "string" });
export type OptionArgs = Readonly<Record<string, OptionArg>>;

/** What parseOptions gives, in citty's shape: a value per option and `_` the positionals. */
export type OptionValues<T extends OptionArgs> = {
  -readonly [K in keyof T]: T[K] extends { type: "boolean" } ? boolean
    : T[K] extends { multiple: true } ? string[] | undefined
    : T[K] extends { default: string } ? string
    : string | undefined;
} & { _: string[] };

export const HELP_ARGS = {
  help: { type: "boolean", alias: ["h", "?"], description: "display help and exit" },
  version: { type: "boolean", description: "print the version and exit" },
} satisfies OptionArgs;

const DEBUG_ARGS = {
  debug: { type: "boolean", alias: ["d"], description: "more detail: diagnostics, a stack trace with an error" },
} satisfies OptionArgs;

export const CONFIG_ARGS = {
  config: { type: "string", alias: ["c"], valueHint: "CONFIG", description: "alternate configuration file", whenEmpty: "option -c needs a file name" },
} satisfies OptionArgs;

/** What every program but w takes: -?/-h/--help, --version, -d, -c CONFIG. */
export const COMMON_ARGS = { ...HELP_ARGS, ...DEBUG_ARGS, ...CONFIG_ARGS } satisfies OptionArgs;

const aliasesOf = (arg: OptionArg): string[] => [arg.alias ?? []].flat();

function tokenize(raw: readonly string[], args: OptionArgs) {
  const options: Record<string, { type: "boolean" | "string"; short?: string }> = {};
  for (const [name, arg] of Object.entries(args)) {
    const short = aliasesOf(arg).find((a) => a.length === 1);
    options[name] = short === undefined ? { type: arg.type } : { type: arg.type, short };
    for (const a of aliasesOf(arg)) if (a.length > 1) options[a] = { type: arg.type };
  }
  return parseArgs({ args: [...raw], options, strict: false, allowPositionals: true, tokens: true }).tokens;
}

/**
 * `unknown option --alljob; did you mean --alljobs?`. A long option typed with one dash
 * (`-alljobs`) reaches here as its first unknown letter: the whole word is what was meant.
 */
function unknownOption(name: string, word: string, spellings: Iterable<string>): string {
  const known = [...spellings];
  const long = known.filter((s) => s.startsWith("--"));
  if (/^-[^-]{2,}/.test(word)) {
    const dashed = `-${word.replace(/=.*$/, "")}`;
    const meant = long.find((s) => s === dashed) ?? suggest(dashed, long);
    if (meant) return `unknown option ${word}; did you mean ${meant}?`;
  }
  return `unknown option ${name}${didYouMean(name, name.startsWith("--") ? long : known)}`;
}

/**
 * Parse `raw` against `args`: an unknown option, a string option without its value or a
 * boolean one given a value is a usage error naming it, followed by `usage`.
 */
export function parseOptions<T extends OptionArgs>(raw: readonly string[], args: T, usage: string): OptionValues<T> {
  const spellings = new Map<string, [string, OptionArg]>();
  for (const [name, arg] of Object.entries(args)) {
    spellings.set(`--${name}`, [name, arg]);
    for (const a of aliasesOf(arg)) spellings.set(a.length === 1 ? `-${a}` : `--${a}`, [name, arg]);
  }
  const values: Record<string, boolean | string | string[] | undefined> = {};
  for (const [name, arg] of Object.entries(args)) values[name] = arg.default ?? (arg.type === "boolean" ? false : undefined);
  const positionals: string[] = [];
  const tail = moreHelp(usage);
  for (const t of tokenize(raw, args)) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    const known = spellings.get(t.rawName);
    if (!known) throw usageError(unknownOption(t.rawName, raw[t.index] ?? t.rawName, spellings.keys()), tail);
    const [name, arg] = known;
    if (arg.type === "boolean") {
      if (t.inlineValue) throw usageError(`option ${t.rawName} takes no value`, tail);
      values[name] = true;
    } else {
      if (t.value === undefined) throw usageError(`option ${t.rawName} needs a value`, tail);
      values[name] = arg.multiple ? [...((values[name] as string[] | undefined) ?? []), t.value] : t.value;
    }
  }
  for (const [name, arg] of Object.entries(args)) {
    if (arg.type === "string" && arg.whenEmpty !== undefined && values[name] === "") throw usageError(arg.whenEmpty, tail);
  }
  return { ...values, _: positionals } as OptionValues<T>;
}

/**
 * The citty plugin that makes a command strict: before its setup and run, the command line
 * must fit the command's args (parseOptions), and `context.args` then holds parseOptions'
 * values and nothing of citty's own parse (its aliases and camelCase copies included).
 */
export function strictOptions(usage: string) {
  return defineCittyPlugin({
    name: "strict-options",
    async setup(context: CommandContext<OptionArgs>) {
      const def = context.cmd.args;
      const values = parseOptions(context.rawArgs, (typeof def === "function" ? await def() : await def) ?? {}, usage);
      for (const key of Object.keys(context.args)) delete context.args[key];
      Object.assign(context.args, values);
    },
  });
}

/** The values strictOptions put in `context.args`, typed by the command's args. */
export function valuesOf<T extends OptionArgs>(context: CommandContext<T>): OptionValues<T> {
  return context.args as unknown as OptionValues<T>;
}
