/** Source trees for the agents' end-to-end tests. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";

export const UNICODE_DIR = "Ünïcødé ✓";
export const UNICODE_FILE = "日本語 ファイル — ñ.txt";
export const DEEP_LEVELS = 40;

export function tempDir(tag: string): string {
  return mkdtempSync(nodePath.join(os.tmpdir(), `cncop-${tag}-`));
}

export function removeAll(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

export function write(root: string, rel: string, content: string | Uint8Array, mtimeSec?: number): string {
  const p = nodePath.join(root, rel);
  mkdirSync(nodePath.dirname(p), { recursive: true });
  writeFileSync(p, content);
  if (mtimeSec !== undefined) utimesSync(p, mtimeSec, mtimeSec);
  return p;
}

/** `size` bytes that differ from block to block (so a misplaced block is noticed). */
export function writePatterned(path: string, size: number, seed = 1): void {
  mkdirSync(nodePath.dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  try {
    for (let off = 0, n = 0; off < size; off += block.length, n++) {
      block.writeUInt32LE(n, 0);
      writeSync(fd, block, 0, Math.min(block.length, size - off));
    }
  } finally {
    closeSync(fd);
  }
}

/** The standard source: text, empty, Unicode names, a deep tree, an old file, links. */
export function makeSource(root: string): { files: number; deepRel: string } {
  write(root, "plain.txt", "hello, backup\n");
  write(root, "empty.dat", "");
  write(root, `${UNICODE_DIR}/${UNICODE_FILE}`, "unicode names\n");
  write(root, "old.txt", "from 2001\n", 1_000_000_000);
  write(root, "docs/report.md", "# report\n".repeat(1000));
  writePatterned(nodePath.join(root, "docs", "medium.bin"), 3 * 1024 * 1024 + 17);
  const deep = Array.from({ length: DEEP_LEVELS }, (_, i) => `level${String(i).padStart(2, "0")}`).join("/");
  write(root, `${deep}/bottom.txt`, "at the bottom\n");
  mkdirSync(nodePath.join(root, "empty-folder"));
  symlinkSync("plain.txt", nodePath.join(root, "link-to-plain"));
  symlinkSync("docs", nodePath.join(root, "link-to-docs"));
  return { files: 9, deepRel: `${deep}/bottom.txt` };
}
