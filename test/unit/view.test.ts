/**
 * SPEC §5 "On a terminal": each job as it runs (title, attempt, elapsed time, final state);
 * without a terminal plain lines, no colour, no animation.
 */
import { describe, expect, test } from "bun:test";
import { createView, type ViewOptions } from "../../src/dispatcher/view.ts";
import { createMessages } from "../../src/format/messages.ts";
import { makePaint, type Paint } from "../../src/format/terminal.ts";
import { markedPaint as marked } from "../helpers/paint.ts";

const ESC = "\x1b";

/** A view whose own lines and messages go to one stream (stderr), in order. */
function viewInto(out: string[], opts: ViewOptions & { tty: boolean }) {
  const paint = opts.paint ?? makePaint(false);
  const messages = createMessages({ stderr: { write: (s: string) => out.push(s), isTTY: opts.tty }, paintFor: () => paint });
  return createView({ write: (s) => out.push(s), messages, ...opts, paint });
}

function run(tty: boolean) {
  const out: string[] = [];
  let t = 1_000_000;
  const view = viewInto(out, { tty, paint: marked, now: () => t });
  view.jobStarted("job 7 'Daily files'", "SESSION-1");
  view.attempt("job 7 'Daily files'", 1, 4);
  t += 2_500;
  view.waiting("job 7 'Daily files'", 60, 1);
  view.attempt("job 7 'Daily files'", 2, 4);
  t += 65_000;
  view.jobEnded("job 7 'Daily files'", "ERROR", "agent exited with status 1", 67_500);
  view.jobStarted("job 8 'Web'", "SESSION-2");
  view.jobEnded("job 8 'Web'", "OK", "completed", 900);
  view.close();
  return out.join("");
}

describe("without a terminal", () => {
  const text = run(false);

  test("plain lines: no escape sequence, no carriage return", () => {
    expect(text).not.toContain(ESC);
    expect(text).not.toContain("\r");
    expect(text.endsWith("\n")).toBe(true);
  });

  test("title, session, attempts, re-run wait and final state with reason", () => {
    expect(text).toContain("job 7 'Daily files'");
    expect(text).toContain("SESSION-1");
    expect(text).toMatch(/attempt 1 of 4/);
    expect(text).toMatch(/attempt 2 of 4/);
    expect(text).toMatch(/waiting 60 s before re-run 1/);
    expect(text).toMatch(/job 7 'Daily files': ERROR \(agent exited with status 1\) after 1 min 08 s/);
    expect(text).toMatch(/job 8 'Web': OK .*after 900 ms/);
  });
});

describe("on a terminal", () => {
  const text = run(true);

  test("a live line with title, attempt and elapsed time, redrawn in place", () => {
    expect(text).toContain("\r\x1b[2K");
    expect(text).toMatch(/job 7 'Daily files'.*attempt 1 of 4/);
    expect(text).toMatch(/job 7 'Daily files'.*attempt 2 of 4 · 2\.5 s/);
    expect(text).toContain("waiting 60 s before re-run 1");
  });

  test("the final state in colour, with the reason of a failure", () => {
    expect(text).toContain("<error>✖ job 7 'Daily files': ERROR</error> (agent exited with status 1) after 1 min 08 s\n");
    expect(text).toContain("<ok>✔ job 8 'Web': OK</ok> (completed) after 900 ms\n");
  });

  test("before its first attempt a job shows no attempt number", () => {
    const out: string[] = [];
    const view = viewInto(out, { tty: true, now: () => 0 });
    view.jobStarted("job 1 'x'", "S");
    expect(out.at(-1)).toContain("job 1 'x'");
    expect(out.join("")).not.toContain("attempt");
    view.close();
  });

  test("close() leaves no live line behind", () => {
    const out: string[] = [];
    const view = viewInto(out, { tty: true, now: () => 0 });
    view.jobStarted("job 1 'x'", "S");
    view.close();
    expect(out.at(-1)).toBe("\r\x1b[2K");
  });
});

