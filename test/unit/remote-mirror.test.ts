/**
 * The remote mirror (src/backup-agents/remote/mirror.ts) over an in-memory server: which
 * files it asks MDTM for, what it takes as unchanged, hostile names, stale parts, deletes,
 * the dry run, a file that changes while read, a transient failure mid-file, and when it
 * opens more connections.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import nodePath from "node:path";
import { openAgentLog } from "../../src/backup-agents/agent-log.ts";
import { makeExcluder } from "../../src/backup-agents/cifs/exclude.ts";
import { Mirror } from "../../src/backup-agents/remote/mirror.ts";
import { partName } from "../../src/backup-agents/remote/local-side.ts";
import { RemoteError } from "../../src/backup-agents/remote/remote-errors.ts";
import type { Connector, FetchResult, RemoteEntry, RemoteSession } from "../../src/backup-agents/remote/remote-fs.ts";
import { removeAll, tempDir } from "../helpers/fixtures.ts";

const dirs: string[] = [];
afterAll(() => removeAll(...dirs));

interface FakeFile {
  data: Buffer;
  mtime: number;
}

/** A server whose tree is a map of paths; `exact`: listings carry exact times (MLSD, SFTP), else LIST windows. */
class FakeServer implements RemoteSession {
  readonly canResume = true;
  mdtmCalls: string[] = [];
  fetched: string[] = [];
  /** Called while a file is being fetched (to change it, or to fail). */
  during: ((path: string) => void) | undefined;
  constructor(
    readonly files: Map<string, FakeFile>,
    readonly extraNames: Map<string, string[]> = new Map(),
    readonly exact = true,
  ) {}

  async list(dir: string): Promise<RemoteEntry[]> {
    const prefix = dir === "/" ? "/" : `${dir}/`;
    const names = new Map<string, RemoteEntry>();
    for (const [p, f] of this.files) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const [first, ...more] = rest.split("/");
      if (more.length > 0) names.set(first!, { name: first!, kind: "dir", size: 0, mtime: 0 });
      else names.set(first!, this.exact ? { name: first!, kind: "file", size: f.data.length, mtime: f.mtime } : { name: first!, kind: "file", size: f.data.length, mtime: undefined, listTime: { sec: f.mtime - (f.mtime % 60), precision: 60 } });
    }
    for (const n of this.extraNames.get(dir) ?? []) names.set(n, { name: n, kind: "file", size: 1, mtime: 1 });
    return [...names.values()];
  }
  async isDir(): Promise<boolean> {
    return true;
  }
  async mtime(path: string): Promise<number | undefined> {
    this.mdtmCalls.push(path);
    return this.files.get(path)?.mtime;
  }
  async follow(): Promise<RemoteEntry | undefined> {
    return undefined;
  }
  async fetch(path: string, local: string, offset: number, _e: RemoteEntry, onBytes: (n: number) => void): Promise<FetchResult> {
    const f = this.files.get(path);
    if (!f) throw new RemoteError("vanished", `${path} vanished`);
    this.fetched.push(`${path}@${offset}`);
    const fd = openSync(local, offset > 0 ? "r+" : "w");
    try {
      const mid = offset + Math.ceil((f.data.length - offset) / 2);
      writeSync(fd, f.data, offset, mid - offset, offset);
      this.during?.(path);
      writeSync(fd, f.data, mid, f.data.length - mid, mid);
    } finally {
      closeSync(fd);
    }
    onBytes(f.data.length - offset);
    const now = this.files.get(path)!;
    return { bytes: f.data.length - offset, size: now.data.length, mtime: now.mtime };
  }
  async close(): Promise<void> {}
}

