/**
 * A child's own peak memory: VmHWM of /proc/<pid>/status, polled while it runs (Linux).
 * The rusage maxRSS of a child also counts its parent's memory at fork (kept across
 * exec), so it grows with the test runner and says little about the program itself.
 */
import { readFileSync } from "node:fs";

export function pollPeakRss(pid: number, everyMs = 10): { stop: () => number } {
  let peakKb = 0;
  const sample = () => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {}
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    /** The peak in bytes (0 when nothing could be read). */
    stop: () => {
      clearInterval(timer);
      return peakKb * 1024;
    },
  };
}
