/**
 * Output capture end to end: what the dispatcher keeps of a command's output (the first
 * 2,048 bytes of a failing prerun's stderr, for its jobexception) survives the reader
 * reusing its buffer for the output that follows; agent stdout and stderr lines arrive in
 * the CA log, tagged, while the agent still runs.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import nodePath from "node:path";
import { collect, fakeTree, waitForFileSh } from "../helpers/fake.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { type Tree, waitFor } from "../helpers/tree.ts";

setDefaultTimeout(60_000);

const scratch = makeScratch();
function tree(): Tree {
  return scratch.track(fakeTree());
}

describe("output capture", () => {
  test("a failing prerun's stderr head is intact after megabytes of stdout followed it", async () => {
    const t = tree();
    // 2,100 bytes on stderr, then 4 MB on stdout: the reader's buffer is refilled many times.
    t.script("pre.sh", `i=0; while [ $i -lt 30 ]; do printf 'E%02d-%066d\\n' $i 0 >&2; i=$((i+1)); done\nhead -c 4000000 /dev/zero | tr '\\0' 'x'\nexit 3`);
    t.script("fakeagent", "exit 0");
    t.addJob({ jobtitle: "A", jobtype: "FAKE", prerun: "pre.sh" });
    const r = await t.run("cncopagent", ["1"]);
    expect(r.exitCode).toBe(1);
    const [je] = t.reports("JE-");
    const message = String(je?.body.message);
    const expected = Array.from({ length: 30 }, (_, i) => `E${String(i).padStart(2, "0")}-${"0".repeat(66)}\n`).join("");
    expect(message).toContain(expected.slice(0, 2000));
    expect(message).not.toContain("xxxx");
  });

  test("agent stdout and stderr lines are in the log, tagged, while the agent runs", async () => {
    const t = tree();
    const go = nodePath.join(t.root, "go");
    t.script("fakeagent", `echo "out one"; echo "err one" >&2; ${waitForFileSh(go)}; echo "out two"`);
    t.addJob({ jobtitle: "A", jobtype: "FAKE" });
    const proc = t.spawn("cncopagent", ["1"]);
    const tagged = (stream: string, text: string) => new RegExp(`^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} \\[fakeagent#1 ${stream}\\] ${text}$`, "m");
    await waitFor(() => tagged("stdout", "out one").test(t.caLogText()) && tagged("stderr", "err one").test(t.caLogText()), 20_000, "the first lines in the log");
    expect(t.caLogText()).not.toContain("out two");
    writeFileSync(go, "");
    expect((await collect(proc)).exitCode).toBe(0);
    expect(t.caLogText()).toMatch(tagged("stdout", "out two"));
  });
});
