/**
 * Real FTP and SSH servers on 127.0.0.1 for the remote agents' tests (run as root, as CI
 * does): OpenSSH's sshd on a high port with a generated host key, and vsftpd in the
 * foreground with a generated configuration, plain + explicit TLS, or implicit TLS, with a
 * self-signed certificate made by openssl. Both log in a local test user whose password is
 * set here (useradd/chpasswd once); sshd also takes root with a generated key. Nothing
 * under /etc/ssh is read or changed: every file the servers use is in the given folder.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import nodePath from "node:path";
import { canConnect, freePort } from "./rsync-daemon.ts";
import { waitFor } from "./tree.ts";

export const TEST_USER = "cncoptest";
export const TEST_PASSWORD = "Pa55 w0rd;#-ü";

function run(argv: string[], input?: string): string {
  const r = Bun.spawnSync(argv, { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

let userReady = false;

/**
 * The local test user with TEST_PASSWORD: created when missing, its password set once per
 * process (chpasswd locks /etc/shadow: concurrent calls of other test files are retried).
 */
export function ensureTestUser(): void {
  if (userReady) return;
  for (let tries = 0; ; tries++) {
    try {
      setUpUser();
      userReady = true;
      return;
    } catch (err) {
      if (tries >= 5) throw err;
      Bun.sleepSync(200 * (tries + 1));
    }
  }
}

