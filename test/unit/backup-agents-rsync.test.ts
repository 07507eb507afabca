/** Pure parts of backupagentrsync: the exit-status table, --stats, endpoints and the plan. */
import { describe, expect, test } from "bun:test";
import { RSYNC_EXIT_TABLE, verdictOf } from "../../src/backup-agents/rsync/exit-codes.ts";
import { mostTelling } from "../../src/backup-agents/rsync/rsync-agent.ts";
import { endpointArg, endpointKind, planRsync, withoutUrlPassword, readRsyncSettings, RSYNC_DEFAULTS, type RsyncSettings } from "../../src/backup-agents/rsync/rsync-plan.ts";
import { emptyStats, foldStatsLine } from "../../src/backup-agents/rsync/stats.ts";

describe("rsync exit statuses", () => {
  const table: [number, string][] = [
    [0, "OK"], [1, "ERROR"], [2, "ERROR"], [3, "ERROR"], [4, "ERROR"], [5, "ERROR"], [6, "ERROR"], [10, "RE-RUN"], [11, "ERROR"], [12, "RE-RUN"],
    [13, "ERROR"], [14, "ERROR"], [20, "ERROR"], [21, "ERROR"], [22, "ERROR"], [23, "ERROR"], [24, "OK"], [25, "ERROR"], [30, "RE-RUN"], [35, "RE-RUN"],
    [127, "ERROR"], [255, "ERROR"], [99, "ERROR"],
  ];
  test.each(table)("%d -> %s", (code, state) => expect(verdictOf(code).state).toBe(state as never));
  test("every documented status is in the table, and 24 warns", () => {
    expect(RSYNC_EXIT_TABLE.map((r) => r.code)).toEqual([0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 25, 30, 35, 127, 255]);
    expect(verdictOf(24)).toEqual({ state: "OK", meaning: "partial transfer due to vanished source files", warn: true });
    expect(verdictOf(99).meaning).toBe("unknown exit status 99");
  });
  const byText: [number, string, string][] = [
    [5, "@ERROR: max connections (10) reached -- try again later", "RE-RUN"],
    [5, "@ERROR: auth failed on module backup", "ERROR"],
    [255, "ssh: connect to host nas port 22: Connection refused", "RE-RUN"],
    [255, "ssh: connect to host nas port 22: No route to host", "RE-RUN"],
    [255, "ssh: Could not resolve hostname nas: Temporary failure in name resolution", "RE-RUN"],
    [255, "Connection closed by 10.0.0.5 port 22", "RE-RUN"],
    [255, "ssh: Could not resolve hostname nsa: Name or service not known", "ERROR"],
    [255, "root@nas: Permission denied (publickey).", "ERROR"],
    [255, "Host key verification failed.", "ERROR"],
    [12, "root@nas: Permission denied (publickey).", "ERROR"],
    [12, "Host key verification failed.", "ERROR"],
    [12, "ssh: connect to host nas port 22: Connection refused", "RE-RUN"],
    [12, "rsync: connection unexpectedly closed (0 bytes received so far) [Receiver]", "RE-RUN"],
  ];
  test.each(byText)("%d with %p -> %s", (code, stderr, state) => expect(verdictOf(code, ["rsync: something", stderr]).state).toBe(state as never));
});

