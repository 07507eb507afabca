/**
 * Command lines of pre/post commands: split with shell-like quoting, never run by a shell.
 *
 * - Blanks (spaces, tabs) separate arguments.
 * - 'single quotes' keep everything literally.
 * - "double quotes" keep everything literally except \" and \\.
 * - Outside quotes a backslash escapes a following blank, quote or backslash; before any
 *   other character it is a plain backslash, so Windows paths (C:\data) need no doubling.
 * - `;`, `|`, `&`, `$(...)`, backticks, `*`, `?`, `~` and `%VAR%` are plain characters.
 */

export class CommandLineError extends Error {}

export function splitCommandLine(line: string): string[] {
  // Checked on the whole line, so a line break inside quotes is refused too.
  if (/[\r\n\0]/.test(line)) throw new CommandLineError("a command line must be one line: it holds a line break or a NUL character");
  const out: string[] = [];
  let cur = "";
  let inArg = false;
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (c === " " || c === "\t") {
      if (inArg) {
        out.push(cur);
        cur = "";
        inArg = false;
      }
      i++;
      continue;
    }
    inArg = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new CommandLineError("unterminated single quote");
      cur += line.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const d = line[i]!;
        if (d === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) {
          cur += line[i + 1];
          i += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        cur += d;
        i++;
      }
      if (!closed) throw new CommandLineError("unterminated double quote");
      continue;
    }
    if (c === "\\") {
      const next = line[i + 1];
      if (next === " " || next === "\t" || next === "'" || next === '"' || next === "\\") {
        cur += next;
        i += 2;
        continue;
      }
      cur += c;
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  if (inArg) out.push(cur);
  return out;
}

/** Quote an argument so that splitCommandLine gives it back (for logs and --dryrun). */
export function quoteArg(arg: string): string {
  if (arg !== "" && /^[A-Za-z0-9_\-+=.,/:@%^]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'"'"'`)}'`;
}

export function formatCommandLine(argv: readonly string[]): string {
  return argv.map(quoteArg).join(" ");
}

/**
 * Windows runs .cmd/.bat files through cmd.exe, which parses the line itself. Inside
 * double quotes `& | < > ^ ( )` are literal (and `!` with delayed expansion off), but `%`
 * still expands (and the `%cd:~,%` trick that hides it is not understood alike by every
 * cmd.exe), a `"` inside an argument cannot be passed so that a batch file's `%~1` gives
 * it back, and line breaks end the command: arguments holding those are refused.
 */
export function cmdUnsafeReason(arg: string): string | undefined {
  if (/[\r\n\0]/.test(arg)) return "a line break or NUL";
  if (arg.includes('"')) return 'a double quote (")';
  if (arg.includes("%")) return "a percent sign (%), which cmd.exe expands even inside quotes";
  return undefined;
}

/**
 * One argument for cmd.exe: always in double quotes. Trailing backslashes are doubled, so
 * that a batch file handing `%*` on to a program does not turn `"C:\dir\"` into an escaped
 * quote (`%~1` then ends in `\\`, which Windows paths accept).
 */
export function cmdQuote(arg: string): string {
  const trailing = /\\*$/.exec(arg)![0].length;
  return `"${arg}${"\\".repeat(trailing)}"`;
}

/**
 * The argv to spawn a .cmd/.bat safely, to be started verbatim (no further quoting):
 * `cmd.exe /d /v:off /s /c ""prog" "arg" ..."` — no AutoRun commands (/d), no delayed
 * expansion (/v:off), the outer quotes stripped as a pair (/s). Throws when an argument
 * (or the program path) cannot be passed safely.
 */
export function cmdExeArgv(program: string, args: readonly string[], comspec = "cmd.exe"): string[] {
  for (const a of [program, ...args]) {
    const why = cmdUnsafeReason(a);
    if (why) throw new CommandLineError(`argument ${JSON.stringify(a)} holds ${why}, which cannot be passed safely to a .cmd/.bat program`);
  }
  const line = [`"${program}"`, ...args.map(cmdQuote)].join(" ");
  return [comspec, "/d", "/v:off", "/s", "/c", `"${line}"`];
}

/**
 * cmd.exe by its full path, so that no cmd.exe in the working folder or on PATH is picked
 * up instead: %SystemRoot%\System32\cmd.exe.
 */
export function windowsCmdExe(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const root = env.SystemRoot ?? env.SYSTEMROOT ?? env.windir ?? "C:\\Windows";
  return `${root.replace(/[\\/]+$/, "")}\\System32\\cmd.exe`;
}

export function isBatchFile(program: string): boolean {
  return /\.(cmd|bat)$/i.test(program);
}