describe("messages", () => {
  const say = (tty: boolean, paint?: Paint) => {
    const out: string[] = [];
    const view = viewInto(out, { tty, paint, now: () => 0 });
    view.info("no job matches");
    view.warn("config: odd key");
    view.error("cannot write the log: ENOSPC");
    view.close();
    return out.join("");
  };
  test("plain: the words say the level", () => {
    expect(say(false)).toBe("no job matches\nwarning: config: odd key\nerror: cannot write the log: ENOSPC\n");
  });
  test("on a terminal: the level word in colour", () => {
    expect(say(true, marked)).toBe("no job matches\n<warn>warning:</warn> config: odd key\n<error>error:</error> cannot write the log: ENOSPC\n");
  });
  test("on a terminal without colour (NO_COLOR): the same words, no colour code", () => {
    expect(say(true, makePaint(false))).toBe("no job matches\nwarning: config: odd key\nerror: cannot write the log: ENOSPC\n");
  });
  test("a message above the live line: the line is erased, the message printed, the line drawn again", () => {
    const out: string[] = [];
    const view = viewInto(out, { tty: true, now: () => 0 });
    view.jobStarted("job 1 'x'", "S");
    const before = out.length;
    view.warn("slow");
    expect(out.slice(before, before + 2)).toEqual(["\r\x1b[2K", "warning: slow\n"]);
    expect(out[before + 2]).toStartWith("\r\x1b[2K▶ job 1 'x'");
    view.close();
  });
});

describe("titles and messages are data: control characters shown escaped", () => {
  const odd = "job 9 'a\x1b[2J\rb\nc'";
  const show = (tty: boolean) => {
    const out: string[] = [];
    const view = viewInto(out, { tty, now: () => 0 });
    view.jobStarted(odd, "S\x07");
    view.attempt(odd, 1, 2);
    view.waiting(odd, 5, 1);
    view.warn(`${odd}: refused\x1b]0;t\x07`);
    view.jobEnded(odd, "ERROR", "agent said\nbye", 10);
    view.close();
    return out.join("");
  };
  test.each([false, true])("tty %p", (tty) => {
    const text = show(tty);
    expect(text).toContain("job 9 'a\\x1b[2J\\rb\\nc'");
    expect(text).toContain("S\\x07");
    expect(text).toContain("refused\\x1b]0;t\\x07");
    expect(text).toContain("agent said\\nbye");
    // Left: the view's own line ends and, on a terminal, its erase of the live line.
    expect(text.replaceAll("\r\x1b[2K", "")).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  });
});

describe("one set of words", () => {
  test("the live view's lines say what the plain lines say (marks and colours aside)", () => {
    const plain = run(false).split("\n").filter((l) => l !== "");
    const live = run(true)
      .split("\n")
      .map((l) => l.replace(/^[\s\S]*\r\x1b\[2K/, "").replace(/<\/?[a-z]+>/g, "").replace(/^[✔✖–] /, ""))
      .filter((l) => l !== "");
    // Every line the terminal keeps is a plain line, word for word.
    for (const l of live) expect(plain).toContain(l);
    expect(live).toContain("job 7 'Daily files': ERROR (agent exited with status 1) after 1 min 08 s");
  });

  test("a phase (prerun, post command, mail) is a line in both, and the live line names it", () => {
    for (const tty of [false, true]) {
      const out: string[] = [];
      const view = viewInto(out, { tty, now: () => 0 });
      view.jobStarted("job 1 'x'", "S");
      view.phase("job 1 'x'", "prerun: /r/Bin/dump.sh --all");
      const text = out.join("");
      expect(text).toContain("job 1 'x': prerun: /r/Bin/dump.sh --all\n");
      if (tty) expect(out.at(-1)).toMatch(/job 1 'x'.*prerun/);
      view.close();
    }
  });
});
