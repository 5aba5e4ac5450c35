/**
 * `npm run bench`: how fast the relay works through a backlog, and how much
 * memory it takes, on real parts (simulator over mutual TLS, SQLite file,
 * SMTP with STARTTLS). Prints its figures; asserts nothing.
 *
 *   npm run bench -- [--meldingen N] [--page-size N] [--protocol edukoppeling|rest]
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { runCycle } from '../../src/app/cycle.js';
import { localConfig } from '../demo/local-config.js';
import { startMailCatcher } from '../mail-catcher/mail-catcher.js';
import { silentLogger, type Logger } from '../../src/observability/log.js';
import { openRelay } from '../../src/app/runtime.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { advanceFeed, MeldingGenerator } from '../../src/simulator/generate.js';
import { startSimulator } from '../../src/simulator/server.js';
import { generateTestPki } from '../testpki/generate.js';

const { values } = parseArgs({
  options: { meldingen: { type: 'string', default: '5000' }, 'page-size': { type: 'string', default: '500' }, protocol: { type: 'string', default: 'edukoppeling' } },
});
if (values.protocol !== 'edukoppeling' && values.protocol !== 'rest') {
  process.stderr.write(`bench: --protocol must be edukoppeling or rest, got "${values.protocol}"\n`);
  process.exit(64);
}
const protocol: 'edukoppeling' | 'rest' = values.protocol;
const meldingen = Number(values.meldingen);
const pageSize = Number(values['page-size']);

const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-bench-'));
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

try {
  const pki = await generateTestPki({ dir: path.join(dir, 'pki'), variants: false });
  const feed = new SimulatedFeed({ seed: 1 });
  const generator = new MeldingGenerator({ seed: 1, gemeentecode: '0344' });
  advanceFeed(feed, generator, { nieuw: meldingen, wijzigingen: Math.round(meldingen / 5), intrekkingen: Math.round(meldingen / 20) });
  const simulator = await startSimulator({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), clientCa: readFileSync(pki.trustAnchors), feed, protocol });
  const catcher = await startMailCatcher({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });
  const configFile = path.join(dir, 'relay.yaml');
  writeFileSync(configFile, localConfig({ rodUrl: simulator.url, smtpPort: catcher.port, pageSize, protocol }));
  const { config } = loadConfig(configFile);
  const relay = openRelay(config, silentLogger);
  // The moment the last page was stored splits the cycle into fetch+store and delivery.
  let lastPageAt = 0n;
  const timing: Logger = { ...silentLogger, info: (event) => void (event === 'page.stored' && (lastPageAt = process.hrtime.bigint())) };
  const rssBefore = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  const result = await runCycle({ config, store: relay.store, rod: relay.rodFor, sender: relay.sender, log: timing });
  const ended = process.hrtime.bigint();
  const seconds = Number(ended - started) / 1e9;
  const fetchSeconds = Number(lastPageAt - started) / 1e9;
  const deliverySeconds = Number(ended - lastPageAt) / 1e9;
  await relay.close();
  await simulator.close();
  await catcher.close();
  clearInterval(sampler);

  const c = result.counts;
  const db = statSync(config.storage.path).size;
  console.log(`verzuim-relay bench (Node ${process.version}, ${os.cpus().length} cores)`);
  console.log(`  backlog:            ${c.fetched} mutations in ${c.pages} pages of ${pageSize} over ${protocol}, ${feed.meldingen('0344').length} meldingen`);
  console.log(`  cycle:              ${seconds.toFixed(2)} s, outcome ${result.outcome}`);
  console.log(`  fetch + store:      ${c.processed} mutations in ${fetchSeconds.toFixed(2)} s, ${(c.fetched / fetchSeconds).toFixed(0)} mutations/s (validation, policy, outbox, audit, one transaction per page)`);
  console.log(`  delivery:           ${c.sent} of ${c.queued} mails in ${deliverySeconds.toFixed(2)} s over SMTP/STARTTLS, ${(c.sent / deliverySeconds).toFixed(0)} mails/s`);
  console.log(`  memory:             peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MiB above the start of the cycle)`);
  console.log(`  database:           ${(db / 2 ** 20).toFixed(1)} MiB`);
} finally {
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
}
