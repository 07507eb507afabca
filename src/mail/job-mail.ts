/**
 * `--email` (SPEC §5): one completion message per job, sent with nodemailer through
 * `[mail]` as the job ends. A failed send is logged in the CA log and shown on stderr; it
 * never changes a job's state or the exit status, and no password reaches either.
 *
 * One send is bounded by `mail_timeout` as a whole, not only per phase: the connection is
 * opened here (nodemailer's getSocket hook), so it can be torn down when time is up, and a
 * dead or stalling server never holds up the backup run or the process's exit.
 */
import net from "node:net";
import os from "node:os";
import { createTransport as nodemailerTransport } from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { jobLabel, type JobOutcome } from "../dispatcher/run-job.ts";
import type { Config } from "../install/config.ts";
import type { LineLog } from "../logs/log-file.ts";
import { buildJobMessage, type JobMessage } from "./message.ts";
import { describeMailError, describeSecurity, redactSecrets, resolveMailSettings, transportOptions, type MailSettings } from "./transport.ts";

type SendArgs = Pick<JobMessage, "from" | "subject" | "text" | "headers"> & { to: string[] };

/** The part of a nodemailer transporter this module uses; tests may pass their own. */
export interface MailTransport {
  sendMail(message: SendArgs): Promise<SMTPTransport.SentMessageInfo>;
  close(): void;
}
export type CreateTransport = (options: SMTPTransport.Options) => MailTransport;

export const createSmtpTransport: CreateTransport = (options) => nodemailerTransport(options);

export interface Delivery {
  readonly accepted: readonly string[];
  /** Recipients the server refused while accepting others, with its answer. */
  readonly rejected: readonly { readonly address: string; readonly answer: string }[];
  readonly response: string;
}

const addressOf = (a: string | { address: string }) => (typeof a === "string" ? a : a.address);

/** Send one message; resolves with what the server accepted, rejects with the failure. */
export async function deliver(message: JobMessage, settings: MailSettings, createTransport: CreateTransport = createSmtpTransport): Promise<Delivery> {
  const sockets: net.Socket[] = [];
  let connected = false;
  const transport = createTransport({
    ...transportOptions(settings),
    getSocket(_options, callback) {
      let answered = false;
      const answer = (err: Error | null, value?: object) => {
        if (answered) return;
        answered = true;
        callback(err, value);
      };
      const socket = net.connect({ host: settings.host, port: settings.port });
      sockets.push(socket);
      socket.on("error", (err) => answer(err));
      socket.once("connect", () => {
        connected = true;
        answer(null, { connection: socket });
      });
    },
  });
  const sending = transport.sendMail({ from: message.from, to: [...message.to], subject: message.subject, text: message.text, headers: { ...message.headers } });
  sending.catch(() => {}); // settled after the deadline: already reported
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const sec = settings.timeoutMs / 1000;
      const err = new Error(connected ? `the server did not finish within ${sec} s` : `no connection within ${sec} s`) as Error & { code: string };
      err.code = "ETIMEDOUT";
      reject(err);
    }, settings.timeoutMs);
  });
  try {
    const info = await Promise.race([sending, deadline]);
    const errors = ((info as { rejectedErrors?: { recipient?: string; response?: string; message?: string }[] }).rejectedErrors ?? []);
    return {
      accepted: info.accepted.map(addressOf),
      rejected: info.rejected.map(addressOf).map((address) => {
        const e = errors.find((x) => x.recipient === address);
        return { address, answer: e?.response ?? e?.message ?? "refused" };
      }),
      response: info.response,
    };
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
    transport.close();
  }
}

export interface JobMailOptions {
  readonly config: Config;
  readonly recipients: readonly string[];
  readonly caLogPath: string;
  readonly log: LineLog;
  /** Shown on stderr when a send fails. */
  readonly warn: (text: string) => void;
  /** Told when the message was accepted (`email sent to ...`), so a person sees it went. */
  readonly sent?: (text: string) => void;
  /** The install root: `mail_ca_file` is relative to it. */
  readonly root: string;
  readonly hostname?: string;
  readonly createTransport?: CreateTransport;
}

/** Send the completion message of one job. Never throws: failures are logged and warned. */
export async function sendJobMail(outcome: JobOutcome, opts: JobMailOptions): Promise<void> {
  const label = jobLabel(outcome.job);
  const to = opts.recipients.join(", ");
  const mail = opts.config.mail;
  const fail = (reason: string, who = to) => {
    const safe = redactSecrets(reason, mail.user, mail.password);
    opts.log.line(`${label}: mail to ${who} not sent: ${safe}`);
    opts.warn(`${label}: completion mail to ${who} not sent: ${safe}`);
  };
  let settings: MailSettings;
  try {
    settings = resolveMailSettings(mail, opts.root, opts.config.file);
  } catch (err) {
    return fail((err as Error).message);
  }
  try {
    const hostname = opts.hostname ?? os.hostname();
    const message = buildJobMessage(outcome, { from: settings.from, to: opts.recipients, hostname, caLogPath: opts.caLogPath });
    opts.log.line(`${label}: sending mail to ${to} via ${settings.host}:${settings.port} (${describeSecurity(settings)}${settings.user !== undefined ? `, login as ${settings.user}` : ""})`);
    const started = performance.now(); // monotonic: a clock step does not skew it
    const d = await deliver(message, settings, opts.createTransport);
    const answer = redactSecrets(d.response, mail.user, mail.password);
    opts.log.line(`${label}: mail sent to ${d.accepted.join(", ")} in ${((performance.now() - started) / 1000).toFixed(1)} s (server: ${answer})`);
    if (d.accepted.length > 0) opts.sent?.(`email sent to ${d.accepted.join(", ")}`);
    for (const r of d.rejected) fail(`recipient refused by ${settings.host}:${settings.port}: ${r.answer}`, r.address);
  } catch (err) {
    fail(describeMailError(err, settings));
  }
}
