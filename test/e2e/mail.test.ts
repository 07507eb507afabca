/**
 * `--email` end to end: the real cncopagent against a real SMTP server on 127.0.0.1
 * (smtp-server), plain, STARTTLS and implicit TLS with a private CA, with authentication;
 * every failure kind leaves the job's state and the exit status alone.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { waitFor, type Tree } from "../helpers/tree.ts";
import { makeScratch } from "../helpers/scratch.ts";
import { closedPort, startSilentServer, startSmtp, type SmtpServer } from "../helpers/smtp.ts";

const PASSWORD = "s3cr#t;pw";
const scratch = makeScratch();

interface MailTree extends Tree {
  /** Job id of the job that exits 0 ("Nightly files") and of the one that exits 1 ("Broken share"). */
  okJob: number;
  failJob: number;
}

/** A tree with two fake agents and the given `[mail]` lines. */
function mailTree(mailLines: string[]): MailTree {
  const tree = scratch.tree();
  tree.writeConfig(["[defaults]", "days_of_logs = 0", "[agents]", "OKT = okagent", "FAILT = failagent", "[mail]", ...mailLines, ""].join("\n"));
  const marker = 'touch "$CNCOP_HOME/ran-$CNCOP_JOBID"';
  tree.script("okagent", `${marker}\necho "copying C:/Data"\necho "copied 3 files, 12 bytes"\nexit 0`);
  tree.script("failagent", `${marker}\necho "mounting //nas/share"\necho "mount error(13): Permission denied" >&2\nexit 1`);
  const okJob = tree.addJob({ jobtitle: "Nightly files", jobtype: "OKT", maxretries: 0 });
  const failJob = tree.addJob({ jobtitle: "Broken share", jobtype: "FAILT", maxretries: 0 });
  return Object.assign(tree, { okJob, failJob });
}

async function smtp(o: Parameters<typeof startSmtp>[0]): Promise<SmtpServer> {
  const s = await startSmtp(o);
  scratch.defer(() => s.close());
  return s;
}

const sessionOf = (log: string, jobid: number) => log.match(new RegExp(`job ${jobid} '[^']*' \\([A-Z]+\\): session (\\S+)`))?.[1];

