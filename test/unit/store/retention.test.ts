/**
 * What a purge removes is gone from the disk, stays gone when ROD serves the
 * melding again, and a melding that comes back is purged again later.
 * Quarantined records about another gemeente's pupils go early.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Verzuimmelding } from '../../../src/domain/melding.js';
import { storedCopy } from '../../../src/feed/contract.js';
import { MeldingGenerator } from '../../../src/simulator/generate.js';
import { EXPIRED_MELDINGEN, purgeExpired } from '../../../src/store/retention.js';
import { Store } from '../../../src/store/store.js';

const DAY = 86_400_000;
const CLOSED_AT = new Date('2024-01-10T09:00:00Z');
const LATER = new Date(CLOSED_AT.getTime() + 800 * DAY);
const generator = new MeldingGenerator({ seed: 11, gemeentecode: '0344', now: () => CLOSED_AT });

let stores: Store[] = [];
afterEach(() => {
  for (const store of stores) if (store.db.open) store.close();
  stores = [];
});

function openStore(): { store: Store; file: string } {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-retention-')), 'relay.db');
  const store = Store.open(file, '0344', () => CLOSED_AT);
  stores.push(store);
  return { store, file };
}

/** A melding whose pupil has names found nowhere else in the file. */
function melding(mark: string, volgnummer: number, status: string): Verzuimmelding {
  const m = generator.nieuweMelding({ status, meldingsnummer: '2024000123' });
  return { ...m, volgnummer, leerling: { ...m.leerling, voornamen: `Zwaantje${mark}`, geslachtsnaam: `Qwertyhuis${mark}` } };
}

function store(s: Store, m: Verzuimmelding, outcome: 'processed' | 'stale', at: Date): number {
  return s.transaction(() => {
    const id = s.meldingen.recordMutation('0344', m, JSON.stringify(m), outcome, 1, at, outcome === 'processed' ? storedCopy(m) : undefined);
    if (outcome === 'processed') s.meldingen.save('0344', m, id, [], at);
    return id;
  });
}

const bytesOf = (file: string) => {
  try {
    return readFileSync(file);
  } catch {
    return Buffer.alloc(0);
  }
};

describe('retention purge', () => {
  it('leaves no trace of the purged names in the database file or its WAL', () => {
    const { store: s, file } = openStore();
    store(s, melding('Alfa', 1, 'GEREGISTREERD'), 'processed', CLOSED_AT);
    store(s, melding('Alfa', 2, 'AFGESLOTEN'), 'processed', CLOSED_AT);
    // Some churn, so the names also sit in older page images.
    for (let i = 0; i < 50; i++) s.audit.append({ event: 'cycle.started', outcome: 'info', cycleId: i });

    const result = purgeExpired(s.db, 730, LATER);
    for (const f of [file, `${file}-wal`]) {
      const bytes = bytesOf(f);
      expect(bytes.includes('ZwaantjeAlfa'), `${path.basename(f)} still holds the first name`).toBe(false);
      expect(bytes.includes('QwertyhuisAlfa'), `${path.basename(f)} still holds the surname`).toBe(false);
    }
    expect(result).toMatchObject({ meldingen: 1, mutations: 2, walTruncated: true });
  });

  it('keeps a replay of a purged melding without its content', () => {
    const { store: s } = openStore();
    store(s, melding('Beta', 1, 'GEREGISTREERD'), 'processed', CLOSED_AT);
    store(s, melding('Beta', 2, 'AFGESLOTEN'), 'processed', CLOSED_AT);
    purgeExpired(s.db, 730, LATER);
    const replay = store(s, melding('Beta', 2, 'AFGESLOTEN'), 'stale', LATER);
    expect(s.meldingen.mutationPayload(replay)).toBeUndefined();
    expect(s.db.prepare('SELECT COUNT(*) FROM mutations WHERE payload IS NOT NULL OR melding_json IS NOT NULL').pluck().get()).toBe(0);
  });

  it('purges a melding again when it reopens and closes after a purge', () => {
    const { store: s } = openStore();
    store(s, melding('Gamma', 1, 'AFGESLOTEN'), 'processed', CLOSED_AT);
    expect(purgeExpired(s.db, 730, LATER).meldingen).toBe(1);

    store(s, melding('Gamma', 2, 'IN_BEHANDELING'), 'processed', LATER);
    expect(s.db.prepare('SELECT purged_at, closed_at FROM meldingen').get()).toEqual({ purged_at: null, closed_at: null });
    const closedAgain = new Date(LATER.getTime() + DAY);
    store(s, melding('Gamma', 3, 'AFGESLOTEN'), 'processed', closedAgain);
    expect(s.db.prepare('SELECT closed_at FROM meldingen').pluck().get()).toBe(closedAgain.toISOString());

    const result = purgeExpired(s.db, 730, new Date(closedAgain.getTime() + 731 * DAY));
    expect(result).toMatchObject({ meldingen: 1, mutations: 2 });
    expect(s.db.prepare('SELECT COUNT(*) FROM mutations WHERE payload IS NOT NULL OR melding_json IS NOT NULL').pluck().get()).toBe(0);
  });

  it("purges quarantined records of another gemeente after retention.quarantineDays, keeps its own", () => {
    const { store: s } = openStore();
    const own = melding('Delta', 1, 'GEREGISTREERD');
    const foreign = { ...melding('Epsilon', 1, 'GEREGISTREERD'), gemeentecode: '0363' };
    s.quarantine.add('0344', { value: own, raw: JSON.stringify(own) }, 'instelling.instellingscode: missing', CLOSED_AT);
    s.quarantine.add('0344', { value: foreign, raw: JSON.stringify(foreign) }, "gemeentecode 0363 is not this municipality's (0344)", CLOSED_AT);

    expect(purgeExpired(s.db, 730, new Date(CLOSED_AT.getTime() + 29 * DAY), { quarantineDays: 30 }).quarantine).toBe(0);
    expect(purgeExpired(s.db, 730, new Date(CLOSED_AT.getTime() + 31 * DAY), { quarantineDays: 30 }).quarantine).toBe(1);
    const payloads = s.quarantine.list('all').map((r) => [r.gemeentecode, r.payload.includes('Zwaantje')]);
    expect(payloads).toEqual([
      ['0344', true],
      ['0363', false],
    ]);
  });

  it('finds the meldingen to purge through its index, not by reading every melding (it runs every cycle)', () => {
    const { store: s } = openStore();
    const plan = s.db.prepare(`EXPLAIN QUERY PLAN ${EXPIRED_MELDINGEN}`).all(LATER.toISOString()) as { detail: string }[];
    expect(plan.map((row) => row.detail).join('; ')).toMatch(/USING INDEX meldingen_to_purge/);
  });
});
