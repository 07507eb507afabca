/** `--email` addresses: what is an address, lists, repeats, and where they are read from. */
import { describe, expect, test } from "bun:test";
import { parseOptions, type OptionArgs } from "../../src/cli/args.ts";
import { isValidEmailAddress } from "../../src/install/config.ts";
import { parseDispatcherArgs, parseEmailList } from "../../src/programs/cncopagent.ts";

describe("isValidEmailAddress", () => {
  test.each([
    "admin@example.com",
    "first.last+backup@mail.example.co.uk",
    "root@localhost",
    "o'brien@example.com",
    "x_y-z@sub-domain.example",
    "admin@[192.168.1.10]",
    "user@bücher.example",
    `${"a".repeat(64)}@example.com`,
  ])("accepts %p", (a) => {
    expect(isValidEmailAddress(a)).toBe(true);
  });
  test.each([
    "",
    "admin",
    "admin@",
    "@example.com",
    "admin@@example.com",
    "a..b@example.com",
    ".admin@example.com",
    "admin.@example.com",
    "admin@example..com",
    "admin@.example.com",
    "admin@example.com.",
    "admin@-example.com",
    "admin@example-.com",
    "ad min@example.com",
    "admin@exa mple.com",
    "admin@example.com;x@y.z",
    "Admin <admin@example.com>",
    '"quoted"@example.com',
    "admin@under_score.com",
    "admin@[300.1.1.1]",
    "admin@example.com\r\nBcc: x@y.z",
    `${"a".repeat(65)}@example.com`,
    `a@${"b".repeat(250)}.com`,
  ])("refuses %p", (a) => {
    expect(isValidEmailAddress(a)).toBe(false);
  });
});

describe("parseEmailList", () => {
  test.each([
    ["admin@example.com", ["admin@example.com"]],
    [" a@example.com , b@example.com ", ["a@example.com", "b@example.com"]],
    ["a@example.com,,b@example.com,", ["a@example.com", "b@example.com"]],
    ["a@example.com,A@EXAMPLE.COM", ["a@example.com"]],
    [["a@example.com", "b@example.com,a@example.com"], ["a@example.com", "b@example.com"]],
  ] as [string | string[], string[]][])("%p", (input, want) => {
    expect(parseEmailList(input)).toEqual(want);
  });
  test.each([
    ["", /--email needs at least one address/],
    [" , ", /--email needs at least one address/],
    ["admin", /--email: "admin" is not a valid email address \(expected name@example\.com; separate several with commas\)/],
    ["a@example.com,x,y@", /--email: "x", "y@" are not valid email addresses/],
  ])("refuses %p", (input, message) => {
    expect(() => parseEmailList(input)).toThrow(message);
  });
});

describe("--email on the command line", () => {
  test.each([
    [["--email", "a@example.com", "-a"], ["a@example.com"]],
    [["--email=a@example.com,b@example.com", "-a"], ["a@example.com", "b@example.com"]],
    [["--email", "a@example.com", "--email", "b@example.com", "job"], ["a@example.com", "b@example.com"]],
    [["-c", "--email", "--email", "a@example.com", "-a"], ["a@example.com"]],
    [["-dc", "x.ini", "--email", "a@example.com", "-a"], ["a@example.com"]],
    [["-a"], undefined],
  ] as [string[], string[] | undefined][])("%p", (args, want) => {
    expect(parseDispatcherArgs(args).email).toEqual(want);
  });

  test.each([
    [["--email"], /option --email needs a value/],
    [["--email", "-a"], /"-a" is not a valid email address/],
  ])("%p is a usage error", (args, message) => {
    expect(() => parseDispatcherArgs(args)).toThrow(message);
  });

  test("a repeated option keeps every value, through clusters and attached values", () => {
    const defs = { config: { type: "string", alias: ["c"], multiple: true }, debug: { type: "boolean", alias: ["d"] }, email: { type: "string", multiple: true } } satisfies OptionArgs;
    const parsed = parseOptions(["-cfile", "--email", "x", "-dc", "--email", "--email=y", "--", "--email", "z"], defs, "usage");
    expect(parsed).toEqual({ config: ["file", "--email"], debug: true, email: ["x", "y"], _: ["--email", "z"] });
    expect(parseOptions(["-cfile", "-c", "g"], defs, "usage").config).toEqual(["file", "g"]);
  });
});
