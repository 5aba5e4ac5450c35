/**
 * The SMTP edge: hands one composed mail to the municipality's relay and says
 * whether a failure is temporary (try again later) or permanent (5xx).
 * TLS is required unless the configuration explicitly allows plain text, and
 * the relay's certificate is always verified.
 */
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpConfig } from '../config/schema.js';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  messageId: string;
}

export interface MailSender {
  send(mail: OutgoingMail): Promise<{ response: string }>;
  close(): void;
}

export class SendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly responseCode?: number,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

export function createSmtpSender(smtp: SmtpConfig, options: { timeoutSeconds?: number } = {}): MailSender {
  const timeout = (options.timeoutSeconds ?? 60) * 1000;
  const transport: Transporter = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    // STARTTLS is demanded unless plain text was explicitly allowed; with
    // allowPlaintext nodemailer still upgrades when the server offers it.
    requireTLS: !smtp.secure && smtp.requireTLS,
    auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
    tls: {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      servername: smtp.host,
      ...(smtp.ca ? { ca: readFileSync(smtp.ca) } : {}),
    },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    pool: true,
    maxConnections: 1,
    maxMessages: 100,
  });

  return {
    async send(mail) {
      try {
        const info = await transport.sendMail({
          from: smtp.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          headers: mail.headers,
          messageId: mail.messageId,
          date: new Date(),
        });
        if ((info.rejected?.length ?? 0) > 0) {
          throw Object.assign(new Error(`recipient refused: ${String(info.response)}`), { responseCode: 550 });
        }
        return { response: String(info.response ?? '') };
      } catch (err) {
        throw classify(err);
      }
    },
    close() {
      transport.close();
    },
  };
}

/**
 * 5xx is permanent. 4xx, timeouts, connection and TLS failures are temporary.
 * A failed login (535) is treated as temporary too: it is a fault in the
 * configuration, not in the mail, and dead-lettering every mail for it would
 * only make the administrator requeue them all after fixing the password.
 */
export function classify(err: unknown): SendError {
  if (err instanceof SendError) return err;
  const e = err as { responseCode?: number; code?: string; message?: string; response?: string };
  const code = e.responseCode;
  const firstLine = (e.message ?? String(err)).split('\n')[0] ?? '';
  if (e.code === 'EAUTH') return new SendError(`SMTP login failed (${firstLine}); check smtp.user and smtp.password`, false, code);
  if (typeof code === 'number' && code >= 500) return new SendError(`SMTP refused the mail permanently: ${firstLine}`, true, code);
  if (typeof code === 'number' && code >= 400) return new SendError(`SMTP deferred the mail: ${firstLine}`, false, code);
  const hint = e.code === 'ETLS' || /certificate|TLS|SSL/i.test(firstLine) ? ' (TLS: check smtp.ca, smtp.secure and smtp.requireTLS)' : '';
  return new SendError(`SMTP delivery failed: ${e.code ? `${e.code}: ` : ''}${firstLine}${hint}`, false, code);
}