describe("--stats", () => {
  /** Lines folded one by one, as the agent does while rsync runs. */
  const parseStats = (text: string) => {
    const st = emptyStats();
    for (const line of text.split("\n")) foldStatsLine(st, line);
    return st;
  };
  test("rsync 3.x, with thousands separators", () => {
    const st = parseStats(`
Number of files: 21,003 (reg: 20,001, dir: 1,001, link: 1)
Number of created files: 5 (reg: 5)
Number of deleted files: 2 (reg: 2)
Number of regular files transferred: 1,234
Total file size: 1,079,570,324 bytes
Total transferred file size: 5,120 bytes
Literal data: 5,120 bytes
Matched data: 0 bytes
File list size: 65,536
Total bytes sent: 1,234,567
Total bytes received: 890

sent 1,234,567 bytes  received 890 bytes  2,469,134.00 bytes/sec
total size is 1,079,570,324  speedup is 873.86`);
    expect(st).toEqual({ files: 21003, regularFiles: 20001, directories: 1001, links: 1, created: 5, deleted: 2, transferred: 1234, totalSize: 1079570324, transferredSize: 5120, literalData: 5120, matchedData: 0, bytesSent: 1234567, bytesReceived: 890 });
  });
  test("rsync 2.6 (macOS) and other separators", () => {
    const st = parseStats("Number of files: 12\nNumber of files transferred: 3\nTotal file size: 1.234.567 bytes\nTotal transferred file size: 1'024 bytes\n");
    expect(st).toMatchObject({ files: 12, regularFiles: undefined, transferred: 3, totalSize: 1234567, transferredSize: 1024 });
  });
  test("nothing to parse", () => {
    expect(foldStatsLine(emptyStats(), "rsync: connection refused")).toBe(false);
    expect(parseStats("rsync: connection refused").transferred).toBeUndefined();
  });
  test("a stats line is recognised as one", () => expect(foldStatsLine(emptyStats(), "Number of files: 12")).toBe(true));
});

describe("endpoints", () => {
  const kinds: [string, string][] = [
    ["/srv/data", "local"], ["data/x", "local"], ["C:\\Data", "local"], ["C:/Data", "local"], ["./a:b", "local"],
    ["nas:/volume1/data", "ssh"], ["backup@nas:data", "ssh"], ["nas:", "ssh"],
    ["nas::module/path", "daemon"], ["rsync://nas/module", "daemon"], ["RSYNC://u@nas:873/m/p", "daemon"],
  ];
  test.each(kinds)("%p is %s", (text, kind) => expect(endpointKind(text)).toBe(kind as never));
  const args: [string, "source" | "destination", string][] = [
    ["/srv/data", "source", "/srv/data/"],
    ["/srv/data/", "source", "/srv/data/"],
    ["rel/dir", "source", "/opt/cncop/rel/dir/"],
    ["/backups/x", "destination", "/backups/x"],
    ["nas:/volume1/data", "source", "nas:/volume1/data/"],
    ["nas:", "source", "nas:"],
    ["rsync://nas/module", "source", "rsync://nas/module/"],
    ["nas::module", "destination", "nas::module"],
  ];
  test.each(args)("%p as %s -> %p", (text, what, arg) => expect(endpointArg(text, what, "/opt/cncop").arg).toBe(arg));
  test("a daemon endpoint must name its module", () => {
    expect(() => endpointArg("rsync://nas/", "source", "/r")).toThrow(/names no module/);
    expect(() => endpointArg(undefined, "destination", "/r")).toThrow(/the job has no destination/);
  });
});

