/** Bytes: sizes for people (binary units with one decimal), and copying byte arrays. */

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** `512 B`, `1.5 KiB`, `3.2 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${UNITS[i]}`;
}

/** A copy of `u[from, to)`: Buffer's slice() is a view, Uint8Array's a copy; this is always a copy. */
export function copyBytes(u: Uint8Array, from = 0, to = u.length): Uint8Array {
  return Uint8Array.prototype.slice.call(u, from, to);
}

/** The parts one after another, `len` bytes in all; a single part is returned as it is (no copy). */
export function concatBytes(parts: readonly Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
