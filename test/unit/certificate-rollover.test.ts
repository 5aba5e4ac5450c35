/**
 * The rollover inside a running relay, with a clock the test moves: the current certificate expires
 * between two daily checks, and the next request already goes out with tls.next. Real mutual TLS
 * against the simulator (REST: its responses carry no timestamps the moved clock would find stale),
 * a real SQLite file.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openRelay } from '../../src/app/runtime.js';
import { createCsr } from '../../src/certs/csr.js';
import { silentLogger } from '../../src/observability/log.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { issueOnCsr } from '../../tools/testpki/issue-on-csr.js';
import { testConfig } from '../support/config.js';
import { OIN } from '../support/fixtures.js';

const pki = inject('pkiG4');
const DAY = 86_400_000;
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('a relay whose current certificate expires while it runs', () => {
  let simulator: RunningSimulator;
  let dir: string;
  let current: { cert: string; key: string };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-rollover-'));
    // The current certificate has ten days left; tls.next (the test PKI's client certificate) a year.
    const csr = await createCsr({ organisation: 'Gemeente Utrecht', commonName: 'verzuim-relay.utrecht.nl', kvk: '30280353', oin: OIN, bits: 3072 });
    current = { cert: path.join(dir, 'current.crt'), key: path.join(dir, 'current.key') };
    writeFileSync(current.cert, await issueOnCsr({ pki, csrPem: csr.csrPem, days: 10 }));
    writeFileSync(current.key, csr.keyPem, { mode: 0o600 });
    simulator = await startSimulator({
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      clientCa: readFileSync(pki.trustAnchors),
      feed: new SimulatedFeed(),
      certificates: { registered: [fingerprint(readFileSync(current.cert, 'utf8')), fingerprint(readFileSync(pki.clientCert, 'utf8'))] },
    });
  });
  afterAll(async () => {
    await simulator?.close();
  });

  it('switches to tls.next before the first request after the expiry, not at the next daily check', async () => {
    const config = testConfig({
      pki,
      dir,
      rodUrl: simulator.url,
      protocol: 'rest',
      overrides: { tls: { cert: current.cert, key: current.key, next: { cert: pki.clientCert, key: pki.clientKey } } },
    });
    let clock = Date.now();
    const relay = openRelay(config, silentLogger, { now: () => new Date(clock) });
    try {
      await relay.rod.fetchPage(0, 1);
      expect(relay.rollover.inUseKey).toBe('tls');

      clock += 11 * DAY;
      // DUO dropped the old one too: had the request gone out with it, the switch would say current-refused.
      simulator.certificates!.unregister(fingerprint(readFileSync(current.cert, 'utf8')));
      await relay.rod.fetchPage(0, 1);
      expect(relay.rollover.inUseKey).toBe('tls.next');
      expect(relay.store.certificateRollover.get()).toMatchObject({ switchReason: 'current-expired', inUseSha256: fingerprint(readFileSync(pki.clientCert, 'utf8')).replaceAll(':', '').toLowerCase() });
      expect([...relay.store.audit.since(undefined)].filter((r) => r.event === 'cert.switched')).toHaveLength(1);

      // Once switched, nothing more happens.
      await relay.rod.fetchPage(0, 1);
      expect([...relay.store.audit.since(undefined)].filter((r) => r.event === 'cert.switched')).toHaveLength(1);
    } finally {
      await relay.close();
    }
  });
});
