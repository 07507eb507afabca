/**
 * rsync's exit statuses (rsync(1), "EXIT VALUES") and the agent state each stands for.
 * Transient: the network or the server, where a later attempt may succeed. A few
 * statuses depend on what rsync printed: a daemon that is full ("max connections") is
 * busy (RE-RUN), while one that refuses the password is an ERROR; ssh's 255 is RE-RUN
 * only when ssh could not reach the host. docs/agents.md has the same table.
 */
import { type FinishState } from "../../reports/finish-state.ts";

export interface ExitRule {
  readonly code: number;
  readonly meaning: string;
  readonly state: FinishState;
  /** A warning in the log when the state is OK. */
  readonly warn?: boolean;
}

export const RSYNC_EXIT_TABLE: readonly ExitRule[] = [
  { code: 0, meaning: "success", state: "OK" },
  { code: 1, meaning: "syntax or usage error", state: "ERROR" },
  { code: 2, meaning: "protocol incompatibility", state: "ERROR" },
  { code: 3, meaning: "errors selecting input/output files or folders", state: "ERROR" },
  { code: 4, meaning: "requested action not supported", state: "ERROR" },
  { code: 5, meaning: "error starting the client-server protocol", state: "ERROR" },
  { code: 6, meaning: "daemon unable to append to its log file", state: "ERROR" },
  { code: 10, meaning: "error in socket I/O", state: "RE-RUN" },
  { code: 11, meaning: "error in file I/O", state: "ERROR" },
  { code: 12, meaning: "error in the rsync protocol data stream", state: "RE-RUN" },
  { code: 13, meaning: "errors with program diagnostics", state: "ERROR" },
  { code: 14, meaning: "error in IPC code", state: "ERROR" },
  { code: 20, meaning: "received SIGUSR1 or SIGINT", state: "ERROR" },
  { code: 21, meaning: "some error returned by waitpid()", state: "ERROR" },
  { code: 22, meaning: "error allocating core memory buffers", state: "ERROR" },
  { code: 23, meaning: "partial transfer due to error", state: "ERROR" },
  { code: 24, meaning: "partial transfer due to vanished source files", state: "OK", warn: true },
  { code: 25, meaning: "the --max-delete limit stopped deletions", state: "ERROR" },
  { code: 30, meaning: "timeout in data send/receive", state: "RE-RUN" },
  { code: 35, meaning: "timeout waiting for daemon connection", state: "RE-RUN" },
  { code: 127, meaning: "rsync (or the remote shell) not found", state: "ERROR" },
  { code: 255, meaning: "the remote shell (ssh) failed", state: "ERROR" },
];

/** rsync's own words in its output that make a status transient (network or busy server). */
const BUSY_DAEMON = /@ERROR: max connections \(\d+\) reached|try again later/i;
const SSH_UNREACHABLE = /ssh: connect to host .*: (Connection refused|Connection timed out|No route to host|Network is unreachable|Operation timed out)|ssh: Could not resolve hostname .*: Temporary failure|Connection (closed|reset) by .*port \d+|kex_exchange_identification|Connection timed out during banner exchange/i;

/** ssh refused the login: retrying cannot help, whatever status rsync reports for it. */
const SSH_LOGIN_REFUSED = /Permission denied \(|Host key verification failed|Too many authentication failures|Could not resolve hostname .*: Name or service not known/i;

export interface Verdict {
  readonly state: FinishState;
  readonly meaning: string;
  readonly warn: boolean;
}

/** The state for an exit status, given the last lines rsync wrote on stderr. */
export function verdictOf(code: number, stderrTail: readonly string[] = []): Verdict {
  const rule = RSYNC_EXIT_TABLE.find((r) => r.code === code);
  const text = stderrTail.join("\n");
  if (code === 5 && BUSY_DAEMON.test(text)) return { state: "RE-RUN", meaning: "the rsync daemon is busy (max connections reached)", warn: false };
  // When the remote shell dies, rsync reports 255 or 12 depending on which it notices
  // first (its exit or the closed stream): both are read the same way.
  if ((code === 255 || code === 12) && SSH_LOGIN_REFUSED.test(text)) return { state: "ERROR", meaning: "the remote shell (ssh) refused the login or does not know the host", warn: false };
  if ((code === 255 || code === 12) && SSH_UNREACHABLE.test(text)) return { state: "RE-RUN", meaning: "the remote shell (ssh) could not reach the host", warn: false };
  if (!rule) return { state: "ERROR", meaning: `unknown exit status ${code}`, warn: false };
  return { state: rule.state, meaning: rule.meaning, warn: rule.warn === true };
}
