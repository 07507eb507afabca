/** follow() in process: a partial last line is held until its newline, whatever the timing. */
import { expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { parseDailyLogName } from "../../src/watcher/catalog.ts";
import { markedPaint as marked } from "../helpers/paint.ts";
import { follow } from "../../src/watcher/follow.ts";
import { waitFor } from "../helpers/tree.ts";

test("a partial last line is printed only when its newline comes, once, whole", async () => {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), "w-follow-"));
  const file = parseDailyLogName("CIFS-20200105.log", dir)!;
  writeFileSync(file.path, "2020-01-05 09:00:00 INFO one\n2020-01-05 09:00:01 INFO two (partial");
  const out: string[] = [];
  const notices: string[] = [];
  let steps = 0;
  const ctrl = new AbortController();
  const running = follow({
    newest: () => file,
    watchDirs: [dir],
    write: async (t) => void out.push(t),
    notice: (t) => notices.push(t),
    paint: marked,
    signal: ctrl.signal,
    pollMs: 20,
    onStep: () => steps++,
  });
  const text = () => out.join("");
  const afterTwoSteps = async () => {
    const s = steps;
    await waitFor(() => steps >= s + 2, 10_000, "two looks at the file");
  };
  try {
    await waitFor(() => text().includes("INFO one"), 10_000, "the existing line");
    await afterTwoSteps();
    expect(text()).toBe(`<bold>==> ${file.path} <==</bold>\n2020-01-05 09:00:00 INFO one\n`);
    appendFileSync(file.path, " still partial");
    await afterTwoSteps();
    expect(text()).not.toContain("two");
    appendFileSync(file.path, " done)\n2020-01-05 09:00:02 ERROR three\n");
    await waitFor(() => text().includes("three"), 10_000, "the completed lines");
    expect(text()).toEndWith("2020-01-05 09:00:01 INFO two (partial still partial done)\n<error>2020-01-05 09:00:02 ERROR three</error>\n");
    // A child's bytes in the log are shown, never obeyed: colours, a title, a CR, escaped.
    appendFileSync(file.path, "2020-01-05 09:00:02 INFO \x1b[31mred\x1b]0;t\x07\rx\r\n");
    await waitFor(() => text().includes("red"), 10_000, "the line with control characters");
    expect(text()).toEndWith("\n2020-01-05 09:00:02 INFO \\x1b[31mred\\x1b]0;t\\x07\\rx\n");
    // A partial line left when following stops is still printed.
    appendFileSync(file.path, "2020-01-05 09:00:03 INFO cut");
    await afterTwoSteps();
    expect(text()).not.toContain("cut");
  } finally {
    ctrl.abort();
    await running;
    rmSync(dir, { recursive: true, force: true });
  }
  expect(text()).toEndWith("2020-01-05 09:00:03 INFO cut\n");
  expect(notices).toEqual([]);
});
