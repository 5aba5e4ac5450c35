/** openRelay builds the transport rod.protocol names. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openRelay } from '../../../src/app/runtime.js';
import { EdukoppelingTransport } from '../../../src/feed/edukoppeling/client.js';
import { RestTransport } from '../../../src/feed/rest/client.js';
import { silentLogger } from '../../../src/observability/log.js';
import { configFor, pkiTls } from '../../support/certs.js';

const pki = inject('pkiG4');
const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-ek-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openRelay', () => {
  for (const protocol of ['rest', 'edukoppeling'] as const) {
    it(`builds the ${protocol} transport`, async () => {
      const base = configFor(pkiTls(pki), dir);
      const config = { ...base, rod: { ...base.rod, url: 'https://localhost:6977/ROD/services/verzuim1.0', protocol } };
      const relay = openRelay(config, silentLogger);
      try {
        expect(relay.transport).toBeInstanceOf(protocol === 'rest' ? RestTransport : EdukoppelingTransport);
      } finally {
        await relay.close();
      }
    });
  }
});
