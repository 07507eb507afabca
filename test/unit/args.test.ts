/** Strict option parsing, and cncopagent's options (SPEC §5): every form of each option. */
import { describe, expect, test } from "bun:test";
import { defineCommand, runCommand } from "citty";
import { COMMON_ARGS, parseOptions, strictOptions } from "../../src/cli/args.ts";
import { CncopError, EXIT } from "../../src/cli/errors.ts";
import { editDistance, suggest } from "../../src/cli/suggest.ts";
import { DISPATCHER_ARGS, parseDispatcherArgs, USAGE } from "../../src/programs/cncopagent.ts";
import { usageErrorOf } from "../helpers/errors.ts";

const USAGE_LINE = "usage: cncopagent [-?] [-d] [-c CONFIG] [-a] [-t TYPE] [--email EMAIL] [job [job ...]]";

const argsErrorOf = (args: string[]) => usageErrorOf(() => parseDispatcherArgs(args), `a usage error for ${JSON.stringify(args)}`);

test("the usage line is exactly the SPEC's", () => {
  expect(USAGE).toBe(USAGE_LINE);
});

describe("each option, in each spelling", () => {
  const cases: [string[], Record<string, unknown>][] = [
    [["-?"], { help: true }],
    [["-h"], { help: true }],
    [["--help"], { help: true }],
    [["--version"], { version: true }],
    [["-d", "1"], { debug: true, jobs: ["1"] }],
    [["--debug", "1"], { debug: true }],
    [["-n", "1"], { dryrun: true }],
    [["--dryrun", "1"], { dryrun: true }],
    [["-a"], { alljobs: true, jobs: [] }],
    [["--alljobs"], { alljobs: true }],
    [["-t", "rsync"], { type: ["rsync"] }],
    [["--type", "CIFS"], { type: ["CIFS"] }],
    [["--type=CIFS"], { type: ["CIFS"] }],
    [["-c", "/x/cncop3.ini", "-a"], { config: "/x/cncop3.ini", alljobs: true }],
    [["--config", "my.ini", "-a"], { config: "my.ini" }],
    [["--config=my.ini", "-a"], { config: "my.ini" }],
    [["-cmy.ini", "-a"], { config: "my.ini", alljobs: true }],
    [["-tRSYNC"], { type: ["RSYNC"] }],
    [["-t", "FTP", "-t", "CIFS"], { type: ["FTP", "CIFS"] }],
    [["-dc", "x.ini", "-a"], { debug: true, config: "x.ini", alljobs: true }],
    [["1", "-n", "2"], { dryrun: true, jobs: ["1", "2"] }],
    [["-dn", "5"], { debug: true, dryrun: true, jobs: ["5"] }],
    [["-da"], { debug: true, alljobs: true }],
    [["--email", "a@example.com", "-a"], { email: ["a@example.com"] }],
    [["--email", "a@example.com, b@example.org", "-a"], { email: ["a@example.com", "b@example.org"] }],
    [["Daily Files", "12", "web"], { jobs: ["Daily Files", "12", "web"], alljobs: false, type: undefined, debug: false, dryrun: false }],
    [["--", "-weird-title"], { jobs: ["-weird-title"] }],
  ];
  for (const [args, want] of cases) {
    test(args.join(" "), () => {
      expect(parseDispatcherArgs(args)).toMatchObject(want);
    });
  }
});

describe("usage errors", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /unknown option --bogus/],
    [["-x"], /unknown option -x/],
    [["-ax"], /unknown option -x/],
    [["--alljob"], /unknown option --alljob/],
    [["-t"], /-t needs a value/],
    [["--type"], /--type needs a value/],
    [["-c"], /-c needs a value/],
    [["--config"], /--config needs a value/],
    [["--email"], /--email needs a value/],
    [["--alljobs=yes"], /takes no value/],
    [["--email", "not-an-address", "-a"], /not-an-address/],
    [["--email", " , ", "-a"], /--email/],
  ];
  for (const [args, message] of cases) {
    test(args.join(" "), () => {
      expect(argsErrorOf(args).message).toMatch(message);
    });
  }

  test("an unknown option ends with where the help is", () => {
    expect(argsErrorOf(["--bogus"]).message).toBe(`unknown option --bogus\n${USAGE}\nTry 'cncopagent --help' for more information.`);
  });
});

