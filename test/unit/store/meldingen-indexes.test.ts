/**
 * The indexes on meldingen are the ones something reads: its key and the
 * retention index. Every index is written for every change of the field it
 * orders by, so one kept for an administrator's count cost every status change
 * a random page in the WAL (docs/performance.md); the count reads the rows.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MeldingGenerator } from '../../../src/simulator/generate.js';
import { Store } from '../../../src/store/store.js';

const NOW = new Date('2026-03-02T09:00:00Z');
const generator = new MeldingGenerator({ seed: 5, gemeentecode: '0344', now: () => NOW });

let stores: Store[] = [];
afterEach(() => {
  for (const store of stores) if (store.db.open) store.close();
  stores = [];
});

function open(file = path.join(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-meldingen-')), 'relay.db')): { store: Store; file: string } {
  const store = Store.open(file, '0344', () => NOW);
  stores.push(store);
  return { store, file };
}

const indexesOf = (db: Database.Database, table: string): string[] =>
  db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`).pluck().all(table) as string[];

function keep(store: Store, status: string, meldingsnummer: string): void {
  const m = { ...generator.nieuweMelding({ status, meldingsnummer }), volgnummer: 1 };
  const mutationId = store.meldingen.recordMutation('0344', m, JSON.stringify(m), 'processed', 1, NOW);
  store.meldingen.save('0344', m, mutationId, [], NOW);
}

describe('the indexes on meldingen', () => {
  it('are its key and the retention index only', () => {
    const { store } = open();
    expect(indexesOf(store.db, 'meldingen')).toEqual(['meldingen_to_purge', 'sqlite_autoindex_meldingen_1']);
  });

  it('still count the meldingen per status, per gemeente and in all', () => {
    const { store } = open();
    keep(store, 'GEREGISTREERD', '2026000001');
    keep(store, 'GEREGISTREERD', '2026000002');
    keep(store, 'INGETROKKEN', '2026000003');
    expect(store.meldingen.countByStatus('0344')).toEqual({ GEREGISTREERD: 2, INGETROKKEN: 1 });
    expect(store.meldingen.countByStatus('0363')).toEqual({});
    expect(store.meldingen.countByStatus()).toEqual({ GEREGISTREERD: 2, INGETROKKEN: 1 });
  });

  it('lose the status index of an older file when it is opened for writing, its rows untouched', () => {
    const { store, file } = open();
    keep(store, 'GEREGISTREERD', '2026000001');
    // As an older relay left it: migration 10 not applied, the index still there.
    store.db.exec(`CREATE INDEX meldingen_status ON meldingen (gemeentecode, status); DELETE FROM schema_migrations WHERE version = 10`);
    store.close();

    const reopened = open(file).store;
    expect(indexesOf(reopened.db, 'meldingen')).not.toContain('meldingen_status');
    expect(reopened.db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBe(10);
    expect(reopened.meldingen.countByStatus('0344')).toEqual({ GEREGISTREERD: 1 });
  });
});
