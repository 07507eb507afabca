/**
 * Confinement of pre/post command programs to Bin/ (SPEC §5): POSIX rules against a real
 * temporary tree with real symlinks, Windows rules with path.win32 and a fake file system
 * (drives, UNC, \\?\, case variants, alternate data streams, reserved device names,
 * junctions), and the cmd.exe wrapping of .cmd/.bat programs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { prepareCommand, windowsCmdExe } from "../../src/dispatcher/commands.ts";
import { type ConfineFs, confineProgram, isInside, lexicalRefusal } from "../../src/process/confine.ts";

describe("POSIX: real files and symlinks", () => {
  let root: string;
  let bin: string;
  beforeAll(() => {
    root = realpathSync(mkdtempSync(nodePath.join(os.tmpdir(), "cncop-confine-")));
    bin = nodePath.join(root, "Bin");
    mkdirSync(nodePath.join(bin, "sub"), { recursive: true });
    mkdirSync(nodePath.join(root, "outside"));
    mkdirSync(nodePath.join(root, "Bin2"));
    for (const f of ["Bin/dump.sh", "Bin/sub/x.sh", "outside/evil.sh", "Bin2/evil.sh"]) {
      writeFileSync(nodePath.join(root, f), "#!/bin/sh\nexit 0\n");
      chmodSync(nodePath.join(root, f), 0o755);
    }
    symlinkSync(nodePath.join(root, "outside", "evil.sh"), nodePath.join(bin, "link-out.sh"));
    symlinkSync("../outside/evil.sh", nodePath.join(bin, "rel-link-out.sh"));
    symlinkSync(nodePath.join(bin, "dump.sh"), nodePath.join(bin, "link-in.sh"));
    symlinkSync("sub/x.sh", nodePath.join(bin, "rel-link-in.sh"));
    symlinkSync(nodePath.join(root, "outside"), nodePath.join(bin, "dir-out"));
    symlinkSync("/bin/sh", nodePath.join(bin, "sh"));
    symlinkSync(bin, nodePath.join(bin, "self"));
    // A Bin/ that is itself a link to the real folder: programs inside it are fine.
    symlinkSync(bin, nodePath.join(root, "BinLink"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // [program, the path as named, the real path checked and started]
  const allowed: [string, string, string][] = [
    ["dump.sh", "Bin/dump.sh", "Bin/dump.sh"],
    ["./dump.sh", "Bin/dump.sh", "Bin/dump.sh"],
    ["sub/x.sh", "Bin/sub/x.sh", "Bin/sub/x.sh"],
    ["sub/../dump.sh", "Bin/dump.sh", "Bin/dump.sh"],
    ["link-in.sh", "Bin/link-in.sh", "Bin/dump.sh"],
    ["rel-link-in.sh", "Bin/rel-link-in.sh", "Bin/sub/x.sh"],
    ["self/dump.sh", "Bin/self/dump.sh", "Bin/dump.sh"],
  ];
  test.each(allowed)("%j is allowed, and its real path is the file started", (program, named, real) => {
    expect(confineProgram(program, bin, "linux")).toEqual({ ok: true, program: nodePath.join(root, named), real: nodePath.join(root, real) });
  });

  test("an absolute path inside Bin/ is allowed", () => {
    const p = nodePath.join(bin, "dump.sh");
    expect(confineProgram(p, bin, "linux")).toEqual({ ok: true, program: p, real: p });
  });

  test("programs through a Bin/ that is itself a symlink are allowed", () => {
    const linkBin = nodePath.join(root, "BinLink");
    expect(confineProgram("dump.sh", linkBin, "linux")).toEqual({ ok: true, program: nodePath.join(linkBin, "dump.sh"), real: nodePath.join(bin, "dump.sh") });
  });

  const refused: [string, RegExp][] = [
    ["../outside/evil.sh", /leads outside Bin/],
    ["sub/../../outside/evil.sh", /leads outside Bin/],
    ["../Bin2/evil.sh", /leads outside Bin/],
    ["/bin/sh", /leads outside Bin/],
    ["link-out.sh", /resolves to .*outside/],
    ["rel-link-out.sh", /resolves to .*outside/],
    ["dir-out/evil.sh", /resolves to .*outside/],
    ["sh", /resolves to .*outside/],
    ["missing.sh", /not found/],
    ["sub", /not found/],
    [".", /not found/],
    ["", /names no program/],
  ];
  test.each(refused)("%j is refused", (program, why) => {
    const r = confineProgram(program, bin, "linux");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(why);
    // The message says where the program must be.
    if (program !== "") expect(r.reason).toContain(`it must be a program inside ${bin}`);
  });

  test("a Bin2/ beside Bin/ is not inside Bin/ (no prefix match)", () => {
    const r = confineProgram(nodePath.join(root, "Bin2", "evil.sh"), bin, "linux");
    expect(r.ok).toBe(false);
  });
});

/** A Windows file system in memory: case-insensitive, with junctions/symlinks. */
function fakeWindowsFs(files: string[], links: Record<string, string> = {}): ConfineFs {
  const w = nodePath.win32;
  const canon = new Map(files.map((f) => [f.toLowerCase(), f]));
  const linkMap = new Map(Object.entries(links).map(([k, v]) => [k.toLowerCase(), v]));
  const realpath = (p: string): string => {
    let cur = w.resolve(p);
    // Resolve the longest linked prefix, repeatedly.
    for (let hops = 0; hops < 10; hops++) {
      const parts = cur.split("\\");
      let changed = false;
      for (let i = parts.length; i > 0; i--) {
        const prefix = parts.slice(0, i).join("\\");
        const target = linkMap.get(prefix.toLowerCase());
        if (target !== undefined) {
          cur = w.join(target, ...parts.slice(i));
          changed = true;
          break;
        }
      }
      if (!changed) break;
    }
    const c = canon.get(cur.toLowerCase());
    if (c !== undefined) return c;
    const dirs = [...canon.values()].map((f) => w.dirname(f));
    const d = dirs.find((x) => x.toLowerCase() === cur.toLowerCase());
    if (d !== undefined) return d;
    throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
  };
  return {
    realpath,
    isFile: (p) => {
      try {
        return canon.has(realpath(p).toLowerCase());
      } catch {
        return false;
      }
    },
  };
}

