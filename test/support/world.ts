/**
 * A complete little world for end-to-end tests: the ROD simulator over mutual
 * TLS, a mail catcher speaking STARTTLS, and a configuration file pointing
 * the relay at both.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startMailCatcher, type MailCatcherOptions, type RunningMailCatcher } from '../../tools/mail-catcher/mail-catcher.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import type { TestPkiFiles } from '../../tools/testpki/generate.js';
import { runCli, type RunResult } from './relay-process.js';

export const GEMEENTECODE = '0344';
export const OIN = '00000001002220647000';

export const INSTANCES = {
  leerplicht: { name: 'Leerplicht Utrecht', email: 'leerplicht@utrecht.example' },
  rmc: { name: 'Doorstroompunt regio Utrecht', email: 'doorstroompunt@utrecht.example' },
  handhaving: { name: 'Team handhaving', email: 'handhaving@utrecht.example' },
  zorg: { name: 'Zorgteam', email: 'zorgteam@utrecht.example' },
} as const;

export const ROUTING = {
  ZESTIEN_UUR: 'leerplicht',
  LANGDURIG_RELATIEF: 'zorg',
  LUXE: 'handhaving',
  DOORSTROOMPUNT_18PLUS: 'rmc',
  OVERIG: 'leerplicht',
} as const;

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
  /** Lines appended to / replacing parts of the generated configuration. */
  configExtra?: Record<string, string>;
  smtp?: Partial<Pick<MailCatcherOptions, 'respond' | 'auth'>>;
  seed?: number;
  /** The OIN the simulator has registered for the gemeente (default: the relay's own). */
  registeredOin?: string;
}

export async function createWorld(options: WorldOptions): Promise<World> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-e2e-'));
  const serverPki = options.serverPki ?? options.pki;
  const feed = new SimulatedFeed({ seed: options.seed ?? 7 });
  const generator = new MeldingGenerator({ seed: options.seed ?? 7, gemeentecode: GEMEENTECODE });
  const simulator = await startSimulator({
    cert: readFileSync(serverPki.serverCert),
    key: readFileSync(serverPki.serverKey),
    clientCa: readFileSync(options.pki.trustAnchors),
    gemeenten: { [GEMEENTECODE]: { oin: options.registeredOin ?? OIN } },
    feed,
  });
  const catcher = await startMailCatcher({
    cert: readFileSync(options.pki.serverCert),
    key: readFileSync(options.pki.serverKey),
    ...options.smtp,
  });
  const configFile = path.join(dir, 'verzuim-relay.yaml');
  writeFileSync(configFile, worldConfig({ pki: options.pki, rodUrl: simulator.url, smtpPort: catcher.port, dir, extra: options.configExtra ?? {} }));
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

/** The configuration text of a test relay; `extra` replaces or adds whole top-level sections. */
export function worldConfig(o: { pki: TestPkiFiles; rodUrl: string; smtpPort: number; dir: string; extra: Record<string, string> }): string {
  const sections: Record<string, string> = {
    municipality: `municipality:\n  code: "${GEMEENTECODE}"\n  name: Utrecht\n  oin: "${OIN}"`,
    rod: `rod:\n  url: ${o.rodUrl}\n  pageSize: 3\n  timeoutSeconds: 10`,
    tls: `tls:\n  cert: ${o.pki.clientCert}\n  key: ${o.pki.clientKey}\n  trustAnchors: ${o.pki.trustAnchors}\n  allowUnknownRoots: true`,
    routing: [
      'routing:',
      '  instances:',
      ...Object.entries(INSTANCES).map(([id, i]) => `    ${id}: { name: ${i.name}, email: ${i.email} }`),
      '  verzuimsoorten:',
      ...Object.entries(ROUTING).map(([soort, id]) => `    ${soort}: ${id}`),
      '  unknown: leerplicht',
    ].join('\n'),
    smtp: `smtp:\n  host: localhost\n  port: ${o.smtpPort}\n  from: "Verzuimrelay Utrecht <verzuim-relay@utrecht.example>"\n  ca: ${o.pki.trustAnchors}`,
    delivery: 'delivery:\n  firstRetrySeconds: 1\n  maxRetryDelaySeconds: 2',
    storage: `storage:\n  path: ${path.join(o.dir, 'relay.db')}`,
    alerts: 'alerts:\n  email: applicatiebeheer@utrecht.example',
    schedule: 'schedule:\n  cron: "*/10 * * * *"',
    ...o.extra,
  };
  return `${Object.values(sections).filter(Boolean).join('\n')}\n`;
}
