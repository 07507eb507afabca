/** Command-line splitting (SPEC §5 "Pre/post commands"): shell-like quoting, never a shell. */
import { describe, expect, test } from "bun:test";
import { cmdExeArgv, cmdUnsafeReason, CommandLineError, formatCommandLine, isBatchFile, quoteArg, splitCommandLine } from "../../src/process/command-line.ts";

describe("splitCommandLine", () => {
  const cases: [string, string[]][] = [
    ["dump.sh", ["dump.sh"]],
    ["  dump.sh   a\tb  ", ["dump.sh", "a", "b"]],
    ["", []],
    ["   ", []],
    // single quotes keep everything
    ["x 'a b'", ["x", "a b"]],
    ["x 'a \\\" b'", ["x", 'a \\" b']],
    ["x 'it'\\''s'", ["x", "it's"]],
    // double quotes keep everything but \" and \\
    ['x "a b"', ["x", "a b"]],
    ['x "say \\"hi\\""', ["x", 'say "hi"']],
    ['x "C:\\\\dir\\\\"', ["x", "C:\\dir\\"]],
    ['x "a\\nb"', ["x", "a\\nb"]],
    ['x "it\'s"', ["x", "it's"]],
    // empty arguments
    ["x '' \"\"", ["x", "", ""]],
    // adjacent pieces join into one argument
    ["x a'b c'\"d e\"f", ["x", "ab cd ef"]],
    // backslash outside quotes escapes blank, quote, backslash; otherwise it is literal
    ["x a\\ b", ["x", "a b"]],
    ["x \\'q\\' \\\"d\\\"", ["x", "'q'", '"d"']],
    ["x \\\\", ["x", "\\"]],
    ["x C:\\data\\db", ["x", "C:\\data\\db"]],
    ["x \\\\server\\share", ["x", "\\server\\share"]],
    ["x '\\\\server\\share'", ["x", "\\\\server\\share"]],
    ["x trailing\\", ["x", "trailing\\"]],
    // metacharacters of shells are plain characters
    ["x ; rm -rf /", ["x", ";", "rm", "-rf", "/"]],
    ["x a;b a|b a&&b", ["x", "a;b", "a|b", "a&&b"]],
    ["x $(id) `id` ${HOME} $HOME", ["x", "$(id)", "`id`", "${HOME}", "$HOME"]],
    ["x * ?.txt ~ [ab]", ["x", "*", "?.txt", "~", "[ab]"]],
    ["x %PATH% %~dp0 ^& !x!", ["x", "%PATH%", "%~dp0", "^&", "!x!"]],
    ["x > out.txt < in.txt 2>&1", ["x", ">", "out.txt", "<", "in.txt", "2>&1"]],
    ["x # not a comment", ["x", "#", "not", "a", "comment"]],
    ["x ünïcödé 日本", ["x", "ünïcödé", "日本"]],
  ];
  test.each(cases)("%j", (line, want) => {
    expect(splitCommandLine(line)).toEqual(want);
  });

  const bad: [string, RegExp][] = [
    ["x 'open", /unterminated single quote/],
    ['x "open', /unterminated double quote/],
    ['x "a\\"', /unterminated double quote/],
    ["x\ny", /one line/],
    ["x\ry", /one line/],
    ["x\0y", /one line/],
    ["x 'a\nb'", /one line|unterminated/],
  ];
  test.each(bad)("refuses %j", (line, why) => {
    expect(() => splitCommandLine(line)).toThrow(CommandLineError);
    expect(() => splitCommandLine(line)).toThrow(why);
  });
});

describe("quoteArg / formatCommandLine give back what splitCommandLine reads", () => {
  const args = ["plain", "a b", "", "it's", 'say "hi"', "C:\\dir\\", "\\\\srv\\share", "$(id)", "`x`", "a;b|c&d", "%PATH%", "*", "~", "tab\there", "ü 日本", "'", '"', "\\"];
  test.each(args)("%j", (arg) => {
    expect(splitCommandLine(`prog ${quoteArg(arg)}`)).toEqual(["prog", arg]);
  });
  test("a whole argv round-trips", () => {
    expect(splitCommandLine(formatCommandLine(args))).toEqual(args);
  });
  test("simple words stay unquoted, others are quoted", () => {
    expect(formatCommandLine(["/root/Bin/dump.sh", "-x", "a b", "$x"])).toBe("/root/Bin/dump.sh -x 'a b' '$x'");
  });
});

describe("cmd.exe safety for .cmd/.bat programs", () => {
  const unsafe: [string, RegExp][] = [
    ['a"b', /double quote/],
    ["100%", /percent/],
    ["%PATH%", /percent/],
    ["a\nb", /line break/],
    ["a\rb", /line break/],
    ["a\0b", /NUL/],
  ];
  test.each(unsafe)("refuses %j", (arg, why) => {
    expect(cmdUnsafeReason(arg)).toMatch(why);
    expect(() => cmdExeArgv("C:\\root\\Bin\\x.cmd", [arg])).toThrow(CommandLineError);
  });

  // Inside double quotes cmd.exe takes these literally (delayed expansion is off: /v:off).
  const safe = ["a b", "a&b", "a|b", "a<b>c", "a^b", "(x)", "!x!", "", "ü", "'q'"];
  test.each(safe)("quotes %j", (arg) => {
    expect(cmdUnsafeReason(arg)).toBeUndefined();
    const argv = cmdExeArgv("C:\\root\\Bin\\x.cmd", [arg], "C:\\Windows\\System32\\cmd.exe");
    expect(argv).toEqual(["C:\\Windows\\System32\\cmd.exe", "/d", "/v:off", "/s", "/c", `""C:\\root\\Bin\\x.cmd" "${arg}""`]);
  });

  test.each([
    ["C:\\dir\\", '"C:\\dir\\\\"'],
    ["C:\\dir\\\\", '"C:\\dir\\\\\\\\"'],
    ["a\\b", '"a\\b"'],
  ])("trailing backslashes of %j are doubled, so a forwarded %%* keeps its closing quote", (arg, quoted) => {
    expect(cmdExeArgv("C:\\root\\Bin\\x.cmd", [arg], "cmd.exe").at(-1)).toBe(`""C:\\root\\Bin\\x.cmd" ${quoted}"`);
  });

  test("an unsafe program path is refused too", () => {
    expect(() => cmdExeArgv("C:\\ro%ot%\\Bin\\x.cmd", [])).toThrow(/percent/);
  });

  test.each([
    ["x.cmd", true],
    ["X.BAT", true],
    ["C:\\Bin\\run.Cmd", true],
    ["x.exe", false],
    ["x.cmd.exe", false],
    ["cmd", false],
  ])("isBatchFile(%j) = %p", (name, want) => {
    expect(isBatchFile(name)).toBe(want);
  });
});
