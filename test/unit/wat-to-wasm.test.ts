/**
 * The build-time assembler of WebAssembly text (wabt's wat2wasm behind a cache keyed by the
 * text): real wat2wasm runs on small modules in a temporary directory.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { assembleWat, compileWat } from "../../src/logs/wat-to-wasm.ts";

const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-wat-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A module whose one function returns `n`. */
const constModule = (n: number) => `(module (func (export "n") (result i32) (i32.const ${n})))`;

function writeWat(name: string, text: string): string {
  const path = nodePath.join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** What the function of these module bytes returns. */
function run(bytes: Uint8Array): number {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  return (instance.exports.n as () => number)();
}

const fromBase64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

describe("compileWat", () => {
  test("gives the bytes of the module the text describes", () => {
    expect(run(compileWat(writeWat("seven.wat", constModule(7))))).toBe(7);
  });
  test.each([
    ["a syntax error", "(module (func (result i32) (i32.const))", "bad.wat:1:38: error: unexpected token"],
    ["an invalid module (wrong result type)", "(module (func (result i32) (i64.const 1)))", "bad.wat:1:29: error: type mismatch"],
  ])("%s fails with wat2wasm's message, the file and the place", (_case, text, message) => {
    const path = writeWat("bad.wat", text);
    expect(() => compileWat(path)).toThrow(`wat2wasm ${path} failed: `);
    expect(() => compileWat(path)).toThrow(message);
  });
});

describe("assembleWat", () => {
  test("compiles once, then answers from the cache until the text changes", () => {
    const cache = nodePath.join(dir, "cache");
    const path = writeWat("answer.wat", constModule(42));
    expect(run(fromBase64(assembleWat(path, cache)))).toBe(42);
    const files = readdirSync(cache);
    expect(files).toHaveLength(1);
    // Another valid module in the cache file: a hit returns it, proving wat2wasm did not run.
    writeFileSync(nodePath.join(cache, files[0]!), compileWat(writeWat("other.wat", constModule(5))));
    expect(run(fromBase64(assembleWat(path, cache)))).toBe(5);
    writeFileSync(path, constModule(43));
    expect(run(fromBase64(assembleWat(path, cache)))).toBe(43);
    expect(readdirSync(cache)).toHaveLength(2);
  });
  test("a damaged cache file is compiled again and replaced", () => {
    const cache = nodePath.join(dir, "damaged");
    const path = writeWat("damaged.wat", constModule(9));
    assembleWat(path, cache);
    const file = nodePath.join(cache, readdirSync(cache)[0]!);
    writeFileSync(file, "not wasm");
    expect(run(fromBase64(assembleWat(path, cache)))).toBe(9);
    expect(run(new Uint8Array(readFileSync(file)))).toBe(9);
  });
  test("a cache that cannot be written only costs time", () => {
    const path = writeWat("nocache.wat", constModule(11));
    expect(run(fromBase64(assembleWat(path, "/dev/null/cache")))).toBe(11);
  });
});
