/**
 * A complete little world for end-to-end tests: the ROD simulator over mutual
 * TLS, a mail catcher speaking STARTTLS, and a configuration file pointing
 * the relay at both.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startMailCatcher, type MailCatcherOptions, type RunningMailCatcher } from '../../tools/mail-catcher/mail-catcher.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import { startSimulator, type EdukoppelingOptions, type RunningSimulator } from '../../src/simulator/server.js';
import type { TestPkiFiles } from '../../tools/testpki/generate.js';
import type { CertificateRegistration } from '../../src/simulator/access.js';
import { writeTestConfig, type ConfigOverrides, type RodProtocol } from './config.js';
import { GEMEENTECODE, OIN } from './fixtures.js';
import { runCli, type RunResult } from './relay-process.js';

export interface World {
  dir: string;
  configFile: string;
  simulator: RunningSimulator;
  catcher: RunningMailCatcher;
  feed: SimulatedFeed;
  generator: MeldingGenerator;
  once(): Promise<RunResult>;
  cli(...args: string[]): Promise<RunResult>;
  /** Mails caught so far, parsed, from index `from` on. */
  parsedMails(from?: number): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** The PKI of the relay's client certificate and trust anchors. */
  pki: TestPkiFiles;
  /** The PKI whose server certificate the simulator presents (default: pki). */
  serverPki?: TestPkiFiles;
  /** Deep-merged into the generated configuration (`undefined` deletes a key). */
  config?: ConfigOverrides;
  smtp?: Partial<Pick<MailCatcherOptions, 'respond' | 'auth'>>;
  seed?: number;
  /** The OIN the simulator has registered for the gemeente (default: the relay's own). */
  registeredOin?: string;
  /** How ROD is spoken to, by the simulator and the relay alike (default edukoppeling, as in production). */
  protocol?: RodProtocol;
  /** The simulator's Edukoppeling options (extra signers for forged responses, …). */
  edukoppeling?: EdukoppelingOptions;
  /** Which client certificates the simulated DUO has registered (default: every one that chains). */
  certificates?: CertificateRegistration;
  /** The roots client certificates must chain to, a PEM file (default: pki.trustAnchors). */
  clientCa?: string;
}

export async function createWorld(options: WorldOptions): Promise<World> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-e2e-'));
  const serverPki = options.serverPki ?? options.pki;
  const protocol = options.protocol ?? 'edukoppeling';
  const feed = new SimulatedFeed({ seed: options.seed ?? 7 });
  const generator = new MeldingGenerator({ seed: options.seed ?? 7, gemeentecode: GEMEENTECODE });
  const simulator = await startSimulator({
    cert: readFileSync(serverPki.serverCert),
    key: readFileSync(serverPki.serverKey),
    clientCa: readFileSync(options.clientCa ?? options.pki.trustAnchors),
    ...(options.certificates ? { certificates: options.certificates } : {}),
    gemeenten: { [GEMEENTECODE]: { oin: options.registeredOin ?? OIN } },
    feed,
    protocol,
    edukoppeling: options.edukoppeling,
  });
  const catcher = await startMailCatcher({
    cert: readFileSync(options.pki.serverCert),
    key: readFileSync(options.pki.serverKey),
    ...options.smtp,
  });
  const configFile = writeTestConfig({ pki: options.pki, rodUrl: simulator.url, protocol, smtpPort: catcher.port, dir, overrides: options.config });
  return {
    dir,
    configFile,
    simulator,
    catcher,
    feed,
    generator,
    once: () => runCli(['once', '--config', configFile]),
    cli: (...args) => runCli([...args, '--config', configFile]),
    parsedMails: (from = 0) => Promise.all(catcher.mails.slice(from).map((m) => simpleParser(m.raw))),
    async close() {
      await simulator.close();
      await catcher.close();
    },
  };
}
