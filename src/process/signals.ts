/**
 * The signals that ask a program of the suite to stop: Ctrl-C (SIGINT), SIGTERM, a closed
 * terminal or SSH session (SIGHUP; on Windows, libuv reports a closed console window so)
 * and, on Windows, Ctrl-Break (SIGBREAK). cncopagent, the agents, cncopreporter and `w`
 * all listen to these.
 */
export function stopSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === "win32" ? ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"] : ["SIGINT", "SIGTERM", "SIGHUP"];
}

/**
 * Windows ends a process about 5 s after its console was closed (or the user logged off,
 * or the system shuts down), which Bun reports as SIGHUP. Then the tree is stopped at once
 * (job objects have no grace), postfailure gets at most this long, and the reports and the
 * lock release follow within the time left; cncopreporter and the mail are left for later.
 */
export const CONSOLE_CLOSE_POST_SEC = 2;

/** Was the interruption (an AbortSignal's reason) a console close on Windows? */
export function consoleClosed(reason: unknown, platform: NodeJS.Platform = process.platform): boolean {
  return platform === "win32" && reason === "SIGHUP";
}
