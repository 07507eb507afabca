/** Time formats of the suite: local log timestamps and ISO 8601 UTC for reports. */

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `YYYY-MM-DD HH:MM:SS`, local time: the start of every log line. */
/**
 * Milliseconds from a monotonic clock: durations, deadlines and waits are measured with it,
 * so a step of the wall clock (NTP, a manual change, daylight saving on a badly set host)
 * neither stretches nor shrinks them. Timestamps shown and written stay wall-clock times.
 */
export function monotonicMs(): number {
  return performance.now();
}

export function localTimestamp(d: Date = new Date()): string {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** `YYYYMMDD`, local time: the date in daily log names. */
export function localDateStamp(d: Date = new Date()): string {
  return `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}`;
}

/** ISO 8601 UTC with milliseconds, as reports carry it. */
export function isoUtc(d: Date = new Date()): string {
  return d.toISOString();
}

/** `1 h 02 min 03 s`, `4.2 s`, `850 ms`: durations for humans. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h} h ${pad2(m)} min ${pad2(s)} s` : `${m} min ${pad2(s)} s`;
}

/*
 * Age limits, the boundary in the name: something exactly `limitMs` old is at least that
 * old but not older than it. Logs are pruned once older than `days_of_logs` (SPEC §5); a
 * refused report expires once it is 5 days old (SPEC §6).
 */

/** Written at `thenMs`, is it more than `limitMs` old at `nowMs`? */
export function isOlderThan(thenMs: number, nowMs: number, limitMs: number): boolean {
  return nowMs - thenMs > limitMs;
}

/** Written at `thenMs`, is it `limitMs` old or older at `nowMs`? */
export function isAtLeastAsOld(thenMs: number, nowMs: number, limitMs: number): boolean {
  return nowMs - thenMs >= limitMs;
}

/** Caches the formatted local timestamp per second: log capture formats it per chunk. */
export class TimestampCache {
  private second = -1;
  private text = "";
  private bytes: Uint8Array = new Uint8Array(0);
  constructor(private readonly now: () => number = Date.now) {}
  current(): { text: string; bytes: Uint8Array } {
    const t = this.now();
    const s = Math.floor(t / 1000);
    if (s !== this.second) {
      this.second = s;
      this.text = localTimestamp(new Date(t));
      this.bytes = new TextEncoder().encode(this.text);
    }
    return { text: this.text, bytes: this.bytes };
  }
}