describe("Windows (path.win32, fake file system)", () => {
  const bin = "C:\\cncop\\Bin";
  const fs = fakeWindowsFs(
    ["C:\\cncop\\Bin\\dump.cmd", "C:\\cncop\\Bin\\tool.exe", "C:\\cncop\\Bin\\tools\\x.exe", "C:\\cncop\\Bin\\old.bat", "C:\\cncop\\Bin2\\evil.exe", "C:\\Windows\\System32\\cmd.exe", "D:\\cncop\\Bin\\tool.exe", "C:\\evil\\evil.exe"],
    { "C:\\cncop\\Bin\\junction": "C:\\evil", "C:\\cncop\\Bin\\link.exe": "C:\\evil\\evil.exe", "C:\\cncop\\Bin\\inlink.exe": "C:\\cncop\\Bin\\tool.exe" },
  );
  const confine = (program: string) => confineProgram(program, bin, "win32", fs);

  const allowed: [string, string][] = [
    ["dump.cmd", "C:\\cncop\\Bin\\dump.cmd"],
    ["dump", "C:\\cncop\\Bin\\dump.cmd"],
    ["tool", "C:\\cncop\\Bin\\tool.exe"],
    ["old", "C:\\cncop\\Bin\\old.bat"],
    ["tools\\x.exe", "C:\\cncop\\Bin\\tools\\x.exe"],
    ["tools/x.exe", "C:\\cncop\\Bin\\tools\\x.exe"],
    ["C:\\cncop\\Bin\\tool.exe", "C:\\cncop\\Bin\\tool.exe"],
    ["\\cncop\\Bin\\tool.exe", "C:\\cncop\\Bin\\tool.exe"],
    // Case variants of the same folder are the same folder on Windows.
    ["C:\\CNCOP\\bin\\TOOL.EXE", "C:\\CNCOP\\bin\\TOOL.EXE"],
    ["c:\\cncop\\bin\\tool.exe", "c:\\cncop\\bin\\tool.exe"],
    ["..\\BIN\\tool.exe", "C:\\cncop\\BIN\\tool.exe"],
    ["inlink.exe", "C:\\cncop\\Bin\\inlink.exe"],
  ];
  test.each(allowed)("%j is allowed; the file started is its real path", (program, want) => {
    expect(confine(program)).toEqual({ ok: true, program: want, real: fs.realpath(want) });
  });

  test("a link inside Bin/ starts the file it points to", () => {
    expect(confine("inlink.exe")).toEqual({ ok: true, program: "C:\\cncop\\Bin\\inlink.exe", real: "C:\\cncop\\Bin\\tool.exe" });
  });

  const refused: [string, RegExp][] = [
    ["..\\evil\\evil.exe", /leads outside Bin/],
    ["..\\..\\evil\\evil.exe", /leads outside Bin/],
    ["tools\\..\\..\\Bin2\\evil.exe", /leads outside Bin/],
    ["..\\Bin2\\evil.exe", /leads outside Bin/],
    ["C:\\cncop\\Bin2\\evil.exe", /leads outside Bin/],
    ["C:\\Windows\\System32\\cmd.exe", /leads outside Bin/],
    ["\\Windows\\System32\\cmd.exe", /leads outside Bin/],
    ["c:\\CNCOP\\BIN\\..\\bin2\\evil.exe", /leads outside Bin/],
    // other drives
    ["D:\\cncop\\Bin\\tool.exe", /drive D: but Bin\/ is on drive C:/],
    ["d:\\cncop\\Bin\\tool.exe", /drive D: but Bin\/ is on drive C:/],
    // drive-relative paths
    ["C:tool.exe", /drive-relative/],
    ["D:tool.exe", /drive-relative|drive D:/],
    // UNC and device paths
    ["\\\\server\\share\\tool.exe", /UNC/],
    ["//server/share/tool.exe", /UNC/],
    ["\\\\?\\C:\\cncop\\Bin\\tool.exe", /UNC/],
    ["\\\\.\\C:\\cncop\\Bin\\tool.exe", /UNC/],
    ["//?/C:/cncop/Bin/tool.exe", /UNC/],
    ["\\\\?\\UNC\\server\\share\\x.exe", /UNC/],
    ["\\/server\\share\\tool.exe", /UNC/],
    // alternate data streams
    ["tool.exe:hidden", /alternate data streams/],
    ["tool.exe::$DATA", /alternate data streams/],
    ["tools:ads\\x.exe", /alternate data streams/],
    ["C:\\cncop\\Bin\\tool.exe:evil.exe", /alternate data streams/],
    // reserved device names
    ["NUL", /device name/],
    ["con.exe", /device name/],
    ["tools\\COM1.bat", /device name/],
    ["lpt9", /device name/],
    ["aux.cmd", /device name/],
    // name parts Windows would silently change
    ["tool.exe.", /ends with a dot or a space/],
    ["tool.exe ", /ends with a dot or a space/],
    [".. \\evil\\evil.exe", /ends with a dot or a space/],
    ["tools.\\x.exe", /ends with a dot or a space/],
    ["...\\x.exe", /ends with a dot or a space/],
    // characters Windows does not allow in names
    ["to?l.exe", /does not allow/],
    ["to*.exe", /does not allow/],
    ["a|b.exe", /does not allow/],
    ['"tool.exe"', /does not allow/],
    // links pointing out of Bin/
    ["link.exe", /resolves to C:\\evil\\evil\.exe, outside/],
    ["junction\\evil.exe", /resolves to C:\\evil\\evil\.exe, outside/],
    // not there
    ["missing", /not found/],
    ["tools", /not found/],
  ];
  test.each(refused)("%j is refused", (program, why) => {
    const r = confine(program);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(why);
    expect(r.reason).toContain("it must be a program inside C:\\cncop\\Bin");
  });

  test("a Bin/ that is a junction to another drive: programs inside its real path are allowed", () => {
    const jfs = fakeWindowsFs(["E:\\real\\Bin\\tool.exe", "E:\\real\\other.exe"], { "C:\\cncop\\Bin": "E:\\real\\Bin", "C:\\cncop\\Bin\\out.exe": "E:\\real\\other.exe" });
    expect(confineProgram("tool.exe", bin, "win32", jfs)).toEqual({ ok: true, program: "C:\\cncop\\Bin\\tool.exe", real: "E:\\real\\Bin\\tool.exe" });
    expect(confineProgram("out.exe", bin, "win32", jfs).ok).toBe(false);
  });

  test("lexical checks need no file system", () => {
    expect(lexicalRefusal("tool.exe", bin, "win32")).toBeUndefined();
    expect(lexicalRefusal("..\\x", bin, "win32")).toMatch(/outside/);
  });

  test.each([
    ["C:\\a\\Bin", "C:\\a\\Bin\\x", true],
    ["C:\\a\\Bin", "c:\\A\\bin\\x", true],
    ["C:\\a\\Bin", "C:\\a\\Bin", true],
    ["C:\\a\\Bin", "C:\\a\\Bin2\\x", false],
    ["C:\\a\\Bin", "C:\\a\\x", false],
    ["C:\\a\\Bin", "D:\\a\\Bin\\x", false],
  ] as const)("isInside win32 %j %j = %p", (parent, child, want) => {
    expect(isInside(parent, child, "win32")).toBe(want);
  });
  test.each([
    ["/r/Bin", "/r/Bin/x", true],
    ["/r/Bin", "/r/bin/x", false],
    ["/r/Bin", "/r/Bin2/x", false],
    ["/r/Bin", "/r/Bin/..x", true],
    ["/r/Bin", "/r", false],
  ] as const)("isInside posix %j %j = %p", (parent, child, want) => {
    expect(isInside(parent, child, "linux")).toBe(want);
  });
});

