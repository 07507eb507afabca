/** Test helper: the CncopError with exit status 2 that `fn` throws, or a failure. */
import { expect } from "bun:test";
import { CncopError, EXIT } from "../../src/cli/errors.ts";

export function usageErrorOf(fn: () => unknown, expected = "a usage error"): CncopError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CncopError);
    expect((err as CncopError).exitCode).toBe(EXIT.USAGE);
    return err as CncopError;
  }
  throw new Error(`expected ${expected}, got none`);
}
