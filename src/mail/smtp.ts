/**
 * The SMTP edge: hands one composed mail to the municipality's relay and says
 * whether a failure is temporary (try again later) or permanent (5xx).
 * TLS is required unless the configuration explicitly allows plain text, and
 * the relay's certificate is always verified.
 */
import { readFileSync } from 'node:fs';
import SMTPConnection, { type SMTPConnectionOptions, type SMTPConnectionSendInfo, type SMTPEnvelope } from 'nodemailer/lib/smtp-connection';
import MimeNode from 'nodemailer/lib/mime-node';
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

/**
 * Mails sent over one connection before it is closed and a new one opened
 * (nodemailer's pool used the same figure): a relay that limits the mails
 * per session is not run into, and a long backlog does not ride one session.
 */
export const MAILS_PER_CONNECTION = 100;

/** A connection kept open this long without a mail is closed: the relay is not held between cycles. */
export const IDLE_CLOSE_MS = 30_000;

/** An open SMTP session, taken by one mail at a time. */
interface Session {
  connection: SMTPConnection;
  sent: number;
  /** The server closed it or it failed: never handed out again. */
  gone: boolean;
  idleTimer?: NodeJS.Timeout;
}

/**
 * The SMTP sender: up to smtp.maxConnections sessions, each taken by one mail
 * at a time (the delivery worker keeps at most that many in flight, and mails
 * about one melding are never in flight together).
 *
 * Why nodemailer's SMTPConnection and not its pooled transport: the mail is
 * already one Buffer (message.ts), and the transport's layers above the
 * connection (Mailer plugins, MailComposer, a MIME node and its streams per
 * mail, the pool's queue) cost about as much CPU as everything else of a
 * delivery together: 700 µs a mail against 330 µs straight over the
 * connection, measured against the bench's sink. The session handling those
 * layers did is here: STARTTLS as required, login, a new connection after
 * MAILS_PER_CONNECTION mails or a failure, and one more try on a new
 * connection when a kept one turns out to have been closed by the server.
 */
export function createSmtpSender(smtp: SmtpConfig, options: { timeoutSeconds?: number; idleCloseMs?: number } = {}): MailSender {
  const timeout = (options.timeoutSeconds ?? 60) * 1000;
  const idleCloseMs = options.idleCloseMs ?? IDLE_CLOSE_MS;
  const connectionOptions: SMTPConnectionOptions = {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    // STARTTLS is demanded unless plain text was explicitly allowed; with
    // allowPlaintext the connection still upgrades when the server offers it.
    requireTLS: !smtp.secure && smtp.requireTLS,
    tls: {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      servername: smtp.host,
      ...(smtp.ca ? { ca: readFileSync(smtp.ca) } : {}),
    },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  };
  const auth = smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined;
  // The same for every mail: encoded once.
  const fromLine = headerLine('From', smtp.from);
  const recipients = new RecipientCache(smtp.from);
  const idle: Session[] = [];
  let closed = false;

  const end = (session: Session, graceful: boolean) => {
    session.gone = true;
    clearTimeout(session.idleTimer);
    if (graceful) session.connection.quit();
    else session.connection.close();
  };

  const giveBack = (session: Session) => {
    if (closed || session.gone || session.sent >= MAILS_PER_CONNECTION) {
      if (!session.gone) end(session, true);
      return;
    }
    session.idleTimer = setTimeout(() => {
      const at = idle.indexOf(session);
      if (at >= 0) idle.splice(at, 1);
      end(session, true);
    }, idleCloseMs);
    session.idleTimer.unref();
    idle.push(session);
  };

  /** A kept session (the most recently used) or a new one. */
  const take = async (): Promise<{ session: Session; kept: boolean }> => {
    for (let session = idle.pop(); session; session = idle.pop()) {
      clearTimeout(session.idleTimer);
      if (!session.gone) return { session, kept: true };
    }
    return { session: await open(connectionOptions, auth), kept: false };
  };

  const attempt = async (raw: Buffer, to: string): Promise<{ response: string }> => {
    // Before a session is taken: an address that is not one fails without costing a connection.
    const envelope = recipients.envelope(to);
    const { session, kept } = await take();
    let info: SMTPConnectionSendInfo;
    try {
      info = await transmit(session, envelope, raw);
    } catch (err) {
      session.sent++;
      if (!session.gone && isRefusal(err)) {
        // The server refused this mail and the session is fine: reset it and
        // keep it (before the refusal is reported, so the next mail finds it).
        if (await reset(session)) giveBack(session);
        else end(session, false);
      } else if (!session.gone) {
        end(session, false);
      }
      // A kept session the server closed while it waited (an idle timeout on
      // its side, a restart): the mail goes once more over a new connection.
      // If the server had taken it after all, it gets it twice with the same
      // Message-ID, as after a crash: at least once, never lost.
      if (kept && isDroppedConnection(err)) return attempt(raw, to);
      throw err;
    }
    session.sent++;
    giveBack(session);
    if (info.rejected.length > 0) {
      throw Object.assign(new Error(`recipient refused: ${String(info.response)}`), { responseCode: 550 });
    }
    return { response: String(info.response ?? '') };
  };

  return {
    async send(mail) {
      try {
        if (closed) throw new Error('the SMTP sender was closed');
        // One Buffer per mail, written as it is (see message.ts).
        const raw = buildMessage(
          { from: smtp.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, headers: mail.headers, messageId: mail.messageId, date: new Date() },
          fromLine,
          recipients.toLine(mail.to),
        );
        return await attempt(raw, mail.to);
      } catch (err) {
        throw classify(err);
      }
    },
    close() {
      closed = true;
      for (const session of idle.splice(0)) end(session, true);
    },
  };
}