describe("parseOptions with the shared options", () => {
  const parse = (args: string[]) => parseOptions(args, COMMON_ARGS, "usage: x");
  const cases: [string[], Record<string, unknown>, string[]][] = [
    [[], { help: false, version: false, debug: false, config: undefined }, []],
    [["-?"], { help: true }, []],
    [["-?d"], { help: true, debug: true }, []],
    [["-h", "--version"], { help: true, version: true }, []],
    [["-c", "a.ini", "--config", "b.ini"], { config: "b.ini" }, []],
    [["-c", "-d"], { config: "-d", debug: false }, []],
    [["-c", "--no-x", "-d"], { config: "--no-x", debug: true }, []],
    [["-", "x", "--", "-d", "--bogus"], { debug: false }, ["-", "x", "-d", "--bogus"]],
  ];
  for (const [args, values, positionals] of cases) {
    test(JSON.stringify(args), () => {
      const r = parse(args);
      expect(r).toMatchObject(values);
      expect(r._).toEqual(positionals);
    });
  }

  const errors: [string[], string][] = [
    [["--c", "x"], "unknown option --c\nusage: x\nTry 'x --help' for more information."],
    [["--no-debug"], "unknown option --no-debug\nusage: x\nTry 'x --help' for more information."],
    [["--?"], "unknown option --?\nusage: x\nTry 'x --help' for more information."],
    [["-d=1"], "unknown option -=\nusage: x\nTry 'x --help' for more information."],
    [["--help=yes"], "option --help takes no value\nusage: x\nTry 'x --help' for more information."],
    [["-dc"], "option -c needs a value\nusage: x\nTry 'x --help' for more information."],
    [["-c", ""], "option -c needs a file name\nusage: x\nTry 'x --help' for more information."],
    [["--config="], "option -c needs a file name\nusage: x\nTry 'x --help' for more information."],
    [["-c", "", "--bogus"], "unknown option --bogus\nusage: x\nTry 'x --help' for more information."],
  ];
  for (const [args, message] of errors) {
    test(`${JSON.stringify(args)} is a usage error`, () => {
      expect(usageErrorOf(() => parse(args)).message).toBe(message);
    });
  }
});

describe("strictOptions: a citty command's run sees exactly parseOptions' values", () => {
  // citty alone reads --no-x as a negation and drops it, shifting -c onto the next word.
  const captured = defineCommand({ args: DISPATCHER_ARGS, plugins: [strictOptions(USAGE)], run: (context) => ({ ...context.args }) });
  const runWith = async (args: string[]) => (await runCommand(captured, { rawArgs: args })).result;
  test.each([
    [["-c", "--no-x", "-a"]],
    [["-dc", "x.ini", "--email", "a@example.com", "--email=b@example.com", "job"]],
    [["--type", "--no-such", "--", "-a"]],
    [["--alljobs"]],
    [["-?"]],
  ])("%j", async (args) => {
    expect(await runWith(args)).toEqual(parseOptions(args, DISPATCHER_ARGS, USAGE));
  });

  test.each([
    [["--bogus"], `unknown option --bogus\n${USAGE}\nTry 'cncopagent --help' for more information.`],
    [["-a", "--showSecrets"], `unknown option --showSecrets\n${USAGE}\nTry 'cncopagent --help' for more information.`],
    [["-a", "--no-dryrun"], `unknown option --no-dryrun; did you mean --dryrun?\n${USAGE}\nTry 'cncopagent --help' for more information.`],
    [["-c", ""], `option -c needs a file name\n${USAGE}\nTry 'cncopagent --help' for more information.`],
  ])("%j is a usage error", async (args, message) => {
    const err = await runWith(args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CncopError);
    expect([(err as CncopError).exitCode, (err as CncopError).message]).toEqual([EXIT.USAGE, message]);
  });
});

describe("did you mean", () => {
  const long = ["--alljobs", "--type", "--dryrun", "--debug", "--config", "--email", "--help", "--version"];
  test.each([
    ["--alljob", long, "--alljobs"],
    ["--all", long, "--alljobs"],
    ["--ALLJOBS", long, undefined], // same word: nothing to suggest
    ["--maxretires", ["--maxretries", "--retrydelay", "--maxruntime"], "--maxretries"],
    ["--dbug", long, "--debug"],
    ["--zzzzzz", long, undefined],
    ["-x", ["-a", "-n"], undefined],
    ["lst", ["list", "show", "add", "set", "remove"], "list"],
    ["shedule", ["list", "schedule", "set"], "schedule"],
    ["demo fils", ["Demo files", "Slow one"], "Demo files"],
  ] as const)("%p → %p", (word, candidates, expected) => {
    expect(suggest(word, candidates)).toBe(expected);
  });
  test("edit distance counts a swap of neighbours as one step", () => {
    expect([editDistance("maxretires", "maxretries"), editDistance("abc", "abc"), editDistance("", "ab"), editDistance("kitten", "sitting")]).toEqual([1, 0, 2, 3]);
  });
  test("parseOptions names the nearest option, also for a long option typed with one dash", () => {
    expect(argsErrorOf(["--alljob"]).message).toBe(`unknown option --alljob; did you mean --alljobs?\n${USAGE}\nTry 'cncopagent --help' for more information.`);
    expect(argsErrorOf(["-alljobs"]).message).toStartWith("unknown option -alljobs; did you mean --alljobs?");
    expect(argsErrorOf(["--dryrn", "1"]).message).toStartWith("unknown option --dryrn; did you mean --dryrun?");
  });
});