describe("completion messages", () => {
  test("STARTTLS offered, private CA, login: one message per job to every recipient, with the whole story", async () => {
    const server = await smtp({ mode: "starttls", auth: { user: "backup", pass: PASSWORD } });
    const tree = mailTree(["mail_server = localhost", `mail_port = ${server.port}`, "mail_user = backup", `mail_password = "${PASSWORD}"`, "mail_from = backup@example.com", `mail_ca_file = ${"Config/mail-ca.pem"}`]);
    await Bun.write(nodePath.join(tree.root, "Config", "mail-ca.pem"), Bun.file(nodePath.join(import.meta.dir, "..", "fixtures", "mail", "ca.pem")));
    const r = await tree.run("cncopagent", ["--email", "admin@example.com, ops@example.org", String(tree.okJob), String(tree.failJob)]);
    expect(r.exitCode).toBe(1); // the failed job, not the mail, decides
    expect(server.messages).toHaveLength(2);
    const log = tree.caLogText();
    const [ok, failed] = server.messages;
    for (const m of server.messages) {
      expect(m.secure).toBe(true); // STARTTLS taken because the server offered it
      expect(m.user).toBe("backup");
      expect(m.from).toBe("backup@example.com");
      expect(m.to).toEqual(["admin@example.com", "ops@example.org"]);
      expect(m.headers.to).toBe("admin@example.com, ops@example.org");
    }
    expect(server.logins.every((l) => l.pass === PASSWORD)).toBe(true);

    expect(ok!.subject).toBe(`OK: Nightly files (job ${tree.okJob}) on ${os.hostname()}`);
    expect(ok!.headers["x-cncop-status"]).toBe("OK");
    const okText = ok!.text;
    expect(okText).toContain(`Host: ${os.hostname()}`);
    expect(okText).toContain("Job type: OKT");
    expect(okText).toContain(`Session: ${sessionOf(log, tree.okJob)}`);
    expect(okText).toMatch(/^Started: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/m);
    expect(okText).toMatch(/^Finished: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/m);
    expect(okText).toMatch(/^Duration: \S+/m);
    expect(okText).toContain("Attempts: 1");
    expect(okText).toContain("  okagent: exit status 0 (OK)");
    expect(okText).toContain(`CA log: ${nodePath.join(tree.root, "Logs", tree.caLogs()[0]!)}`);
    expect(okText).toContain("copying C:/Data\ncopied 3 files, 12 bytes\n");

    expect(failed!.subject).toBe(`ERROR: Broken share (job ${tree.failJob}) on ${os.hostname()}`);
    expect(failed!.text).toContain("Reason: mount error(13): Permission denied"); // the agent's own words (SPEC §9)
    expect(failed!.text).toContain("  failagent: exit status 1 (ERROR)");
    expect(failed!.text).toContain("mount error(13): Permission denied");
    expect(failed!.text).toContain(`Session: ${sessionOf(log, tree.failJob)}`);

    expect(log).toContain(`job ${tree.okJob} 'Nightly files': mail sent to admin@example.com, ops@example.org`);
    expect(log).toContain("(STARTTLS if offered, login as backup)");
    expect(log).not.toContain(PASSWORD);
    expect(r.stderr).not.toContain("not sent");
  });

  test("implicit TLS (mail_security = tls), repeated --email, duplicates dropped", async () => {
    const server = await smtp({ mode: "tls" });
    const tree = mailTree(["mail_server = 127.0.0.1", `mail_port = ${server.port}`, "mail_security = tls", `mail_ca_file = ${nodePath.join(import.meta.dir, "..", "fixtures", "mail", "ca.pem")}`]);
    const r = await tree.run("cncopagent", ["--email", "a@example.com", "--email=b@example.com,A@example.com", "Nightly files"]);
    expect(r.exitCode).toBe(0);
    expect(server.messages).toHaveLength(1);
    expect(server.messages[0]!.secure).toBe(true);
    expect(server.messages[0]!.to).toEqual(["a@example.com", "b@example.com"]);
    expect(server.messages[0]!.from).toBe(`cncopagent@${os.hostname()}`);
    expect(tree.caLogText()).toContain("(TLS)");
  });

  test("mail_security = none never upgrades, even when the server offers STARTTLS", async () => {
    const server = await smtp({ mode: "plain", offerStartTls: true });
    const tree = mailTree(["mail_server = 127.0.0.1", `mail_port = ${server.port}`, "mail_security = none"]);
    const r = await tree.run("cncopagent", ["--email", "root@localhost", "-a"]);
    expect(r.exitCode).toBe(1);
    expect(server.messages.map((m) => m.secure)).toEqual([false, false]);
    // --alljobs sorts by title: Broken share, then Nightly files.
    expect(server.messages.map((m) => m.subject.split(":")[0])).toEqual(["ERROR", "OK"]);
  });

  test("a job skipped because it is already running gets its message too (exit 3 stays)", async () => {
    const server = await smtp({ mode: "plain" });
    const tree = mailTree(["mail_server = 127.0.0.1", `mail_port = ${server.port}`]);
    tree.writeConfig(["[agents]", "WAITT = waitagent", "[mail]", "mail_server = 127.0.0.1", `mail_port = ${server.port}`, ""].join("\n"));
    tree.script("waitagent", 'touch "$CNCOP_HOME/started"\nwhile [ ! -f "$CNCOP_HOME/go" ]; do sleep 0.05; done\nexit 0');
    const job = tree.addJob({ jobtitle: "Long copy", jobtype: "WAITT" });
    const first = tree.spawn("cncopagent", [String(job)]);
    scratch.defer(() => first.kill("SIGKILL"));
    await waitFor(() => existsSync(nodePath.join(tree.root, "started")), 20_000, "the first run's agent");
    const r = await tree.run("cncopagent", ["--email", "admin@example.com", String(job)]);
    writeFileSync(nodePath.join(tree.root, "go"), "");
    expect(await first.exited).toBe(0);
    expect(r.exitCode).toBe(3);
    expect(server.messages).toHaveLength(1);
    expect(server.messages[0]!.subject).toBe(`SKIPPED: Long copy (job ${job}) on ${os.hostname()}`);
    expect(server.messages[0]!.text).toMatch(/^Reason: already running since .* as session \S+ \(pid \d+\)$/m);
    expect(server.messages[0]!.text).toContain("Attempts: none (the job did not run)");
  });

  test("a dry run sends nothing", async () => {
    const server = await smtp({ mode: "plain" });
    const tree = mailTree(["mail_server = 127.0.0.1", `mail_port = ${server.port}`]);
    const r = await tree.run("cncopagent", ["-n", "--email", "admin@example.com", "Nightly files"]);
    expect(r.exitCode).toBe(0);
    expect(server.messages).toHaveLength(0);
    expect(tree.caLogText()).not.toMatch(/sending mail|not sent/);
  });
});

