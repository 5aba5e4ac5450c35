/**
 * A local SMTP server that accepts every mail and keeps it: for the demo
 * (each mail written as an .eml file) and for the tests (parsed with
 * mailparser). It speaks STARTTLS with the test PKI's server certificate, so
 * the relay's TLS requirement is exercised, not switched off.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface CaughtMail {
  raw: Buffer;
  envelopeFrom: string;
  envelopeTo: string[];
  file?: string;
}

export interface MailCatcherOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** When set, each mail is written here as NNNN-<message-id>.eml. */
  dir?: string;
  port?: number;
  /** Answer for each mail: undefined accepts; an object refuses with that SMTP code (tests of 4xx/5xx). */
  respond?: (mail: { envelopeTo: string[]; raw: Buffer }) => { code: number; message: string } | undefined;
  /** Require AUTH with these credentials. */
  auth?: { user: string; password: string };
  /** Offer no STARTTLS (an old relay), to show that the relay refuses to send in plain text. */
  plaintextOnly?: boolean;
}

export interface RunningMailCatcher {
  port: number;
  mails: CaughtMail[];
  close(): Promise<void>;
  /** Resolves once at least `count` mails were accepted. */
  waitFor(count: number, timeoutMs?: number): Promise<CaughtMail[]>;
}

export async function startMailCatcher(options: MailCatcherOptions): Promise<RunningMailCatcher> {
  const mails: CaughtMail[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  if (options.dir) mkdirSync(options.dir, { recursive: true });

  const serverOptions: SMTPServerOptions = {
    secure: false,
    key: options.key,
    cert: options.cert,
    minVersion: 'TLSv1.2',
    authOptional: options.auth === undefined,
    disabledCommands: [...(options.auth ? [] : ['AUTH']), ...(options.plaintextOnly ? ['STARTTLS'] : [])],
    // Only for the test of a relay that allows AUTH over plain text; never the default.
    allowInsecureAuth: options.plaintextOnly === true,
    banner: 'verzuim-relay mail catcher',
    logger: false,
    size: 10 * 1024 * 1024,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.password) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const envelopeTo = session.envelope.rcptTo.map((r) => r.address);
        const refusal = options.respond?.({ envelopeTo, raw });
        if (refusal) {
          callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
          return;
        }
        const mail: CaughtMail = { raw, envelopeTo, envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '' };
        if (options.dir) {
          const id = /^message-id:\s*<([^>]+)>/im.exec(raw.toString('latin1'))?.[1] ?? 'mail';
          mail.file = path.join(options.dir, `${String(mails.length + 1).padStart(4, '0')}-${id.replace(/[^A-Za-z0-9.@_-]/g, '_')}.eml`);
          writeFileSync(mail.file, raw);
        }
        mails.push(mail);
        for (const w of [...waiters]) {
          if (mails.length >= w.count) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
        callback();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => {
    // A client that drops the connection is not the catcher's problem.
  });
  await new Promise<void>((resolve, reject) => {
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    server.server.once('error', reject);
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    waitFor(count, timeoutMs = 20_000) {
      if (mails.length >= count) return Promise.resolve(mails);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} mails, got ${mails.length} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(mails);
          },
        });
      });
    },
  };
}
