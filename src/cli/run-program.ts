/**
 * The one wrapper per program: runs its main, prints an expected failure's message
 * (no stack trace unless -d), and sets the exit status. No process.exit() in library code.
 */
import { defineCommand, runCommand, type ArgsDef, type CommandDef } from "citty";
import { parseOptions, strictOptions, valuesOf, type OptionArgs, type OptionValues } from "./args.ts";
import { CncopError, EXIT } from "./errors.ts";
import { messages, speakAs } from "../format/messages.ts";
import { VERSION } from "./version.ts";

/** A program's entry: takes its arguments, returns its exit status. */
export type ProgramMain = (args: string[]) => Promise<number>;

/** The entry of a program that is one citty command, whose run returns the exit status. */
export function commandMain<T extends ArgsDef>(command: CommandDef<T>): ProgramMain {
  return async (args) => {
    const { result } = await runCommand(command, { rawArgs: [...args] });
    if (typeof result !== "number") throw new Error("the command ended without an exit status");
    return result;
  };
}

export interface ProgramSpec<A extends OptionArgs, O> {
  readonly name: string;
  readonly description: string;
  /** Its options: citty argument definitions, the shared fragments spread in. */
  readonly args: A;
  /** The usage line that ends each of its usage errors. */
  readonly usage: string;
  /** Checked option values to the program's typed options (throws its usage errors). */
  readonly options: (values: OptionValues<A>) => O;
  /** The work, given the options and the raw arguments; returns the exit status. */
  readonly run: (opts: O, rawArgs: readonly string[]) => number | Promise<number>;
}

/**
 * A program of the suite as one citty command, its options checked strictly by the
 * strictOptions plugin; `parse` gives the same typed options without running anything.
 */
export function defineProgram<A extends OptionArgs, O>(spec: ProgramSpec<A, O>): { readonly main: ProgramMain; readonly parse: (raw: readonly string[]) => O } {
  const command = defineCommand({
    meta: { name: spec.name, description: spec.description },
    args: spec.args,
    plugins: [strictOptions(spec.usage)],
    run: (context) => spec.run(spec.options(valuesOf(context)), context.rawArgs),
  });
  return { main: commandMain(command), parse: (raw) => spec.options(parseOptions(raw, spec.args, spec.usage)) };
}

/** -d alone or in a cluster of short options (-dn), or --debug, before any `--`. */
export function debugRequested(args: readonly string[]): boolean {
  const options = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
  return options.some((a) => a === "--debug" || /^-[A-Za-z?]*d[A-Za-z?]*$/.test(a));
}

export async function runProgram(name: string, args: string[], main: ProgramMain): Promise<void> {
  const debug = debugRequested(args);
  speakAs(name);
  try {
    process.exitCode = await main(args);
  } catch (err) {
    const say = messages;
    // A stack trace is ours: one line per frame. A message is one line (data in it shown
    // escaped), followed by the detail lines of our own (a usage line, a list of problems).
    const lines = (text: string) => text.split("\n") as [string, ...string[]];
    if (err instanceof CncopError) {
      say.fail(...err.lines);
      if (debug && err.stack) messages.debug(...lines(err.stack));
      process.exitCode = err.exitCode;
    } else {
      const e = err as Error;
      say.fatal(e?.message ?? String(err));
      if (debug && e?.stack) messages.debug(...lines(e.stack));
      else say.info("run again with -d for details.");
      process.exitCode = EXIT.FAILED;
    }
  }
}

/**
 * `-?`/`--help` prints the help and `--version` the version, both on stdout with exit 0;
 * returns undefined when neither was asked for.
 */
export function answerHelpOrVersion(name: string, opts: { readonly help: boolean; readonly version: boolean }, help: string): number | undefined {
  if (opts.help) {
    process.stdout.write(help);
    return EXIT.OK;
  }
  if (opts.version) {
    process.stdout.write(`${name} ${VERSION}\n`);
    return EXIT.OK;
  }
  return undefined;
}
