/**
 * Reading a job's `settings` JSON object (SPEC §4) into typed options: each agent lists
 * its keys with a reader; a wrong type is an error naming the key, the value and what is
 * allowed; an unknown key is a warning (naming the key only: its value may be a secret).
 */
export class SettingsError extends Error {}

export type SettingReader<T> = (value: unknown, key: string) => T;

function show(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function bad(key: string, value: unknown, allowed: string): SettingsError {
  return new SettingsError(`settings.${key} = ${show(value)} is not valid: ${allowed}`);
}

export const readBoolean: SettingReader<boolean> = (v, key) => {
  if (typeof v === "boolean") return v;
  if (v === 0 || v === 1) return v === 1;
  throw bad(key, v, "expected true or false");
};

export function readNumber(min: number, max: number, integer = false): SettingReader<number> {
  return (v, key) => {
    const n = typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw bad(key, v, `expected a ${integer ? "whole " : ""}number from ${min} to ${max}`);
    }
    return n;
  };
}

export const readString: SettingReader<string> = (v, key) => {
  if (typeof v === "string" && v !== "" && !/[\0\r\n]/.test(v)) return v;
  throw bad(key, v, "expected a non-empty string on one line");
};

/** A secret: never shown in a message, even when it is of the wrong type. */
export const readSecret: SettingReader<string> = (v, key) => {
  if (typeof v === "string" && v !== "" && !/[\0\r\n]/.test(v)) return v;
  throw new SettingsError(`settings.${key} is not valid: expected a non-empty string on one line (the value is not shown)`);
};

/** A list of strings; a single string counts as a list of one. */
export const readStringList: SettingReader<string[]> = (v, key) => {
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string" && s !== "" && !/[\0\r\n]/.test(s))) {
    throw bad(key, v, 'expected a list of non-empty strings, e.g. ["*.tmp", "cache/"]');
  }
  return [...(list as string[])];
};

export type SettingsSchema<T> = { [K in keyof T]-?: SettingReader<T[K]> };

/** Read the settings the schema knows; unknown keys become warnings. */
export function readSettings<T extends object>(raw: Readonly<Record<string, unknown>>, schema: SettingsSchema<T>, defaults: T): { settings: T; warnings: string[] } {
  const out = { ...defaults } as T;
  const warnings: string[] = [];
  const known = Object.keys(schema);
  for (const [key, value] of Object.entries(raw)) {
    const reader = (schema as Record<string, SettingReader<unknown>>)[key];
    if (!reader) {
      warnings.push(`unknown setting "${key}" ignored (known: ${known.join(", ")})`);
      continue;
    }
    if (value === null) continue;
    (out as Record<string, unknown>)[key] = reader(value, key);
  }
  return { settings: Object.freeze(out), warnings };
}
