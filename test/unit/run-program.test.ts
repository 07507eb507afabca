import { describe, expect, test } from "bun:test";
import { debugRequested } from "../../src/cli/run-program.ts";

describe("debugRequested: whether an internal error prints its stack trace", () => {
  test.each([
    [["-d", "-a"], true],
    [["-dn", "12"], true],
    [["-nd", "12"], true],
    [["--debug", "-a"], true],
    [["-a"], false],
    [["--daysago", "2", "CA"], false],
    [["-n", "--", "-d"], false],
    [["Payroll"], false],
  ] as const)("%j -> %p", (args, want) => expect(debugRequested(args)).toBe(want));
});
