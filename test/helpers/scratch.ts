/**
 * What an end-to-end test leaves behind: temporary install trees and folders, servers,
 * processes still running. One `makeScratch()` per test file registers the clean-up; tests
 * hand it what they make. Files whose tests run concurrently clean up after the whole file
 * (`"file"`): a hook after each test would remove the trees of tests still running.
 */
import { afterAll, afterEach } from "bun:test";
import { writeFileSync } from "node:fs";
import nodePath from "node:path";
import { removeAll, tempDir } from "./fixtures.ts";
import { makeTree, type MakeTreeOptions, type Tree } from "./tree.ts";

export interface Scratch {
  /** Remove `t` (a Tree, or anything else with `cleanup()`) afterwards; returns it. */
  track<T extends { cleanup(): void }>(t: T): T;
  /** A new temporary install tree (see `makeTree`), removed afterwards. */
  tree(opts?: MakeTreeOptions): Tree;
  /** A new temporary folder `cncop-<tag>-*`, removed afterwards. */
  dir(tag: string): string;
  /** Run `fn` afterwards (awaited). What is added last runs first, as with nested `finally`. */
  defer(fn: () => unknown): void;
  /**
   * A program the test started in `t`, whose fake agents wait for `<root>/release`:
   * afterwards that file is written and the process awaited, so a test that failed half-way
   * leaves nothing running. Returns `proc`.
   */
  release<P extends { readonly exited: Promise<number> }>(t: Tree, proc: P): P;
}

export function makeScratch(scope: "test" | "file" = "test"): Scratch {
  const pending: (() => unknown)[] = [];
  const hook = scope === "test" ? afterEach : afterAll;
  hook(async () => {
    // Every clean-up runs even when one fails; the first failure is reported.
    let failure: unknown;
    for (const fn of pending.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  });
  const scratch: Scratch = {
    track(t) {
      pending.push(() => t.cleanup());
      return t;
    },
    tree: (opts) => scratch.track(makeTree(opts)),
    dir(tag) {
      const d = tempDir(tag);
      pending.push(() => removeAll(d));
      return d;
    },
    defer(fn) {
      pending.push(fn);
    },
    release(t, proc) {
      pending.push(async () => {
        writeFileSync(nodePath.join(t.root, "release"), "");
        await proc.exited;
      });
      return proc;
    },
  };
  return scratch;
}
