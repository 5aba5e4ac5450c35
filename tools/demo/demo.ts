/**
 * `npm run demo`: the whole relay on this machine, with nothing from outside.
 * A test PKI (G4 style, RSASSA-PSS), the ROD simulator over mutual TLS, a
 * local mail catcher that writes .eml files, and three cycles of the real
 * relay: new meldingen; changes, a move to another verzuimsoort and
 * withdrawals; then a malformed record, a replay and the municipality's own
 * status change; then a certificate renewal (tls.next, not registered yet;
 * then registered while the old one is dropped: the switch within a cycle).
 * Ends with a summary of what went where.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { runCycle, type CycleResult } from '../../src/app/cycle.js';
import { createLogger } from '../../src/observability/log.js';
import { KNOWN_VERZUIMSOORTEN, type Verzuimmelding } from '../../src/domain/melding.js';
import { openRelay } from '../../src/app/runtime.js';
import { createCertificateWatch } from '../../src/app/certificate-watch.js';
import { createCsr } from '../../src/certs/csr.js';
import { issueOnCsr } from '../testpki/issue-on-csr.js';
import { advanceFeed, MeldingGenerator } from '../../src/simulator/generate.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { startSimulator } from '../../src/simulator/server.js';
import { generateTestPki, type PkiStyle } from '../testpki/generate.js';
import { DEMO_GEMEENTECODE as GEMEENTECODE, DEMO_OIN as OIN, localConfig } from './local-config.js';
import { startMailCatcher } from '../mail-catcher/mail-catcher.js';
import pino from 'pino';


export interface DemoOptions {
  dir?: string;
  style?: PkiStyle;
  /** How the relay and the simulator speak: Edukoppeling (DUO's real interface, the default) or the REST stand-in. */
  protocol?: 'edukoppeling' | 'rest';
  out?: (line: string) => void;
}