function mirrorOf(server: FakeServer, o: { dryrun?: boolean; deleteExtraneous?: boolean; exclude?: string[]; connector?: Connector } = {}) {
  const root = tempDir("mirror");
  dirs.push(root);
  const said: string[] = [];
  const log = openAgentLog(root, "TEST", { debug: true });
  const connector: Connector = o.connector ?? { label: "fake", shared: true, open: async () => server };
  const m = new Mirror(connector, {
    excluder: makeExcluder(o.exclude ?? [], "linux"),
    deleteExtraneous: o.deleteExtraneous ?? false,
    parallel: 3,
    resume: true,
    modifyWindowSec: 0,
    dryrun: o.dryrun ?? false,
    platform: "linux",
    log,
    say: (l) => said.push(l),
    abort: new AbortController().signal,
  });
  const dest = nodePath.join(root, "dest");
  return { m, dest, said, log: () => readFileSync(log.path, "utf8"), run: () => m.run(server, "/src", dest) };
}

const file = (text: string, mtime: number): FakeFile => ({ data: Buffer.from(text), mtime });

describe("remote mirror", () => {
  test("fetches a tree with times, then takes it as unchanged without asking; skips names that cannot be local", async () => {
    const server = new FakeServer(new Map([["/src/a.txt", file("a", 1_700_000_000)], ["/src/d/b.txt", file("bb", 1_700_000_100)]]), new Map([["/src", ["..", "x\ny"]]]));
    const first = mirrorOf(server);
    await first.run();
    expect(readFileSync(nodePath.join(first.dest, "d/b.txt"), "utf8")).toBe("bb");
    expect(statSync(nodePath.join(first.dest, "a.txt")).mtimeMs).toBe(1_700_000_000_000);
    expect(first.m.state.c).toMatchObject({ filesFetched: 2, bytesFetched: 3, skipped: 2, directories: 1 });
    expect(first.log()).toContain('skipped "x\\ny": the name holds a slash or control character');
    const again = mirrorOf(server);
    await again.m.run(server, "/src", first.dest);
    expect(again.m.state.c).toMatchObject({ filesFetched: 0, filesUnchanged: 2 });
    expect(server.mdtmCalls).toEqual([]);
  });

  test("LIST windows: a copy inside the window is unchanged with no MDTM; outside, MDTM decides", async () => {
    const server = new FakeServer(new Map([["/src/in.txt", file("same", 1_700_000_030)], ["/src/out.txt", file("same", 1_700_000_030)]]), new Map(), false);
    const x = mirrorOf(server);
    mkdirSync(x.dest, { recursive: true });
    writeFileSync(nodePath.join(x.dest, "in.txt"), "same");
    utimesSync(nodePath.join(x.dest, "in.txt"), 1_700_000_010, 1_700_000_010);
    writeFileSync(nodePath.join(x.dest, "out.txt"), "same");
    utimesSync(nodePath.join(x.dest, "out.txt"), 1_600_000_000, 1_600_000_000);
    await x.run();
    expect(server.mdtmCalls).toEqual(["/src/out.txt"]);
    expect(server.fetched).toEqual(["/src/out.txt@0"]);
    expect(statSync(nodePath.join(x.dest, "out.txt")).mtimeMs).toBe(1_700_000_030_000);
  });

  test("stale parts are removed; deletes spare excluded paths; the dry run says and changes nothing", async () => {
    const server = new FakeServer(new Map([["/src/keep.txt", file("k", 1_700_000_000)]]));
    const x = mirrorOf(server, { deleteExtraneous: true, exclude: ["*.log"] });
    mkdirSync(nodePath.join(x.dest, "old"), { recursive: true });
    writeFileSync(nodePath.join(x.dest, partName("gone.txt")), "half");
    writeFileSync(nodePath.join(x.dest, "gone.txt"), "g");
    writeFileSync(nodePath.join(x.dest, "mine.log"), "excluded");
    const dry = mirrorOf(server, { dryrun: true, deleteExtraneous: true, exclude: ["*.log"] });
    await dry.m.run(server, "/src", x.dest);
    expect(dry.said.sort()).toEqual(["would delete gone.txt", "would delete old/", "would fetch keep.txt (1 bytes)"]);
    expect(readdirSync(x.dest).sort()).toEqual([partName("gone.txt"), "gone.txt", "mine.log", "old"].sort());
    await x.run();
    expect(readdirSync(x.dest).sort()).toEqual(["keep.txt", "mine.log"]);
    expect(x.m.state.c).toMatchObject({ filesDeleted: 2, partsRemoved: 1 });
  });

  test("a file changed while read is not put in place; a transient failure keeps the part, and the next run continues it", async () => {
    const files = new Map([["/src/a.bin", file("0123456789", 1_700_000_000)], ["/src/b.bin", file("abcdefghij", 1_700_000_000)]]);
    const server = new FakeServer(files);
    server.during = (p) => {
      if (p === "/src/a.bin") files.set(p, file("0123456789+", 1_700_000_005));
      if (p === "/src/b.bin") throw new RemoteError("transient", "connection reset");
    };
    const x = mirrorOf(server);
    await x.run();
    expect(x.m.state.c.changed).toBe(1);
    expect(x.m.state.stop?.kind).toBe("transient");
    expect(existsSync(nodePath.join(x.dest, "a.bin"))).toBe(false);
    const part = nodePath.join(x.dest, partName("b.bin"));
    expect(readFileSync(part, "utf8")).toBe("abcde");
    expect(Math.floor(statSync(part).mtimeMs / 1000)).toBe(1_700_000_000);
    server.during = undefined;
    const y = mirrorOf(server);
    await y.m.run(server, "/src", x.dest);
    expect(server.fetched.at(-1)).toBe("/src/b.bin@5");
    expect(readFileSync(nodePath.join(x.dest, "b.bin"), "utf8")).toBe("abcdefghij");
    expect(y.m.state.c.resumed).toBe(1);
  });

  test("more connections are opened only for work on the server: none when nothing changed or for a dry run's fetches", async () => {
    const files = new Map([1, 2, 3, 4].map((i) => [`/src/f${i}.txt`, file(`file ${i}`, 1_700_000_000 + i)] as const));
    const server = new FakeServer(files);
    let opens = 0;
    const connector: Connector = { label: "fake", shared: false, open: async () => (opens++, server) };
    const first = mirrorOf(server, { connector });
    await first.run();
    expect(first.m.state.c.filesFetched).toBe(4);
    expect(opens).toBe(2); // parallel 3: the first session and two more
    opens = 0;
    const same = mirrorOf(server, { connector });
    await same.m.run(server, "/src", first.dest);
    expect(same.m.state.c).toMatchObject({ filesFetched: 0, filesUnchanged: 4 });
    expect(opens).toBe(0);
    files.set("/src/f1.txt", file("file 1, longer", 1_700_000_100));
    files.set("/src/f2.txt", file("file 2, longer", 1_700_000_100));
    const dry = mirrorOf(server, { connector, dryrun: true });
    await dry.m.run(server, "/src", first.dest);
    expect(dry.said.sort()).toEqual(["would fetch f1.txt (14 bytes)", "would fetch f2.txt (14 bytes)"]);
    expect(opens).toBe(0);
    const two = mirrorOf(server, { connector });
    await two.m.run(server, "/src", first.dest);
    expect(two.m.state.c).toMatchObject({ filesFetched: 2, filesUnchanged: 2 });
    expect(opens).toBe(1);
    expect(readFileSync(nodePath.join(first.dest, "f2.txt"), "utf8")).toBe("file 2, longer");
  });

  test("a dry run over a LIST server opens more connections for the times it must ask (MDTM)", async () => {
    const files = new Map([1, 2, 3].map((i) => [`/src/f${i}.txt`, file(`file ${i}`, 1_700_000_030)] as const));
    const server = new FakeServer(files, new Map(), false);
    let opens = 0;
    const connector: Connector = { label: "fake", shared: false, open: async () => (opens++, server) };
    const x = mirrorOf(server, { connector, dryrun: true });
    mkdirSync(x.dest, { recursive: true });
    for (const i of [1, 2, 3]) {
      writeFileSync(nodePath.join(x.dest, `f${i}.txt`), `file ${i}`);
      utimesSync(nodePath.join(x.dest, `f${i}.txt`), 1_600_000_000, 1_600_000_000);
    }
    await x.run();
    expect(server.mdtmCalls.sort()).toEqual(["/src/f1.txt", "/src/f2.txt", "/src/f3.txt"]);
    expect(opens).toBe(2);
    expect(x.said.length).toBe(3);
  });
});
