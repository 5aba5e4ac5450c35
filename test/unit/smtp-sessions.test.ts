/**
 * The SMTP sender's sessions, against a real SMTP server with STARTTLS: how
 * many mails go over one connection, what happens when the server drops a
 * connection the sender kept, a refusal that leaves the session usable, and
 * connections closed when idle or when the sender is closed.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { domainToASCII } from 'node:url';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createSmtpSender, MAILS_PER_CONNECTION, type MailSender, type SendError } from '../../src/mail/smtp.js';
import { testConfig } from '../support/config.js';

const pki = inject('pkiG4');

interface Server {
  port: number;
  /** Per mail accepted: the id of the session (connection) it came over. */
  mails: string[];
  /** MAIL FROM and RCPT TO as they came over the wire. */
  commands: string[];
  opened: string[];
  closed: string[];
  /** Called at MAIL FROM; returns an error to refuse it, or drops the connection itself. */
  onMailFrom?: (session: SMTPServerSession, drop: () => void) => Error | undefined;
  stop(): Promise<void>;
}

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function startServer(): Promise<Server> {
  const state: Server = { port: 0, mails: [], commands: [], opened: [], closed: [], stop: async () => {} };
  const server: SMTPServer = new SMTPServer({
    secure: false,
    key: readFileSync(pki.serverKey),
    cert: readFileSync(pki.serverCert),
    minVersion: 'TLSv1.2',
    authOptional: true,
    disabledCommands: ['AUTH'],
    // The commands as they came (the session's envelope holds domains decoded from punycode).
    logger: Object.fromEntries(
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((level) => [
        level,
        (_meta: unknown, format: string, line: unknown) => {
          if (format === 'C:' && /^(MAIL|RCPT) /.test(String(line))) state.commands.push(String(line));
        },
      ]),
    ) as unknown as SMTPServerOptions['logger'],
    onConnect(session, callback) {
      state.opened.push(session.id);
      callback();
    },
    onClose(session) {
      state.closed.push(session.id);
    },
    onMailFrom(_address, session, callback) {
      const drop = () => {
        for (const connection of server.connections) if (connection.id === session.id) (connection as unknown as { _socket: { destroy(): void } })._socket.destroy();
      };
      const refusal = state.onMailFrom?.(session, drop);
      callback(refusal ?? null);
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        state.mails.push(session.id);
        callback();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.server.address() as AddressInfo).port;
  state.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  cleanup.push(() => state.stop());
  return state;
}

function sender(server: Server, options: { idleCloseMs?: number } = {}): MailSender {
  const config = testConfig({ pki, smtpPort: server.port });
  const s = createSmtpSender(config.smtp, options);
  cleanup.push(() => s.close());
  return s;
}

let counter = 0;
const mail = () => ({
  to: 'leerplicht@utrecht.example',
  subject: 'Verzuimmelding',
  text: 'Een melding.',
  html: '<p>Een melding.</p>',
  headers: {},
  messageId: `<m${++counter}@utrecht.example>`,
});

const until = async (what: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('SMTP sessions', () => {
  it(`sends ${MAILS_PER_CONNECTION} mails over one connection, then opens a new one`, async () => {
    const server = await startServer();
    const s = sender(server);
    for (let i = 0; i < MAILS_PER_CONNECTION + 5; i++) await s.send(mail());
    expect(server.mails).toHaveLength(MAILS_PER_CONNECTION + 5);
    const [first, second] = server.opened;
    expect(server.opened).toHaveLength(2);
    expect(server.mails.filter((id) => id === first)).toHaveLength(MAILS_PER_CONNECTION);
    expect(server.mails.filter((id) => id === second)).toHaveLength(5);
    // The full connection was ended, not left open.
    await until(() => server.closed.includes(first!));
  });

  it('keeps as many connections as mails are sent at once, and reuses them', async () => {
    const server = await startServer();
    const s = sender(server);
    for (let round = 0; round < 3; round++) await Promise.all([s.send(mail()), s.send(mail()), s.send(mail())]);
    expect(server.mails).toHaveLength(9);
    expect(server.opened).toHaveLength(3);
  });

  it('sends a mail again over a new connection when the server drops the one kept for it, instead of deferring it', async () => {
    const server = await startServer();
    const s = sender(server);
    await s.send(mail());
    // The next MAIL FROM on the kept connection: the server drops it without an answer (a restart, its idle timeout).
    let dropped = 0;
    server.onMailFrom = (session, drop) => {
      if (session.id === server.opened[0] && dropped++ === 0) drop();
      return undefined;
    };
    await s.send(mail());
    expect(dropped).toBe(1);
    expect(server.opened).toHaveLength(2);
    expect(server.mails).toEqual([server.opened[0], server.opened[1]]);
  });

  it('does not send again when a new connection is dropped: the failure is temporary and the mail is kept', async () => {
    const server = await startServer();
    const s = sender(server);
    server.onMailFrom = (_session, drop) => {
      drop();
      return undefined;
    };
    const failure = (await s.send(mail()).catch((e: unknown) => e)) as SendError;
    expect(failure.name).toBe('SendError');
    expect(failure.permanent).toBe(false);
    expect(server.opened).toHaveLength(1);
    expect(server.mails).toHaveLength(0);
  });

  it('keeps the connection after the server refused one mail, and sends the next over it', async () => {
    const server = await startServer();
    const s = sender(server);
    server.onMailFrom = () => (server.mails.length === 0 ? Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }) : undefined);
    const failure = (await s.send(mail()).catch((e: unknown) => e)) as SendError;
    expect(failure.permanent).toBe(true);
    expect(failure.responseCode).toBe(550);
    server.onMailFrom = undefined;
    await s.send(mail());
    expect(server.opened).toHaveLength(1);
    expect(server.mails).toEqual([server.opened[0]]);
  });

  it('gives the server bare addresses in the envelope, an international domain in punycode', async () => {
    const server = await startServer();
    const s = sender(server);
    await s.send({ ...mail(), to: 'Leerplicht <leerplicht@gemeente-súdwest.example>' });
    await s.send(mail());
    expect(server.commands).toEqual([
      'MAIL FROM:<verzuim-relay@utrecht.example>',
      `RCPT TO:<leerplicht@${domainToASCII('gemeente-súdwest.example')}>`,
      'MAIL FROM:<verzuim-relay@utrecht.example>',
      'RCPT TO:<leerplicht@utrecht.example>',
    ]);
  });

  it('closes a connection left idle, and opens a new one for the next mail', async () => {
    const server = await startServer();
    const s = sender(server, { idleCloseMs: 100 });
    await s.send(mail());
    await until(() => server.closed.length === 1);
    await s.send(mail());
    expect(server.opened).toHaveLength(2);
  });

  it('closes its idle connections when closed, and refuses to send after that (temporarily: the mail is kept)', async () => {
    const server = await startServer();
    const s = sender(server);
    await Promise.all([s.send(mail()), s.send(mail())]);
    s.close();
    await until(() => server.closed.length === 2);
    const failure = (await s.send(mail()).catch((e: unknown) => e)) as SendError;
    expect(failure.permanent).toBe(false);
    expect(server.mails).toHaveLength(2);
  });
});
