/** Exit statuses of the suite's programs (SPEC §5 "Exit status"). Code uses the names. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  SKIPPED: 3,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

/**
 * An expected failure: its message says what happened and what to do next.
 * Printed without a stack trace (unless -d), and carries the exit status.
 */
export class CncopError extends Error {
  readonly exitCode: number;
  /**
   * The lines printed: the message as one line (a line break in data it quotes is shown
   * escaped, never as a new line), then the detail lines of our own (a usage line, a list).
   */
  readonly lines: readonly [string, ...string[]];
  constructor(message: string, exitCode: number = EXIT.USAGE, detail: readonly string[] = []) {
    super([message, ...detail].join("\n"));
    this.name = "CncopError";
    this.exitCode = exitCode;
    this.lines = [message, ...detail];
  }
}

/**
 * A usage or configuration error (exit 2); `usage` (the program's usage text, ours) is
 * printed after the message, one line per line of it.
 */
export function usageError(message: string, usage?: string): CncopError {
  return new CncopError(message, EXIT.USAGE, usage === undefined ? [] : usage.split("\n"));
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The errno code of a Node-style system error, if any. */
export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string") return err.code;
  return undefined;
}
