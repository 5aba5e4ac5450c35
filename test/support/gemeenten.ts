/**
 * A regional leerplicht bureau's world for end-to-end tests: one certificate
 * (the bureau's OIN, none of the gemeenten's), three gemeenten in one relay,
 * the simulator serving all three with per-gemeente authorisation, and a mail
 * catcher. A gemeente can be left unauthorised to watch it be refused.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startMailCatcher, type RunningMailCatcher } from '../../tools/mail-catcher/mail-catcher.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import type { CertificateRegistration, GemeenteRegistry } from '../../src/simulator/access.js';
import type { TestPkiFiles } from '../../tools/testpki/generate.js';
import { writeTestConfig, type RodProtocol } from './config.js';
import { OIN as CERTIFICATE_OIN, ROUTING } from './fixtures.js';
import { runCli, type RunResult } from './relay-process.js';

export interface TestGemeente {
  code: string;
  name: string;
  oin: string;
  /** The mail domain of its four instances and its alert address. */
  domain: string;
}

/** Three gemeenten of one bureau; none has the certificate's OIN. */
export const BUREAU_GEMEENTEN: readonly TestGemeente[] = [
  { code: '0344', name: 'Utrecht', oin: '00000001001111111000', domain: 'utrecht.example' },
  { code: '0356', name: 'Nieuwegein', oin: '00000001002222222000', domain: 'nieuwegein.example' },
  { code: '0321', name: 'Houten', oin: '00000001003333333000', domain: 'houten.example' },
];

export { CERTIFICATE_OIN };

/** The gemeenten list as an administrator writes it: four instances per gemeente, each at its own domain. */
export function gemeentenSection(gemeenten: readonly TestGemeente[] = BUREAU_GEMEENTEN): unknown[] {
  return gemeenten.map((g) => ({
    municipality: { code: g.code, name: g.name, oin: g.oin },
    routing: {
      instances: {
        leerplicht: { name: `Leerplicht ${g.name}`, email: `leerplicht@${g.domain}` },
        rmc: { name: `RMC ${g.name}`, email: `rmc@${g.domain}` },
        handhaving: { name: `Handhaving ${g.name}`, email: `handhaving@${g.domain}` },
        zorg: { name: `Zorg ${g.name}`, email: `zorg@${g.domain}` },
      },
      verzuimsoorten: { ...ROUTING },
      unknown: 'leerplicht',
    },
    alerts: { email: `beheer@${g.domain}` },
  }));
}

export interface BureauWorld {
  dir: string;
  configFile: string;
  simulator: RunningSimulator;
  catcher: RunningMailCatcher;
  feed: SimulatedFeed;
  generators: Map<string, MeldingGenerator>;
  once(): Promise<RunResult>;
  cli(...args: string[]): Promise<RunResult>;
  parsedMails(from?: number): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

export async function createBureauWorld(options: {
  pki: TestPkiFiles;
  protocol: RodProtocol;
  refused?: readonly string[];
  pageSize?: number;
  /** Which client certificates the simulated DUO has registered (default: every one that chains). */
  certificates?: CertificateRegistration;
  /** The roots client certificates must chain to, a PEM file (default: pki.trustAnchors). */
  clientCa?: string;
  /** Merged into the configuration's tls section (default: the pki's client certificate). */
  tls?: Record<string, unknown>;
  /** The schedule section, for a daemon. */
  schedule?: { cron: string; timezone: string };
}): Promise<BureauWorld> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-bureau-'));
  const refused = new Set(options.refused ?? []);
  const feed = new SimulatedFeed({ seed: 5 });
  const authorised = BUREAU_GEMEENTEN.filter((g) => !refused.has(g.code));
  // REST: the bureau's certificate is authorised per gemeente. Edukoppeling: each gemeente is read with its
  // own OIN in From, and the certificate may act for the authorised ones only (EK0030 for the others).
  const registry: GemeenteRegistry = Object.fromEntries(
    BUREAU_GEMEENTEN.map((g) => [g.code, { oin: g.oin, certificates: refused.has(g.code) ? [] : [CERTIFICATE_OIN] }]),
  );
  const simulator = await startSimulator({
    cert: readFileSync(options.pki.serverCert),
    key: readFileSync(options.pki.serverKey),
    clientCa: readFileSync(options.clientCa ?? options.pki.trustAnchors),
    ...(options.certificates ? { certificates: options.certificates } : {}),
    gemeenten: registry,
    feed,
    protocol: options.protocol,
    edukoppeling: { actingFor: { [CERTIFICATE_OIN]: authorised.map((g) => g.oin) } },
  });
  const catcher = await startMailCatcher({ cert: readFileSync(options.pki.serverCert), key: readFileSync(options.pki.serverKey) });
  const configFile = writeTestConfig({
    pki: options.pki,
    rodUrl: simulator.url,
    protocol: options.protocol,
    smtpPort: catcher.port,
    dir,
    overrides: {
      municipality: undefined,
      routing: undefined,
      gemeenten: gemeentenSection(),
      smtp: { from: 'Verzuimrelay regio <verzuim-relay@bureau.example>' },
      alerts: { email: 'beheer@bureau.example' },
      ...(options.pageSize ? { rod: { pageSize: options.pageSize } } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
    },
  });
  return {
    dir,
    configFile,
    simulator,
    catcher,
    feed,
    generators: new Map(BUREAU_GEMEENTEN.map((g, i) => [g.code, new MeldingGenerator({ seed: 20 + i, gemeentecode: g.code })])),
    once: () => runCli(['once', '--config', configFile]),
    cli: (...args) => runCli([...args, '--config', configFile]),
    parsedMails: (from = 0) => Promise.all(catcher.mails.slice(from).map((m) => simpleParser(m.raw))),
    async close() {
      await simulator.close();
      await catcher.close();
    },
  };
}

/** The domain a parsed mail went to (its one recipient). */
export function recipientDomain(mail: ParsedMail): string {
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return String(to?.value[0]?.address ?? '').split('@')[1] ?? '';
}