describe("a failed send is logged and warned, and changes nothing else", () => {
  async function expectNotSent(tree: MailTree, args: string[], exitCode: number, why: RegExp): Promise<string> {
    const r = await tree.run("cncopagent", args);
    expect(r.exitCode).toBe(exitCode);
    const log = tree.caLogText();
    expect(log).toMatch(/final state: (OK|ERROR)/);
    expect(log).toMatch(new RegExp(`job \\d+ '[^']+': mail to .* not sent: ${why.source}`));
    expect(r.stderr).toMatch(new RegExp(`completion mail to .* not sent: ${why.source}`));
    expect(log).not.toContain(PASSWORD);
    expect(r.stderr).not.toContain(PASSWORD);
    return r.stderr;
  }

  test("server down", async () => {
    const tree = mailTree(["mail_server = 127.0.0.1", `mail_port = ${await closedPort()}`]);
    await expectNotSent(tree, ["--email", "admin@example.com", "Nightly files"], 0, /connection refused by 127\.0\.0\.1:\d+/);
    await expectNotSent(tree, ["--email", "admin@example.com", "Broken share"], 1, /connection refused/);
  });

  test("every recipient refused; one of two refused", async () => {
    const server = await smtp({ mode: "plain", refuse: (a) => a.startsWith("nobody@") });
    const tree = mailTree(["mail_server = 127.0.0.1", `mail_port = ${server.port}`]);
    await expectNotSent(tree, ["--email", "nobody@example.com", "Nightly files"], 0, /refused by 127\.0\.0\.1:\d+: .*550/);
    expect(server.messages).toHaveLength(0);
    const stderr = await expectNotSent(tree, ["--email", "nobody@example.com,admin@example.com", "Nightly files"], 0, /recipient refused .*550/);
    expect(stderr).toContain("completion mail to nobody@example.com not sent");
    expect(server.messages).toHaveLength(1);
    expect(server.messages[0]!.to).toEqual(["admin@example.com"]);
    expect(tree.caLogText()).toContain("mail sent to admin@example.com in");
  });

  test("TLS failure: a certificate from an untrusted CA", async () => {
    const server = await smtp({ mode: "starttls" });
    const tree = mailTree(["mail_server = localhost", `mail_port = ${server.port}`, "mail_security = starttls"]);
    await expectNotSent(tree, ["--email", "admin@example.com", "Nightly files"], 0, /TLS failure with localhost:\d+: .*certificate.*mail_ca_file/);
    expect(server.messages).toHaveLength(0);
  });

  test("an inherited NODE_TLS_REJECT_UNAUTHORIZED=0 does not switch the certificate check off", async () => {
    const server = await smtp({ mode: "tls" });
    const tree = mailTree(["mail_server = localhost", `mail_port = ${server.port}`, "mail_security = tls"]);
    const r = await tree.run("cncopagent", ["--email", "admin@example.com", "Nightly files"], { env: { NODE_TLS_REJECT_UNAUTHORIZED: "0" } });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/completion mail to admin@example\.com not sent: TLS failure with localhost:\d+: .*certificate/);
    expect(server.messages).toHaveLength(0);
  });

  test("TLS failure: a trusted certificate for another name", async () => {
    const server = await smtp({ mode: "tls" });
    // 127.1 is 127.0.0.1, but the certificate names only localhost and 127.0.0.1.
    const tree = mailTree(["mail_server = 127.1", `mail_port = ${server.port}`, "mail_security = tls", `mail_ca_file = ${nodePath.join(import.meta.dir, "..", "fixtures", "mail", "ca.pem")}`]);
    await expectNotSent(tree, ["--email", "admin@example.com", "Nightly files"], 0, /TLS failure with 127\.1:\d+: .*altnames.*certificate is for another name/);
    expect(server.messages).toHaveLength(0);
  });

  test("TLS failure: STARTTLS required but not offered", async () => {
    const server = await smtp({ mode: "plain" });
    const tree = mailTree(["mail_server = 127.0.0.1", `mail_port = ${server.port}`, "mail_security = starttls"]);
    await expectNotSent(tree, ["--email", "admin@example.com", "Broken share"], 1, /TLS failure with 127\.0\.0\.1:\d+: .*STARTTLS/);
    expect(server.messages).toHaveLength(0);
  });

  test("login refused, by a server that repeats the password in its answer", async () => {
    const server = await smtp({ mode: "starttls", auth: { user: "backup", pass: "right", failAnswer: (p) => `no such password: ${p}` } });
    const tree = mailTree(["mail_server = localhost", `mail_port = ${server.port}`, "mail_user = backup", `mail_password = "${PASSWORD}"`, `mail_ca_file = ${nodePath.join(import.meta.dir, "..", "fixtures", "mail", "ca.pem")}`]);
    const stderr = await expectNotSent(tree, ["--email", "admin@example.com", "Nightly files"], 0, /authentication as backup failed at localhost:\d+: .*535/);
    expect(server.logins[0]!.pass).toBe(PASSWORD); // the server did get it, and said it back
    expect(stderr).toContain("no such password: ***");
    expect(server.messages).toHaveLength(0);
  });

  test("timeout: a server that accepts and never greets holds nothing up for long", async () => {
    const silent = await startSilentServer();
    scratch.defer(() => silent.close());
    const tree = mailTree(["mail_server = 127.0.0.1", `mail_port = ${silent.port}`, "mail_timeout = 1"]);
    const t0 = Date.now();
    await expectNotSent(tree, ["--email", "admin@example.com", String(tree.okJob), String(tree.failJob)], 1, /timed out \(mail_timeout 1 s\)/);
    expect(silent.connections()).toBe(2);
    // Two jobs, two 1 s timeouts, plus process start-ups: far below what an unbounded wait would take.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(tree.caLogText().match(/not sent: timed out/g)).toHaveLength(2);
  });
});