describe("the rsync command", () => {
  const plan = (settings: Partial<RsyncSettings>, source = "/src", destination = "/dest", o: { debug?: boolean; dryrun?: boolean } = {}) =>
    planRsync({ program: "/usr/bin/rsync", source, destination, settings: { ...RSYNC_DEFAULTS, ...settings }, root: "/r", debug: o.debug ?? false, dryrun: o.dryrun ?? false, baseEnv: { PATH: "/usr/bin", RSYNC_PASSWORD: undefined } });

  test("local: archive, stats, no timeout", () => {
    expect(plan({}).argv).toEqual(["/usr/bin/rsync", "--archive", "--stats", "--", "/src/", "/dest"]);
  });
  test("settings become options; the dry run and -d itemize", () => {
    const p = plan({ delete: true, exclude: ["*.tmp", "cache/"], bwlimit: 500, options: ["--hard-links", "--max-size=1G"] }, "/src", "/dest", { dryrun: true });
    expect(p.argv).toEqual(["/usr/bin/rsync", "--archive", "--stats", "--delete", "--exclude=*.tmp", "--exclude=cache/", "--bwlimit=500", "--dry-run", "--itemize-changes", "--hard-links", "--max-size=1G", "--", "/src/", "/dest"]);
    expect(plan({}, "/src", "/dest", { debug: true }).argv).toContain("--itemize-changes");
  });
  test("over ssh: the remote shell and a 600 s I/O timeout by default", () => {
    expect(plan({ ssh: "ssh -p 2222" }, "nas:/data").argv).toEqual(["/usr/bin/rsync", "--archive", "--stats", "--rsh", "ssh -p 2222", "--timeout=600", "--", "nas:/data/", "/dest"]);
    expect(plan({ timeout: 0 }, "nas:/data").argv).not.toContain("--timeout=600");
  });
  test("a daemon: connection timeout, and the password only in the environment", () => {
    const p = plan({ password: "pw-123", contimeout: 15 }, "/src", "rsync://u@nas/mod");
    expect(p.argv).toEqual(["/usr/bin/rsync", "--archive", "--stats", "--timeout=600", "--contimeout=15", "--", "/src/", "rsync://u@nas/mod"]);
    expect(p.argv.join(" ")).not.toContain("pw-123");
    expect(p.env).toEqual({ PATH: "/usr/bin", RSYNC_PASSWORD: "pw-123" });
    expect(plan({ password: "pw-123" }).env.RSYNC_PASSWORD).toBeUndefined();
  });
  test("a password in an rsync:// URL leaves the argv for RSYNC_PASSWORD (percent-encoding undone)", () => {
    const p = plan({}, "rsync://bob:p%40ss%3Aw0rd@nas:873/mod/dir");
    expect(p.argv.slice(-2)).toEqual(["rsync://bob@nas:873/mod/dir/", "/dest"]);
    expect(p.argv.join(" ")).not.toContain("p%40ss");
    expect(p.env.RSYNC_PASSWORD).toBe("p@ss:w0rd");
    expect(plan({}, "/src", "rsync://bob:PW@nas/mod").argv.at(-1)).toBe("rsync://bob@nas/mod");
    expect(plan({}, "/src", "rsync://bob:PW@nas/mod").env.RSYNC_PASSWORD).toBe("PW");
  });
  test("settings.password wins over the URL's", () => {
    expect(plan({ password: "from-settings" }, "rsync://bob:from-url@nas/mod").env.RSYNC_PASSWORD).toBe("from-settings");
  });
  test("withoutUrlPassword leaves other endpoints alone", () => {
    for (const e of ["rsync://bob@nas/mod", "nas::mod/x", "bob@nas:/data", "/local/with:colon@x", undefined]) expect(withoutUrlPassword(e)).toEqual({ text: e, password: undefined });
  });
  test("two remote ends are refused", () => {
    expect(() => plan({}, "nas:/a", "rsync://x/m")).toThrow(/both remote/);
  });
  const badOptions: [unknown, RegExp][] = [
    [["/etc/passwd"], /is not an option/],
    [["--daemon"], /cannot be used by the agent/],
    ["--server", /cannot be used/],
    [[1], /settings\.options/],
  ];
  test.each(badOptions)("options %p are refused", (options, message) => expect(() => readRsyncSettings({ options })).toThrow(message));
  test("settings defaults", () => {
    expect(readRsyncSettings({}).settings).toEqual(RSYNC_DEFAULTS);
    expect(() => readRsyncSettings({ password: 42 })).toThrow("settings.password is not valid: expected a non-empty string on one line (the value is not shown)");
  });
});

describe("the line that explains a failure", () => {
  const cases: [string[], string | undefined][] = [
    [["rsync: [sender] x", "@ERROR: auth failed on module m", "rsync error: error starting client-server protocol (code 5) at main.c(1)"], "@ERROR: auth failed on module m"],
    [["u@nas: Permission denied (publickey).", "rsync: [Receiver] safe_write failed: Broken pipe (32)", "rsync error: unexplained error (code 255)"], "u@nas: Permission denied (publickey)."],
    [['rsync: [sender] send_files failed to open "/s/x": Permission denied (13)', "rsync error: some files/attrs were not transferred (code 23) at main.c(1)"], 'rsync: [sender] send_files failed to open "/s/x": Permission denied (13)'],
    [["rsync error: timeout in data send/receive (code 30)"], "rsync error: timeout in data send/receive (code 30)"],
    [[], undefined],
  ];
  test.each(cases)("%p -> %p", (lines, line) => expect(mostTelling(lines)).toBe(line));
});