function setUpUser(): void {
  if (Bun.spawnSync(["id", TEST_USER], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) {
    const r = Bun.spawnSync(["useradd", "--no-create-home", "--home-dir", "/", "--shell", "/bin/bash", TEST_USER], { stderr: "pipe" });
    // A concurrent test file may have created it meanwhile.
    if (r.exitCode !== 0 && Bun.spawnSync(["id", TEST_USER], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) throw new Error(`useradd failed: ${r.stderr.toString()}`);
  }
  run(["chpasswd"], `${TEST_USER}:${TEST_PASSWORD}\n`);
}

export interface Server {
  readonly port: number;
  readonly pid: number;
  /** End the sessions' processes (children of the server), not the server. */
  dropSessions(): void;
  stop(): Promise<void>;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((s) => s !== "").map(Number);
  } catch {
    return [];
  }
}

async function startServer(name: string, argvFor: (port: number) => string[]): Promise<Server> {
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const proc = Bun.spawn(argvFor(port), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    try {
      await waitFor(async () => proc.exitCode !== null || (await canConnect(port)), 10_000, name);
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    }
    if (proc.exitCode === null) {
      return {
        port,
        pid: proc.pid,
        dropSessions() {
          const all: number[] = [];
          const walk = (p: number) => {
            for (const c of childrenOf(p)) {
              all.push(c);
              walk(c);
            }
          };
          walk(proc.pid);
          for (const c of all) {
            try {
              process.kill(c, "SIGKILL");
            } catch {}
          }
        },
        async stop() {
          proc.kill("SIGTERM");
          await proc.exited;
        },
      };
    }
    const err = await new Response(proc.stderr).text();
    if (tries >= 3) throw new Error(`${name} did not start: ${err}`);
  }
}

export interface Sshd extends Server {
  /** The `known_hosts` line for this server: `[127.0.0.1]:<port> <type> <key>`. */
  readonly knownHostsLine: string;
  /** A private key root may log in with (no passphrase), and one with PASSPHRASE. */
  readonly rootKey: string;
  readonly rootKeyWithPassphrase: string;
  /** The host key's public half, for a "wrong key" known_hosts. */
  readonly otherHostKeyLine: string;
}

export const KEY_PASSPHRASE = "correct horse battery";

/**
 * sshd -D on 127.0.0.1:<free port>, its files in `dir`. `keyboardOnly`: passwords only
 * through keyboard-interactive (PAM), as many servers take them.
 */
export async function startSshd(dir: string, o: { keyboardOnly?: boolean } = {}): Promise<Sshd> {
  mkdirSync(dir, { recursive: true });
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  ensureTestUser();
  const hostKey = nodePath.join(dir, "host_ed25519");
  const other = nodePath.join(dir, "other_ed25519");
  const rootKey = nodePath.join(dir, "root_key");
  const rootKey2 = nodePath.join(dir, "root_key_pp");
  for (const [f, pp] of [[hostKey, ""], [other, ""], [rootKey, ""], [rootKey2, KEY_PASSPHRASE]] as const) {
    if (!existsSync(f)) run(["ssh-keygen", "-q", "-t", "ed25519", "-N", pp, "-C", "cncop-test", "-f", f]);
  }
  const authorized = nodePath.join(dir, "authorized_keys");
  writeFileSync(authorized, readFileSync(`${rootKey}.pub`, "utf8") + readFileSync(`${rootKey2}.pub`, "utf8"));
  chmodSync(authorized, 0o644);
  const conf = nodePath.join(dir, o.keyboardOnly ? "sshd_config_kbd" : "sshd_config");
  writeFileSync(
    conf,
    [
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${nodePath.join(dir, o.keyboardOnly ? "sshd-kbd.pid" : "sshd.pid")}`,
      `AuthorizedKeysFile ${authorized}`,
      "PermitRootLogin prohibit-password",
      ...(o.keyboardOnly ? ["PasswordAuthentication no", "KbdInteractiveAuthentication yes", "UsePAM yes"] : ["PasswordAuthentication yes", "KbdInteractiveAuthentication no", "UsePAM no"]),
      "StrictModes no",
      "MaxStartups 100",
      "MaxSessions 50",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  const server = await startServer("sshd", (port) => ["/usr/sbin/sshd", "-D", "-e", "-f", conf, "-p", String(port)]);
  const pub = (f: string) => readFileSync(`${f}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  return {
    ...server,
    knownHostsLine: `[127.0.0.1]:${server.port} ${pub(hostKey)}`,
    otherHostKeyLine: `[127.0.0.1]:${server.port} ${pub(other)}`,
    rootKey,
    rootKeyWithPassphrase: rootKey2,
  };
}

export interface Vsftpd extends Server {
  /** The self-signed certificate (PEM) the server presents, for `settings.ca_file`. */
  readonly certFile: string;
}

export interface VsftpdOptions {
  /** "none": plain only; "explicit": AUTH TLS offered (plain still allowed); "implicit": TLS from the first byte. */
  tls: "none" | "explicit" | "implicit";
  /** Bytes per second for each session (to act mid-transfer); 0: no limit. */
  maxRate?: number;
  /** Sessions allowed from one address (more are refused with 421). */
  maxPerIp?: number;
  /** TLS: refuse a data connection that does not resume the control connection's TLS session (vsftpd's default). */
  requireSslReuse?: boolean;
}

/** A certificate for 127.0.0.1 only (no DNS name: a client must check it against the address it connected to, not "localhost"), made once per folder. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = nodePath.join(dir, "ftp-cert.pem");
  const key = nodePath.join(dir, "ftp-key.pem");
  if (!existsSync(cert)) {
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]);
  }
  return { cert, key };
}

/** vsftpd in the foreground on 127.0.0.1:<free port>; the test user logs in with TEST_PASSWORD and lands in `/`. */
export async function startVsftpd(dir: string, o: VsftpdOptions): Promise<Vsftpd> {
  mkdirSync(dir, { recursive: true });
  ensureTestUser();
  const empty = nodePath.join(dir, "empty");
  mkdirSync(empty, { recursive: true, mode: 0o755 });
  const { cert, key } = selfSignedCert(dir);
  const tag = `${o.tls}-${Math.random().toString(36).slice(2, 8)}`;
  const conf = nodePath.join(dir, `vsftpd-${tag}.conf`);
  return startServer("vsftpd", (port) => {
    const pasv = 20000 + Math.floor(Math.random() * 400) * 100;
    const lines = [
      "listen=YES",
      "listen_ipv6=NO",
      "listen_address=127.0.0.1",
      `listen_port=${port}`,
      "background=NO",
      "anonymous_enable=NO",
      "local_enable=YES",
      "local_root=/",
      "write_enable=NO",
      "pam_service_name=vsftpd",
      "userlist_enable=NO",
      "seccomp_sandbox=NO",
      "isolate_network=NO",
      "isolate=NO",
      `secure_chroot_dir=${empty}`,
      "pasv_enable=YES",
      `pasv_min_port=${pasv}`,
      `pasv_max_port=${pasv + 99}`,
      "pasv_address=127.0.0.1",
      "max_clients=200",
      `max_per_ip=${o.maxPerIp ?? 200}`,
      "use_localtime=NO",
      "xferlog_enable=NO",
      `vsftpd_log_file=${nodePath.join(dir, `vsftpd-${tag}.log`)}`,
      "dual_log_enable=NO",
      o.maxRate ? `local_max_rate=${o.maxRate}` : "",
      ...(o.tls === "none"
        ? ["ssl_enable=NO"]
        : [
            "ssl_enable=YES",
            `rsa_cert_file=${cert}`,
            `rsa_private_key_file=${key}`,
            "force_local_logins_ssl=NO",
            "force_local_data_ssl=NO",
            o.requireSslReuse ? "require_ssl_reuse=YES" : "require_ssl_reuse=NO",
            "ssl_ciphers=HIGH",
            o.tls === "implicit" ? "implicit_ssl=YES" : "implicit_ssl=NO",
          ]),
      "",
    ];
    writeFileSync(conf, lines.filter((l, i) => l !== "" || i === lines.length - 1).join("\n"));
    return ["/usr/sbin/vsftpd", conf];
  }).then((s) => ({ ...s, certFile: cert }));
}

export interface Proxy {
  readonly port: number;
  /** Connections cut so far by `cutAfter`. */
  readonly cuts: number;
  /** Let held connections go on. */
  release(): void;
  /** Whether a connection is being held now. */
  readonly holding: boolean;
  stop(): Promise<void>;
}

/**
 * A TCP relay to 127.0.0.1:`target` that cuts every connection once `cutAfter` bytes
 * went from the server to the client, or holds the server's bytes after `holdAfter`
 * until `release()`: a server that drops or stalls mid-transfer.
 */
export async function startProxy(target: number, o: { cutAfter?: number; holdAfter?: number }): Promise<Proxy> {
  const net = await import("node:net");
  let cuts = 0;
  let released = false;
  const waiting: (() => void)[] = [];
  const sockets = new Set<import("node:net").Socket>();
  const server = net.createServer((client) => {
    const up = net.connect(target, "127.0.0.1");
    sockets.add(client).add(up);
    let down = 0;
    const end = () => {
      client.destroy();
      up.destroy();
    };
    client.on("data", (d) => up.write(d));
    up.on("data", (d) => {
      down += d.length;
      if (o.cutAfter !== undefined && down > o.cutAfter) {
        cuts++;
        return end();
      }
      client.write(d);
      if (o.holdAfter !== undefined && down > o.holdAfter && !released) {
        up.pause();
        waiting.push(() => up.resume());
      }
    });
    for (const s of [client, up]) {
      s.on("error", end);
      s.on("close", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get cuts() {
      return cuts;
    },
    get holding() {
      return waiting.length > 0;
    },
    release() {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Give every file and folder under `root` a whole-second modification time (the protocols carry seconds). */
export function wholeSeconds(root: string): void {
  const { lstatSync, readdirSync, utimesSync } = require("node:fs") as typeof import("node:fs");
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(nodePath.join(p, n));
    const s = Math.floor(st.mtimeMs / 1000);
    utimesSync(p, s, s);
  };
  walk(root);
}

/** A server that accepts connections and never says a word: a client's timeout must end the wait. */
export function startSilentServer(): { port: number; stop(): void } {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  return { port: server.port, stop: () => server.stop(true) };
}
