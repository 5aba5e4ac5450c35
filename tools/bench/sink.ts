/**
 * The benchmark's SMTP sink, run as a process of its own: accepts every mail
 * over STARTTLS (the test PKI's server certificate) and throws it away, so
 * that neither its memory nor its CPU grows with the backlog. Prints
 * {"port":N} when it listens and {"accepted":N} when it gets SIGTERM.
 *
 *   node build/tools/bench/sink.js --cert FILE --key FILE
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';

const { values } = parseArgs({ options: { cert: { type: 'string' }, key: { type: 'string' } } });
if (!values.cert || !values.key) {
  process.stderr.write('sink: --cert FILE and --key FILE are required\n');
  process.exit(64);
}

let accepted = 0;
const server = new SMTPServer({
  secure: false,
  key: readFileSync(values.key),
  cert: readFileSync(values.cert),
  minVersion: 'TLSv1.2',
  authOptional: true,
  disabledCommands: ['AUTH'],
  banner: 'verzuim-relay bench sink',
  logger: false,
  size: 10 * 1024 * 1024,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      accepted++;
      callback();
    });
  },
});
server.on('error', () => {
  // A client that drops the connection is not the sink's problem.
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ accepted })}\n`);
  server.close(() => process.exit(0));
});
