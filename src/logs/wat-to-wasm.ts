/**
 * Build-time only: WebAssembly text (`.wat`) to bytes with wabt's `wat2wasm`, called as a
 * Bun macro (`import … with { type: "macro" }`). The macro runs when the code is bundled
 * (`bun build --compile`: the executable carries only the bytes, never wabt) and, run from
 * source, each time the importing file is transpiled: so the bytes are cached by the
 * text's hash under node_modules/.cache, and wabt (about 0.3 s) runs only when the text
 * changes. Bun inlines a macro's value as a literal: the bytes travel as base64.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { stripVTControlCharacters } from "node:util";

const REPO = nodePath.join(import.meta.dir, "..", "..");
const CACHE_DIR = nodePath.join(REPO, "node_modules", ".cache", "cncop3-wasm");

/** The bytes of the module in `watPath` (validated by wat2wasm; throws with its message). */
export function compileWat(watPath: string): Uint8Array {
  const wat2wasm = Bun.resolveSync("wabt/bin/wat2wasm", REPO);
  const dir = mkdtempSync(nodePath.join(os.tmpdir(), "cncop-wat2wasm-"));
  try {
    const out = nodePath.join(dir, "module.wasm");
    const r = Bun.spawnSync([process.execPath, wat2wasm, watPath, "-o", out], { stdout: "pipe", stderr: "pipe" });
    // wat2wasm colours its messages even into a pipe.
    const message = stripVTControlCharacters(r.stderr.toString()).trim();
    if (r.exitCode !== 0) throw new Error(`wat2wasm ${watPath} failed: ${message || `exit ${r.exitCode}`}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The macro: base64 of the module in `watPath` (relative to the repository), from the cache
 * when the same text was compiled before. A cache that cannot be written is only slower.
 */
export function assembleWat(watPath: string, cacheDir = CACHE_DIR): string {
  const path = nodePath.resolve(REPO, watPath);
  const key = createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 32);
  const cached = nodePath.join(cacheDir, `${nodePath.basename(path, ".wat")}-${key}.wasm`);
  try {
    const bytes = readFileSync(cached);
    if (WebAssembly.validate(bytes)) return bytes.toString("base64");
  } catch {}
  const bytes = compileWat(path);
  try {
    mkdirSync(cacheDir, { recursive: true });
    // Written aside, then renamed: processes transpiling at the same time never read half a file.
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, cached);
  } catch {}
  return Buffer.from(bytes).toString("base64");
}
