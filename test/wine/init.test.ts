/**
 * `cncopagent.exe --init ROOT` on Windows, as docs/windows.md tells an administrator: the
 * folders, the sample config, an empty job database and Bin\<program>.exe links; then a job
 * added and run through those links.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { SUITE_PROGRAMS } from "../../src/cli/program-names.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { REPO, runWine, winPath, WIN_EXE } from "./helpers.ts";

const scratch = makeScratch("file");
const SAMPLE = readFileSync(nodePath.join(REPO, "Config", "cncop3.ini"), "utf8");

describe("--init on Windows", () => {
  test("cncopagent.exe --init makes Bin\\<program>.exe links, the config and the database; the install runs a job", async () => {
    const base = scratch.dir("wininit");
    const root = nodePath.join(base, "cncop");
    const init = await runWine(WIN_EXE, ["--init", winPath(root)], { cwd: base });
    expect(init.exitCode).toBe(0);
    for (const p of SUITE_PROGRAMS) expect({ p, there: existsSync(nodePath.join(root, "Bin", `${p}.exe`)) }).toEqual({ p, there: true });
    expect(readFileSync(nodePath.join(root, "Config", "cncop3.ini"), "utf8").replace(/\r\n/g, "\n")).toBe(SAMPLE.replace(/\r\n/g, "\n"));
    const db = new Database(nodePath.join(root, "Config", "backupjobs.db"), { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM BackupJob").get()).toEqual({ n: 0 });
    db.close();
    // A second --init refuses and changes nothing.
    const again = await runWine(WIN_EXE, ["--init", winPath(root)], { cwd: base });
    expect(again.exitCode).not.toBe(0);

    mkdirSync(nodePath.join(base, "data"));
    writeFileSync(nodePath.join(base, "data", "f.txt"), "win");
    const bin = nodePath.join(root, "Bin");
    const add = await runWine(nodePath.join(bin, "cncopjobs.exe"), ["add", "--title", "W", "--type", "CIFS", "--source", winPath(nodePath.join(base, "data")), "--destination", winPath(nodePath.join(base, "dst"))], { cwd: root });
    expect(add.exitCode).toBe(0);
    const job = await runWine(nodePath.join(bin, "cncopagent.exe"), ["W"], { cwd: root });
    expect(job.exitCode).toBe(0);
    expect(job.stderr).toContain("job 1 'W': OK");
    expect(readFileSync(nodePath.join(base, "dst", "f.txt"), "utf8")).toBe("win");
  }, 180_000);
});