/**
 * Opens, upgrades (STARTTLS as configured) and logs in a session. A failure
 * before the session is ready comes as an 'error' event or, for a connection
 * closed before the greeting, as the connect callback's error: either rejects.
 */
function open(options: SMTPConnectionOptions, auth: { user: string; pass: string } | undefined): Promise<Session> {
  return new Promise((resolve, reject) => {
    const connection = new SMTPConnection(options);
    const session: Session = { connection, sent: 0, gone: false };
    let settled = false;
    const fail = (err: unknown) => {
      session.gone = true;
      if (settled) return;
      settled = true;
      connection.close();
      reject(err);
    };
    // After the session is ready, a failure of a mail in flight also reaches
    // its send callback; one while it waits only marks it gone. Without a
    // listener an 'error' event would end the process.
    connection.on('error', fail);
    connection.once('end', () => {
      session.gone = true;
      if (!settled) fail(Object.assign(new Error('the SMTP relay closed the connection'), { code: 'ECONNECTION' }));
    });
    connection.connect((err) => {
      if (err) return fail(err);
      const ready = () => {
        if (settled) return;
        settled = true;
        resolve(session);
      };
      // As nodemailer's transport does: log in when the server offers AUTH.
      if (auth && connection.allowsAuth) connection.login(auth, (loginErr) => (loginErr ? fail(loginErr) : ready()));
      else ready();
    });
  });
}

function transmit(session: Session, envelope: SMTPEnvelope, raw: Buffer): Promise<SMTPConnectionSendInfo> {
  return new Promise((resolve, reject) => {
    session.connection.send(envelope, raw, (err, info) => (err ? reject(err) : resolve(info!)));
  });
}

function reset(session: Session): Promise<boolean> {
  return new Promise((resolve) => session.connection.reset((err) => resolve(!err)));
}

/** An answer from the server to this mail (not 421, which closes the session): the session itself can go on. */
function isRefusal(err: unknown): boolean {
  const e = err as { code?: string; responseCode?: number };
  return (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && e.responseCode !== undefined && e.responseCode !== 421;
}

/** The server or the network dropped the connection, with no answer from the server to this mail. */
function isDroppedConnection(err: unknown): boolean {
  const e = err as { code?: string; responseCode?: number };
  return (e.code === 'ECONNECTION' || e.code === 'ESOCKET') && e.responseCode === undefined;
}

/**
 * What each recipient's mails share, worked out once: the To header line
 * (parsing the address again for every mail was 2 % of delivery's CPU) and
 * the SMTP envelope (MAIL FROM, RCPT TO: the bare address, the domain in
 * punycode, as nodemailer's MIME node works them out). The recipients are the
 * few configured addresses; the cache starts over if there are ever many.
 * A send gets a copy of the envelope, because the connection writes its
 * progress (accepted, rejected) into the object it is given.
 */
class RecipientCache {
  private readonly known = new Map<string, { toLine: string; from: string; to: string[] }>();
  constructor(private readonly from: string) {}

  envelope(to: string): SMTPEnvelope {
    const known = this.get(to);
    return { from: known.from, to: [...known.to] };
  }

  toLine(to: string): string {
    return this.get(to).toLine;
  }

  private get(to: string): { toLine: string; from: string; to: string[] } {
    let known = this.known.get(to);
    if (!known) {
      const worked = new MimeNode().setEnvelope({ from: this.from, to }).getEnvelope();
      if (!worked.from || worked.to.length !== 1) throw new Error('smtp.from or the recipient is not one mail address');
      known = { toLine: headerLine('To', to), from: worked.from, to: worked.to };
      if (this.known.size >= 64) this.known.clear();
      this.known.set(to, known);
    }
    return known;
  }
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