export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = path.resolve(options.dir ?? 'demo-output');
  const style = options.style ?? 'G4';
  const protocol = options.protocol ?? 'edukoppeling';
  if (style !== 'G4' && style !== 'G1') throw new Error(`--style: expected G4 or G1, got "${String(style)}"`);
  for (const sub of ['pki', 'mail', 'data']) rmSync(path.join(dir, sub), { recursive: true, force: true });
  rmSync(path.join(dir, 'relay.log'), { force: true });
  mkdirSync(dir, { recursive: true });

  out(`verzuim-relay demo — everything in ${dir}`);
  const started = Date.now();
  const pki = await generateTestPki({ dir: path.join(dir, 'pki'), style, clientOin: OIN, variants: false });
  out(`1. test PKI (${style} style${style === 'G4' ? ', RSASSA-PSS/SHA-512' : ', PKCS#1 v1.5/SHA-256'}) made in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const feed = new SimulatedFeed({ seed: 2026 });
  const generator = new MeldingGenerator({ seed: 2026, gemeentecode: GEMEENTECODE });
  const currentFingerprint = new X509Certificate(readFileSync(pki.clientCert)).fingerprint256;
  const simulator = await startSimulator({
    cert: readFileSync(pki.serverCert),
    key: readFileSync(pki.serverKey),
    clientCa: readFileSync(pki.trustAnchors),
    gemeenten: { [GEMEENTECODE]: { oin: OIN } },
    // DUO knows the demo's client certificate; the renewed one (day 4) only from day 5.
    certificates: { registered: [currentFingerprint] },
    feed,
    protocol,
  });
  const catcher = await startMailCatcher({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), dir: path.join(dir, 'mail') });
  out(`2. ROD simulator at ${simulator.url} (${protocol === 'edukoppeling' ? 'Edukoppeling: SOAP, WS-Addressing, WS-Security over' : 'REST stand-in over'} mutual TLS), mail catcher at localhost:${catcher.port} (STARTTLS)`);

  const configFile = path.join(dir, 'verzuim-relay.yaml');
  writeFileSync(configFile, localConfig({ rodUrl: simulator.url, smtpPort: catcher.port, pageSize: 5, protocol }));
  const { config } = loadConfig(configFile);
  const logFile = path.join(dir, 'relay.log');
  const log = createLogger({ level: 'info', destination: pino.destination({ dest: logFile, sync: true }) });
  let relay = openRelay(config, log);

  const results: CycleResult[] = [];
  let exitCode = 0;
  try {
    // Day 1: new meldingen, at least one of every verzuimsoort so that all four instances get mail.
    for (const verzuimsoort of KNOWN_VERZUIMSOORTEN) feed.append(generator.nieuweMelding({ verzuimsoort }));
    advanceFeed(feed, generator, { nieuw: 7, wijzigingen: 0, intrekkingen: 0 });
    results.push(await cycle(relay, log));
    out(`3. cycle 1: ${describe(results.at(-1)!)}`);

    // Day 2: changes, withdrawals, and one melding moved to another verzuimsoort.
    advanceFeed(feed, generator, { nieuw: 3, wijzigingen: 4, intrekkingen: 2 });
    const open = feed.meldingen(GEMEENTECODE).filter((m) => m.status === 'GEREGISTREERD' && m.verzuimsoort === 'ZESTIEN_UUR');
    const moved = open[0];
    if (moved) feed.append({ ...generator.wijziging(moved), verzuimsoort: 'LANGDURIG_RELATIEF' } as Omit<Verzuimmelding, 'volgnummer'>);
    results.push(await cycle(relay, log));
    out(`4. cycle 2: ${describe(results.at(-1)!)}`);

    // Day 3: a malformed record, a replay after a "failover", and the municipality's own status change.
    const sample = feed.meldingen(GEMEENTECODE).find((m) => m.status === 'GEREGISTREERD');
    feed.appendRaw({ meldingsnummer: '999000111', gemeentecode: GEMEENTECODE, verzuimsoort: 'LUXE', status: 'GEREGISTREERD', leerling: { voornamen: 'X' } });
    if (sample) feed.setStatus(sample.meldingsnummer, 'IN_BEHANDELING');
    feed.replayNext(3);
    advanceFeed(feed, generator, { nieuw: 1, wijzigingen: 1, intrekkingen: 0 });
    results.push(await cycle(relay, log));
    out(`5. cycle 3: ${describe(results.at(-1)!)}`);

    // Day 4: the certificate renewal. A new key and CSR (what `cert request` writes), a certificate the
    // test PKI issues on it as a TSP would, configured as tls.next; ROD does not know it yet.
    const csr = await createCsr({ organisation: 'TRIAL Gemeente Utrecht', commonName: 'verzuim-relay.utrecht.example', kvk: '30280353', oin: OIN, bits: 3072 });
    writeFileSync(path.join(dir, 'pki', 'next.key'), csr.keyPem, { mode: 0o600 });
    writeFileSync(path.join(dir, 'pki', 'next.crt'), await issueOnCsr({ pki, csrPem: csr.csrPem }));
    writeFileSync(configFile, localConfig({ rodUrl: simulator.url, smtpPort: catcher.port, pageSize: 5, protocol, next: { cert: 'pki/next.crt', key: 'pki/next.key' } }));
    await relay.close();
    relay = openRelay(loadConfig(configFile).config, log);
    await createCertificateWatch(relay.config, relay.store, log, undefined, relay.rollover)();
    advanceFeed(feed, generator, { nieuw: 2, wijzigingen: 1, intrekkingen: 0 });
    results.push(await cycle(relay, log));
    out(`6. cycle 4, tls.next configured, not registered yet (the probe: ${relay.store.certificateRollover.get().probeOutcome}), still ${relay.rollover.inUseKey}: ${describe(results.at(-1)!)}`);

    // Day 5: DUO registers the new certificate and drops the old one at once. The cycle's first
    // request is refused; the relay tries tls.next at once and switches, without a restart.
    const nextFingerprint = new X509Certificate(readFileSync(path.join(dir, 'pki', 'next.crt'))).fingerprint256;
    simulator.certificates!.register(nextFingerprint);
    simulator.certificates!.unregister(currentFingerprint);
    advanceFeed(feed, generator, { nieuw: 2, wijzigingen: 0, intrekkingen: 1 });
    results.push(await cycle(relay, log));
    const rollover = relay.store.certificateRollover.get();
    out(`7. cycle 5, DUO swapped the registration: switched to ${relay.rollover.inUseKey} (${rollover.switchReason}) within the cycle: ${describe(results.at(-1)!)}`);

    await catcher.waitFor(relay.store.outbox.countByState().sent, 5_000).catch(() => undefined);
    const verified = relay.store.audit.verify();
    const sentRows = relay.store.outbox.list({ state: 'sent' });
    const perInstance = new Map<string, Map<string, number>>();
    for (const row of sentRows) {
      const key = row.instance ?? `alert (${row.recipient})`;
      const kinds = perInstance.get(key) ?? new Map<string, number>();
      kinds.set(row.kind, (kinds.get(row.kind) ?? 0) + 1);
      perInstance.set(key, kinds);
    }

    out('');
    out('Summary');
    out(`  meldingen fetched:   ${results.reduce((n, r) => n + r.counts.fetched, 0)} mutations of ${feed.meldingen(GEMEENTECODE).length} meldingen (${results.reduce((n, r) => n + r.counts.stale, 0)} stale replays ignored, ${results.reduce((n, r) => n + r.counts.quarantined, 0)} quarantined)`);
    out('  mails per instance:');
    const routing = config.gemeenten[0]!.routing;
    for (const id of [...Object.keys(routing.instances), ...[...perInstance.keys()].filter((k) => !(k in routing.instances))]) {
      const kinds = perInstance.get(id);
      const label = routing.instances[id] ? `${id} (${routing.instances[id]!.email})` : id;
      out(`    ${label.padEnd(44)} ${kinds ? [...kinds].map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
    }
    out(`  mail files:          ${catcher.mails.length} .eml files in ${path.join(dir, 'mail')}`);
    out(`  relay log:           ${logFile}`);
    out(`  database:            ${config.storage.path} (audit log ${verified.brokenAt === null ? 'intact' : 'BROKEN'}, ${verified.rows} rows)`);
    out(`  configuration:       ${configFile}`);
    out(`  try:                 node dist/app/cli.js status --config ${path.relative(process.cwd(), configFile) || configFile}`);

    const missing = Object.keys(routing.instances).filter((id) => !perInstance.has(id));
    if (missing.length > 0) {
      out(`FAILED: no mail reached ${missing.join(', ')}`);
      exitCode = 1;
    }
    if (results.some((r) => r.outcome !== 'ok') || verified.brokenAt !== null) {
      out('FAILED: a cycle ended early or the audit log is broken; see the relay log');
      exitCode = 1;
    }
  } finally {
    await relay.close();
    await simulator.close();
    await catcher.close();
  }
  return exitCode;
}

async function cycle(relay: ReturnType<typeof openRelay>, log: ReturnType<typeof createLogger>): Promise<CycleResult> {
  return runCycle({ config: relay.config, store: relay.store, rod: relay.rodFor, sender: relay.sender, log });
}

function describe(r: CycleResult): string {
  const c = r.counts;
  return `${r.outcome}, ${c.fetched} mutations in ${c.pages} page(s): ${c.processed} stored, ${c.stale} stale, ${c.quarantined} quarantined; ${c.queued} mails queued, ${c.sent} sent${c.deferred ? `, ${c.deferred} deferred` : ''}${c.dead ? `, ${c.dead} dead` : ''}`;
}