describe("refused before any job runs (exit 2, nothing run)", () => {
  async function expectRefused(tree: MailTree, args: string[], message: RegExp): Promise<void> {
    const r = await tree.run("cncopagent", args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    // A configuration error leaves a CA log saying so (issue 17); no job is selected or run.
    expect(tree.caLogText()).not.toMatch(/selected \d+ job/);
    expect(existsSync(nodePath.join(tree.root, `ran-${tree.okJob}`))).toBe(false);
  }

  test("no mail_server", async () => {
    const tree = mailTree([]);
    await expectRefused(tree, ["--email", "admin@example.com", "Nightly files"], /--email needs a mail server: set mail_server in the \[mail\] section of .*cncop3\.ini/);
  });

  test.each([["admin"], ["admin@"], ["@example.com"], ["admin@exa mple.com"], ["a..b@example.com"], ["admin@example.com;ops@example.com"], [" , "], ["admin@-example.com"]])(
    "malformed address %p",
    async (address) => {
      const tree = mailTree(["mail_server = 127.0.0.1"]);
      await expectRefused(tree, ["--email", address, "Nightly files"], /--email/);
    },
  );

  test("mail_ca_file that does not exist, or holds no certificate", async () => {
    const tree = mailTree(["mail_server = 127.0.0.1", "mail_ca_file = Config/missing.pem"]);
    await expectRefused(tree, ["--email", "admin@example.com", "Nightly files"], /mail_ca_file = "Config\/missing\.pem": cannot read .*missing\.pem: not found/);
    tree.writeConfig(["[agents]", "OKT = okagent", "[mail]", "mail_server = 127.0.0.1", "mail_ca_file = Config/cncop3.ini", ""].join("\n"));
    await expectRefused(tree, ["--email", "admin@example.com", "Nightly files"], /holds no PEM certificate/);
  });

  test("mail_user without mail_password; a bad mail_timeout", async () => {
    const tree = mailTree(["mail_server = 127.0.0.1", "mail_user = backup"]);
    await expectRefused(tree, ["--email", "admin@example.com", "Nightly files"], /mail_user is set but mail_password is not/);
    tree.writeConfig(["[agents]", "OKT = okagent", "[mail]", "mail_server = 127.0.0.1", "mail_timeout = 0", ""].join("\n"));
    await expectRefused(tree, ["--email", "admin@example.com", "Nightly files"], /\[mail\] mail_timeout = "0" is not valid: expected a whole number from 1 to 600/);
  });
});
