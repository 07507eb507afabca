/**
 * The suite's messages: one consola instance, our reporter, plain lines with the program's
 * tag and the level word, data escaped, stdout for `log` and stderr for the rest.
 */
import { describe, expect, test } from "bun:test";
import { createMessages, formatMessage, type MessageStream } from "../../src/format/messages.ts";
import type { Paint } from "../../src/format/terminal.ts";
import { markedPaint as marked } from "../helpers/paint.ts";

const plain: Paint = (_style, text) => text;

function streams(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout: MessageStream = { write: (t: string) => out.push(t), isTTY };
  const stderr: MessageStream = { write: (t: string) => err.push(t), isTTY };
  return { out, err, stdout, stderr };
}

describe("a message as a person reads it", () => {
  test.each([
    ["warn", "w", ["bad config"], "w: warning: bad config\n"],
    ["warn", "", ["bad config"], "warning: bad config\n"],
    ["error", "", ["cannot write the log: ENOSPC"], "error: cannot write the log: ENOSPC\n"],
    ["fatal", "cncopjobs", ["boom"], "cncopjobs: internal error: boom\n"],
    ["fail", "cncopagent", ['unknown job "x"'], 'cncopagent: unknown job "x"\n'],
    ["info", "w", ["waiting for the first CA log"], "w: waiting for the first CA log\n"],
    ["log", "cncopreporter", ["2 sent"], "cncopreporter: 2 sent\n"],
    ["debug", "", ["Error: x", "    at f (a.ts:1:1)"], "Error: x\n    at f (a.ts:1:1)\n"],
    ["fail", "w", ["bad\nvalue", "usage: w"], "w: bad\\nvalue\nusage: w\n"],
    ["warn", "w", ['PAGER="a\x1b[2J\r\tb\x07\u009b"'], 'w: warning: PAGER="a\\x1b[2J\\r\\tb\\x07\\x9b"\n'],
  ] as const)("%s, tag %p: %j", (type, tag, args, line) => expect(formatMessage(type, tag, args, plain)).toBe(line));

  test.each([
    ["warn", "w: <warn>warning:</warn> x\n"],
    ["error", "w: <error>error:</error> x\n"],
    ["fatal", "w: <error>internal error:</error> x\n"],
    ["info", "w: x\n"],
  ] as const)("%s: only the level word is painted", (type, line) => expect(formatMessage(type, "w", ["x"], marked)).toBe(line));
});

describe("the consola instance", () => {
  test("stderr for messages, stdout for `log`; tags from withTag", () => {
    const s = streams();
    const say = createMessages({ stdout: s.stdout, stderr: s.stderr, paintFor: () => plain });
    say.withTag("cncopreporter").warn("odd key");
    say.withTag("cncopreporter").log("1 sent, 0 refused");
    say.info("no job matches the selection: nothing to run");
    say.withTag("w").fail("no CA logs");
    say.debug("a stack line");
    expect(s.err).toEqual(["cncopreporter: warning: odd key\n", "no job matches the selection: nothing to run\n", "w: no CA logs\n", "a stack line\n"]);
    expect(s.out).toEqual(["cncopreporter: 1 sent, 0 refused\n"]);
  });

  test("every message is printed: consola's throttling of repeats is off", () => {
    const s = streams();
    const say = createMessages({ stdout: s.stdout, stderr: s.stderr, paintFor: () => plain });
    for (let i = 0; i < 12; i++) say.warn("the same warning");
    expect(s.err).toEqual(Array(12).fill("warning: the same warning\n"));
  });

  test("the paint is chosen for the stream written to", () => {
    const s = streams(true);
    const seen: (boolean | undefined)[] = [];
    const say = createMessages({ stdout: s.stdout, stderr: { write: (t: string) => s.err.push(t), isTTY: false }, paintFor: (stream) => (seen.push(stream.isTTY), stream.isTTY ? marked : plain) });
    say.warn("to stderr");
    say.withTag("x").log("to stdout");
    expect(seen).toEqual([false, true]);
    expect(s.err).toEqual(["warning: to stderr\n"]);
    expect(s.out).toEqual(["x: to stdout\n"]);
  });

  test("without a terminal, the default paint adds nothing", () => {
    const s = streams(false);
    const say = createMessages({ stdout: s.stdout, stderr: s.stderr });
    say.error("plain");
    expect(s.err).toEqual(["error: plain\n"]);
  });
});
