/**
 * The Wine lane, first contact: the windows-x64 build starts under Wine under every name of
 * the suite, answers --version and --help, and exits 2 on a usage error; Windows paths of the
 * test trees are what `winepath` says.
 */
import { describe, expect, test } from "bun:test";
import { PROGRAM_NAMES } from "../../src/cli.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { makeWinTree, winepathAgrees, type WinTree } from "./helpers.ts";

const scratch = makeScratch("file");
const tree = (o?: Parameters<typeof makeWinTree>[0]): WinTree => scratch.track(makeWinTree(o));
const VERSION = (await Bun.file(new URL("../../package.json", import.meta.url)).json()).version as string;

describe("the windows-x64 build under Wine", () => {
  test.concurrent("the tree's Windows paths are winepath's", async () => {
    const t = tree({ tag: "paths " });
    const r = await winepathAgrees([t.root, t.bin, t.configFile]);
    expect(r.ours).toEqual(r.winepath);
    expect(t.winBin).toMatch(/^Z:\\tmp\\cncop-win-paths [^\\]+\\Bin$/);
  });

  test.concurrent("--version under every program name", async () => {
    const t = tree();
    for (const name of ["cncopagent", "cncopjobs"]) {
      const r = await t.run(name, ["--version"]);
      expect({ name, code: r.exitCode, out: r.stdout.trim() }).toEqual({ name, code: 0, out: `${name} ${VERSION}` });
    }
  });

  test.concurrent("--help of cncopagent prints the usage line and exits 0", async () => {
    const t = tree();
    const r = await t.run("cncopagent", ["--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("usage: cncopagent [-?] [-d] [-c CONFIG] [-a] [-t TYPE] [--email EMAIL] [job [job ...]]");
    expect(r.stderr).toBe("");
  });

  test.concurrent("usage errors exit 2: an unknown option, no selection", async () => {
    const t = tree();
    const bad = await t.run("cncopagent", ["--no-such-option"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--no-such-option");
    const none = await t.run("cncopagent", []);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain("No jobs selected");
  });

  test.concurrent("each <program>.exe link starts its own program (agents exit 1 on a bad option, the others 2)", async () => {
    const t = tree();
    for (const name of PROGRAM_NAMES.filter((n) => n !== "cncopagent")) {
      const r = await t.run(name, ["--no-such-option-anywhere"]);
      const code = name.startsWith("backupagent") ? 1 : 2;
      expect({ name, code: r.exitCode, named: r.stderr.includes(name), notAgent: !r.stderr.includes("usage: cncopagent") }).toEqual({ name, code, named: true, notAgent: true });
    }
  });
});
