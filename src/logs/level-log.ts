/**
 * Logs whose lines carry a level word after the timestamp: the agents' daily logs and
 * cncopreporter's RP log (docs/log-formats.md). DEBUG lines are written only under -d.
 */
import type { LineLog } from "./log-file.ts";

export type Level = "ERROR" | "WARN" | "INFO" | "DEBUG";

export class LevelLog {
  constructor(
    private readonly file: LineLog,
    readonly debugging: boolean,
  ) {}

  get path(): string {
    return this.file.path;
  }

  /** `<LEVEL> <text>`; false when the line is not written (DEBUG without -d). */
  write(level: Level, text: string): boolean {
    if (level === "DEBUG" && !this.debugging) return false;
    this.file.line(`${level} ${text}`);
    return true;
  }

  /** A line with a word of its own (the agents' START and FINISH). */
  line(text: string): void {
    this.file.line(text);
  }

  close(): void {
    this.file.close();
  }
}
