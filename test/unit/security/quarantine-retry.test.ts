/**
 * `quarantine retry` of a record that still cannot be processed (here: a
 * melding of another gemeente) updates that record and sends no new alert,
 * however often it is retried.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { quarantineListCommand, quarantineRetryCommand } from '../../../src/app/commands/admin.js';
import { ingestPage } from '../../../src/feed/ingest.js';
import { silentLogger } from '../../../src/observability/log.js';
import { MeldingGenerator } from '../../../src/simulator/generate.js';
import { Store } from '../../../src/store/store.js';
import { testConfig } from '../../support/config.js';

const pki = inject('pkiG4');
const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-qretry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('quarantine retry', () => {
  it('keeps one record and one alert for an item that keeps failing (3 retries)', () => {
    const config = testConfig({ pki, dir });
    const foreign = { ...new MeldingGenerator({ seed: 3, gemeentecode: '0363' }).nieuweMelding(), volgnummer: 5 };
    const store = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code);
    try {
      const ctx = { store, config, gemeente: config.gemeenten[0]!, log: silentLogger, now: () => new Date(), cycleId: null, forwardMail: true };
      ingestPage(ctx, { items: [{ value: foreign, raw: JSON.stringify(foreign) }], volgnummerTot: 5 }, 0);
    } finally {
      store.close();
    }

    const said: string[] = [];
    for (let i = 0; i < 3; i++) quarantineRetryCommand(config, { out: (line) => said.push(line) });
    expect(said.at(-1)).toContain('reprocessed 0 record(s); 1 still fail');

    const after = Store.open(config.storage.path, config.gemeenten[0]!.municipality.code);
    try {
      const rows = after.quarantine.list('all');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ state: 'open', attempts: 4, meldingsnummer: foreign.meldingsnummer });
      expect(rows[0]!.reason).toContain('gemeentecode 0363');
      expect(rows[0]!.last_attempt_at).not.toBeNull();
      expect(after.outbox.list({}).filter((r) => r.kind === 'alert')).toHaveLength(1);
      expect([...after.audit.since(undefined)].filter((r) => r.event === 'quarantine.retry-failed')).toHaveLength(3);
    } finally {
      after.close();
    }

    const listed: string[] = [];
    quarantineListCommand(config, { all: true, json: true, out: (line) => listed.push(line) });
    expect(listed).toHaveLength(1);
    expect(JSON.parse(listed[0]!)).toMatchObject({ attempts: 4 });
  });
});
