/**
 * The `--stats` block rsync prints at the end, parsed for the FINISH line and the JS-
 * report. Numbers may carry thousands separators (rsync 3.1+); older rsync (2.6, macOS)
 * says "Number of files transferred" where 3.x says "Number of regular files transferred".
 */
export interface RsyncStats {
  files: number | undefined;
  regularFiles: number | undefined;
  directories: number | undefined;
  links: number | undefined;
  created: number | undefined;
  deleted: number | undefined;
  transferred: number | undefined;
  totalSize: number | undefined;
  transferredSize: number | undefined;
  literalData: number | undefined;
  matchedData: number | undefined;
  bytesSent: number | undefined;
  bytesReceived: number | undefined;
}

export function emptyStats(): RsyncStats {
  return {
    files: undefined, regularFiles: undefined, directories: undefined, links: undefined, created: undefined, deleted: undefined, transferred: undefined,
    totalSize: undefined, transferredSize: undefined, literalData: undefined, matchedData: undefined, bytesSent: undefined, bytesReceived: undefined,
  };
}

/** A count, with or without thousands separators (`1,234,567`, `1.234`, `1'234`, `1234`). */
const N = "(\\d{1,3}(?:[,.' ]\\d{3})+|\\d+)";
const num = (s: string) => Number(s.replace(/\D/g, ""));
const LINE_RES: [RegExp, (st: RsyncStats, m: RegExpExecArray) => void][] = [
  [new RegExp(`^Number of files: ${N}(?: \\((.*)\\))?$`), (st, m) => {
    st.files = num(m[1]!);
    const parts = m[2] ?? "";
    const part = (k: string) => {
      const x = new RegExp(`\\b${k}: ${N}`).exec(parts);
      return x ? num(x[1]!) : undefined;
    };
    st.regularFiles = part("reg");
    st.directories = part("dir");
    st.links = part("link");
  }],
  [new RegExp(`^Number of created files: ${N}\\b`), (st, m) => void (st.created = num(m[1]!))],
  [new RegExp(`^Number of deleted files: ${N}\\b`), (st, m) => void (st.deleted = num(m[1]!))],
  [new RegExp(`^Number of (?:regular )?files transferred: ${N}$`), (st, m) => void (st.transferred = num(m[1]!))],
  [new RegExp(`^Total file size: ${N} bytes`), (st, m) => void (st.totalSize = num(m[1]!))],
  [new RegExp(`^Total transferred file size: ${N} bytes`), (st, m) => void (st.transferredSize = num(m[1]!))],
  [new RegExp(`^Literal data: ${N} bytes`), (st, m) => void (st.literalData = num(m[1]!))],
  [new RegExp(`^Matched data: ${N} bytes`), (st, m) => void (st.matchedData = num(m[1]!))],
  [new RegExp(`^Total bytes sent: ${N}$`), (st, m) => void (st.bytesSent = num(m[1]!))],
  [new RegExp(`^Total bytes received: ${N}$`), (st, m) => void (st.bytesReceived = num(m[1]!))],
];

/** Fold one line of rsync's stdout into the stats; true when it was a stats line. */
export function foldStatsLine(st: RsyncStats, line: string): boolean {
  const t = line.trim();
  for (const [re, apply] of LINE_RES) {
    const m = re.exec(t);
    if (m) {
      apply(st, m);
      return true;
    }
  }
  return false;
}