describe("prepareCommand on Windows: .cmd/.bat go through cmd.exe, safely or not at all", () => {
  const bin = "C:\\cncop\\Bin";
  const fs = fakeWindowsFs(["C:\\cncop\\Bin\\dump.cmd", "C:\\cncop\\Bin\\tool.exe", "C:\\cncop\\Bin\\old.BAT"]);
  const ctx = { bin, platform: "win32" as const, fs, comspec: "C:\\Windows\\System32\\cmd.exe" };

  test("an .exe runs directly with its arguments", () => {
    expect(prepareCommand("tool.exe 'a b' %PATH% \"x&y\"", ctx)).toEqual({ ok: true, argv: ["C:\\cncop\\Bin\\tool.exe", "a b", "%PATH%", "x&y"], file: "C:\\cncop\\Bin\\tool.exe", verbatim: false });
  });

  test("a .cmd is wrapped: every argument quoted, cmd.exe without AutoRun and delayed expansion", () => {
    expect(prepareCommand("dump 'a b' x&y ^z", ctx)).toEqual({
      ok: true,
      argv: ["C:\\Windows\\System32\\cmd.exe", "/d", "/v:off", "/s", "/c", '""C:\\cncop\\Bin\\dump.cmd" "a b" "x&y" "^z""'],
      file: "C:\\Windows\\System32\\cmd.exe",
      verbatim: true,
    });
  });

  const unsafe: [string, RegExp][] = [
    ["dump.cmd %PATH%", /percent/],
    ["old.bat 50%", /percent/],
    ["dump.cmd 'say \"hi\"'", /double quote/],
    ["old.BAT \"a\\\"b\"", /double quote/],
  ];
  test.each(unsafe)("%j is refused before anything runs", (line, why) => {
    const r = prepareCommand(line, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(why);
  });

  test.each([
    ["", /empty/],
    ["   ", /empty/],
    ["'open", /cannot read the command line: unterminated/],
    ["..\\x.exe", /outside Bin/],
  ])("%j is refused", (line, why) => {
    const r = prepareCommand(line, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(why);
  });
});

describe("windowsCmdExe: cmd.exe by full path, never looked up in the working folder", () => {
  test.each([
    [{ SystemRoot: "C:\\Windows" }, "C:\\Windows\\System32\\cmd.exe"],
    [{ SystemRoot: "D:\\WINNT\\" }, "D:\\WINNT\\System32\\cmd.exe"],
    [{ windir: "E:\\Win" }, "E:\\Win\\System32\\cmd.exe"],
    [{}, "C:\\Windows\\System32\\cmd.exe"],
  ])("%j", (env, want) => {
    expect(windowsCmdExe(env)).toBe(want);
  });
});
