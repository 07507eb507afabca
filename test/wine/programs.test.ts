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

  test.concurrent("--version, --help, and usage errors exit 2 (an unknown option, no selection)", async () => {
    const t = tree();
    const [version, help, bad, none] = await Promise.all([
      t.run("cncopagent", ["--version"]),
      t.run("cncopagent", ["--help"]),
      t.run("cncopagent", ["--no-such-option"]),
      t.run("cncopagent", []),
    ]);
    expect({ code: version.exitCode, out: version.stdout.trim() }).toEqual({ code: 0, out: `cncopagent ${VERSION}` });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("usage: cncopagent [-?] [-d] [-c CONFIG] [-a] [-t TYPE] [--email EMAIL] [job [job ...]]");
    expect(help.stdout).toContain("--link");
    expect(help.stderr).toBe("");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--no-such-option");
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain("No jobs selected");
  });

  test.concurrent("each <program>.exe link starts its own program (cncopjobs: install.test.ts; agents exit 1 on a bad option, the others 2)", async () => {
    const t = tree();
    const names = PROGRAM_NAMES.filter((n) => n !== "cncopagent" && n !== "cncopjobs");
    const runs = await Promise.all(names.map((name) => t.run(name, ["--no-such-option-anywhere"])));
    for (const [i, name] of names.entries()) {
      const r = runs[i]!;
      const code = name.startsWith("backupagent") ? 1 : 2;
      expect({ name, code: r.exitCode, named: r.stderr.includes(name), notAgent: !r.stderr.includes("usage: cncopagent") }).toEqual({ name, code, named: true, notAgent: true });
    }
  });
});
