/** One list of stop signals for every program: Ctrl-Break counts on Windows only. */
import { expect, test } from "bun:test";
import { stopSignals } from "../../src/process/signals.ts";

test.each([
  ["linux", ["SIGINT", "SIGTERM", "SIGHUP"]],
  ["darwin", ["SIGINT", "SIGTERM", "SIGHUP"]],
  ["win32", ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"]],
] as const)("%s: %p", (platform, want) => expect(stopSignals(platform)).toEqual([...want]));
