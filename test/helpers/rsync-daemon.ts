/** A real rsync daemon on 127.0.0.1 for the tests, with a password, and fake servers. */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { waitFor } from "./tree.ts";

export const RSYNC_USER = "backup";
export const RSYNC_PASSWORD = "s3cret-Pa55-#1";

export async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** Does something accept connections on 127.0.0.1:port? */
export async function canConnect(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

export interface Daemon {
  readonly port: number;
  /** rsync://backup@127.0.0.1:<port>/<module>/<path> */
  url(module: string, path?: string): string;
  stop(): Promise<void>;
}

/** Start `rsync --daemon` with a module `backup` (writable, at `pushDir`) and `data` (read-only, at `pullDir`). */
export async function startDaemon(dir: string, pushDir: string, pullDir: string): Promise<Daemon> {
  mkdirSync(dir, { recursive: true });
  const secrets = nodePath.join(dir, "secrets");
  writeFileSync(secrets, `${RSYNC_USER}:${RSYNC_PASSWORD}\n`);
  chmodSync(secrets, 0o600);
  const ids = `uid = ${process.getuid?.() ?? 0}\ngid = ${process.getgid?.() ?? 0}\n`;
  const module = (name: string, path: string, readOnly: boolean) =>
    `[${name}]\npath = ${path}\nread only = ${readOnly ? "yes" : "no"}\nauth users = ${RSYNC_USER}\nsecrets file = ${secrets}\n${ids}`;
  const conf = nodePath.join(dir, "rsyncd.conf");
  // "munge symlinks" would rewrite link targets (its default without chroot).
  writeFileSync(conf, `use chroot = no\nmunge symlinks = no\nlog file = ${nodePath.join(dir, "rsyncd.log")}\npid file = ${nodePath.join(dir, "rsyncd.pid")}\n${module("backup", pushDir, false)}${module("data", pullDir, true)}`);
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const proc = Bun.spawn(["rsync", "--daemon", "--no-detach", "--address=127.0.0.1", `--port=${port}`, `--config=${conf}`], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    try {
      await waitFor(async () => proc.exitCode !== null || (await canConnect(port)), 10_000, "the rsync daemon");
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    }
    if (proc.exitCode === null) {
      return {
        port,
        url: (m, p = "") => `rsync://${RSYNC_USER}@127.0.0.1:${port}/${m}${p ? `/${p}` : ""}`,
        async stop() {
          proc.kill("SIGTERM");
          await proc.exited;
        },
      };
    }
    // The port was taken between probing and binding: try another.
    if (tries >= 3) throw new Error(`rsync --daemon did not start: ${await new Response(proc.stderr).text()}`);
  }
}

/**
 * A daemon at its connection limit, as rsync's client sees one: the greeting, then, once
 * the client has sent its version and the module name, "@ERROR: max connections".
 */
export async function startBusyDaemon(): Promise<{ port: number; stop(): void }> {
  const received = new WeakMap<object, string>();
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        received.set(s, "");
        s.write("@RSYNCD: 31.0\n");
      },
      data(s, chunk) {
        const text = (received.get(s) ?? "") + chunk.toString();
        received.set(s, text);
        if (text.split("\n").length > 2) {
          s.write("@ERROR: max connections (1) reached -- try again later\n");
          s.end();
        }
      },
    },
  });
  return { port: server.port, stop: () => server.stop(true) };
}
