/**
 * The signals that ask a program of the suite to stop: Ctrl-C (SIGINT), SIGTERM, a closed
 * terminal or SSH session (SIGHUP; on Windows, libuv reports a closed console window so)
 * and, on Windows, Ctrl-Break (SIGBREAK). cncopagent, the agents, cncopreporter and `w`
 * all listen to these.
 */
export function stopSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === "win32" ? ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"] : ["SIGINT", "SIGTERM", "SIGHUP"];
}
