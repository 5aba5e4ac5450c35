/**
 * The SMTP edge: hands one composed mail to the municipality's relay and says
 * whether a failure is temporary (try again later) or permanent (5xx).
 * TLS is required unless the configuration explicitly allows plain text, and
 * the relay's certificate is always verified.
 */
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpConfig } from '../config/schema.js';
import { buildMessage, headerLine, type OutgoingMail } from './message.js';

export type { OutgoingMail };

export interface MailSender {
  send(mail: OutgoingMail): Promise<{ response: string }>;
  close(): void;
}

export class SendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly responseCode?: number,
    /** TLS could not be set up (no STARTTLS offered, a failed handshake, a certificate refused): never the mail's fault. */
    readonly tls = false,
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
    // smtp.maxConnections mails at once: the delivery worker keeps that many
    // in flight, and mails about one melding are never in flight together.
    pool: true,
    maxConnections: smtp.maxConnections,
    maxMessages: 100,
  });

  // The same for every mail: encoded once.
  const fromLine = headerLine('From', smtp.from);
  return {
    async send(mail) {
      try {
        // One Buffer per mail, handed over as it is (see message.ts); the
        // envelope is given beside it because nodemailer does not read it from
        // raw bytes. The messageId only names the mail in nodemailer's own
        // bookkeeping (instead of a random id it would make up); the header in
        // the bytes is buildMessage's.
        const raw = buildMessage({ from: smtp.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, headers: mail.headers, messageId: mail.messageId, date: new Date() }, fromLine);
        const info = await transport.sendMail({ envelope: { from: smtp.from, to: mail.to }, raw, messageId: mail.messageId });
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
 *
 * A TLS failure is temporary even when it comes with a 5xx: a relay that
 * answers STARTTLS with "502 not implemented" has stopped offering it, or
 * something between us and the relay strips it. Treating that as the mail's
 * fault would dead-letter every mail in the queue for one network problem,
 * and is exactly what an attacker in the middle would want.
 */
export function classify(err: unknown): SendError {
  if (err instanceof SendError) return err;
  const e = err as { responseCode?: number; code?: string; command?: string; message?: string; response?: string };
  const code = e.responseCode;
  const firstLine = (e.message ?? String(err)).split('\n')[0] ?? '';
  if (e.code === 'EAUTH') return new SendError(`SMTP login failed (${firstLine}); check smtp.user and smtp.password`, false, code);
  if (isTlsFailure(e, firstLine)) return new SendError(tlsFailureMessage(e, firstLine), false, code, true);
  if (typeof code === 'number' && code >= 500) return new SendError(`SMTP refused the mail permanently: ${firstLine}`, true, code);
  if (typeof code === 'number' && code >= 400) return new SendError(`SMTP deferred the mail: ${firstLine}`, false, code);
  return new SendError(`SMTP delivery failed: ${e.code ? `${e.code}: ` : ''}${firstLine}`, false, code);
}

// Node's own TLS and certificate error codes, for a failure on an implicit-TLS (smtp.secure) connection.
const TLS_ERROR_CODE = /^(ETLS|ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

function isTlsFailure(e: { code?: string; command?: string }, firstLine: string): boolean {
  return TLS_ERROR_CODE.test(e.code ?? '') || e.command === 'STARTTLS' || /STARTTLS|certificate|\bTLS\b|\bSSL\b|handshake/i.test(firstLine);
}

function tlsFailureMessage(e: { command?: string; response?: string; responseCode?: number }, firstLine: string): string {
  const kept = 'the mail is kept and retried';
  if (e.command === 'STARTTLS' && e.responseCode !== undefined) {
    const answer = (e.response ?? '').split('\n')[0]?.trim();
    return `the SMTP relay did not offer STARTTLS${answer ? ` (it answered "${answer}")` : ''}; ${kept} — check smtp.host and smtp.port, or whether something between this host and the relay strips STARTTLS (a man-in-the-middle)`;
  }
  return `TLS with the SMTP relay failed (${firstLine}); ${kept} — check smtp.ca, smtp.secure and smtp.port, or whether something between this host and the relay intercepts the connection (a man-in-the-middle)`;
}
