/** The last lines of a child's output that a log sink keeps (for the --email message). */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { FileLineLog } from "../../src/logs/log-file.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sinkFor(tailLines: number) {
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-tail-"));
  dirs.push(dir);
  const log = new FileLineLog(nodePath.join(dir, "x.log"));
  return { sink: log.sink("[t]", tailLines), text: () => readFileSync(log.path, "utf8"), log };
}

const enc = (s: string) => new TextEncoder().encode(s);

test.each([
  { name: "several lines in one chunk", chunks: ["a\nb\nc\n"], keep: 20, tail: ["a", "b", "c"] },
  { name: "more lines than kept", chunks: ["1\n2\n3\n4\n5\n"], keep: 3, tail: ["3", "4", "5"] },
  { name: "a line split across chunks", chunks: ["hel", "lo\nwor", "ld\n"], keep: 20, tail: ["hello", "world"] },
  { name: "a carried start and more lines after it", chunks: ["par", "t\nnext\nlast\n"], keep: 20, tail: ["part", "next", "last"] },
  { name: "an unfinished last line is shown too", chunks: ["done\nwork"], keep: 20, tail: ["done", "work"] },
  { name: "CRLF", chunks: ["x\r\ny\r\n"], keep: 20, tail: ["x", "y"] },
  { name: "empty lines count", chunks: ["\n\nz\n"], keep: 2, tail: ["", "z"] },
  { name: "lines over several chunks, kept across them", chunks: ["1\n2\n", "3\n", "4\n5\n"], keep: 4, tail: ["2", "3", "4", "5"] },
  { name: "nothing kept", chunks: ["a\nb\n"], keep: 0, tail: [] },
])("$name", ({ chunks, keep, tail }) => {
  const { sink, text, log } = sinkFor(keep);
  for (const c of chunks) sink.write(enc(c));
  expect(sink.tail()).toEqual([...tail]);
  sink.end();
  log.close();
  // The log itself still gets every byte, one line each.
  const logged = text().split("\n").filter((l) => l !== "").map((l) => l.replace(/^\S+ \S+ \[t\] /, ""));
  expect(logged.join("\n").replace(/\r/g, "")).toBe(chunks.join("").replace(/\r/g, "").replace(/\n$/, ""));
});
