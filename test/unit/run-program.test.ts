import { describe, expect, test } from "bun:test";
import { defineCommand } from "citty";
import { commandMain, debugRequested } from "../../src/cli/run-program.ts";

describe("commandMain: a program that is one citty command", () => {
  const echo = commandMain(defineCommand({ run: ({ rawArgs }) => (rawArgs[0] === "none" ? undefined : Number(rawArgs[0])) }));
  test.each([
    [["0"], 0],
    [["3"], 3],
  ])("%j exits %p", async (args, status) => expect(await echo(args)).toBe(status));
  test("a run without an exit status is an internal error", async () => {
    await expect(echo(["none"])).rejects.toThrow("the command ended without an exit status");
  });
});

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
