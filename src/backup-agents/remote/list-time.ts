/**
 * The time in a LIST line (basic-ftp's `rawModifiedAt`), as a window: Unix listings give
 * `Nov 30 11:15` (the last six months: to the minute) or `Nov 30  2025` (to the day), DOS
 * listings `11-30-25  11:15AM`. Read as UTC (vsftpd's default, and most servers'); a server
 * that lists local time simply never matches, and its files are then checked with MDTM.
 * Pure.
 */
export interface ListTime {
  /** Start of the window, seconds since the epoch. */
  readonly sec: number;
  /** Width of the window in seconds: 60 or 86,400. */
  readonly precision: number;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

export function parseListTime(raw: string | undefined, nowMs: number = Date.now()): ListTime | undefined {
  if (!raw) return undefined;
  const s = raw.trim().replace(/\s+/g, " ");
  let m = /^([A-Za-z]{3}) (\d{1,2}) (\d{1,2}):(\d{2})$/.exec(s);
  if (m) {
    const month = MONTHS.indexOf(m[1]!.toLowerCase());
    if (month < 0) return undefined;
    const now = new Date(nowMs);
    let year = now.getUTCFullYear();
    // A date more than a day ahead is last year's (listings show the year for older ones).
    if (Date.UTC(year, month, Number(m[2]), Number(m[3]), Number(m[4])) > nowMs + 86_400_000) year--;
    return { sec: Date.UTC(year, month, Number(m[2]), Number(m[3]), Number(m[4])) / 1000, precision: 60 };
  }
  m = /^([A-Za-z]{3}) (\d{1,2}) (\d{4})$/.exec(s);
  if (m) {
    const month = MONTHS.indexOf(m[1]!.toLowerCase());
    if (month < 0) return undefined;
    return { sec: Date.UTC(Number(m[3]), month, Number(m[2])) / 1000, precision: 86_400 };
  }
  m = /^(\d{2})-(\d{2})-(\d{2,4}) (\d{1,2}):(\d{2}) ?([AP]M)?$/i.exec(s);
  if (m) {
    let year = Number(m[3]);
    if (year < 100) year += year < 70 ? 2000 : 1900;
    let hour = Number(m[4]) % (m[6] ? 12 : 24);
    if (m[6]?.toUpperCase() === "PM") hour += 12;
    return { sec: Date.UTC(year, Number(m[1]) - 1, Number(m[2]), hour, Number(m[5])) / 1000, precision: 60 };
  }
  return undefined;
}

/** Does a time (whole seconds) fall in the window? */
export function inListWindow(sec: number, t: ListTime): boolean {
  return sec >= t.sec && sec < t.sec + t.precision;
}
