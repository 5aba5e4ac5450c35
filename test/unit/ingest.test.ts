/**
 * Storing a page: what its transaction did is logged only once it committed,
 * and a page that rolls back (a database failure) leaves no row, no cursor
 * move and no log line saying its mails were queued. The audit rows of many
 * pages chain as `audit verify` expects, with a rolled-back page among them.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { Verzuimmelding } from '../../src/domain/melding.js';
import { ingestPage } from '../../src/feed/ingest.js';
import { Writable } from 'node:stream';
import { createLogger, type LogFields, type Logger } from '../../src/observability/log.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import { Store } from '../../src/store/store.js';
import { testConfig } from '../support/config.js';
import { GEMEENTECODE } from '../support/fixtures.js';

const pki = inject('pkiG4');
const NOW = new Date('2026-11-28T09:00:00Z');

interface Line {
  level: string;
  event: string;
  fields: LogFields;
  /** Whether the store was inside a transaction when the line was written. */
  inTransaction: boolean;
}

let stores: Store[] = [];
afterEach(() => {
  for (const store of stores) if (store.db.open) store.close();
  stores = [];
});

function rig(log?: Logger): { config: Config; store: Store; lines: Line[]; page(meldingen: Omit<Verzuimmelding, 'volgnummer'>[]): ReturnType<typeof ingestPage>; gen: MeldingGenerator } {
  const config = testConfig({ pki });
  const store = Store.open(config.storage.path, GEMEENTECODE, () => NOW);
  stores.push(store);
  const lines: Line[] = [];
  const capture = (level: string) => (event: string, fields: LogFields = {}) => void lines.push({ level, event, fields, inTransaction: store.db.inTransaction });
  const captured: Logger = { error: capture('error'), warn: capture('warn'), info: capture('info'), debug: capture('debug'), child: () => captured, flush: () => {} };
  log ??= captured;
  let volgnummer = 0;
  return {
    config,
    store,
    lines,
    gen: new MeldingGenerator({ seed: 11, gemeentecode: GEMEENTECODE, now: () => NOW }),
    page(meldingen) {
      const vanaf = store.cursor.get().volgnummer;
      const items = meldingen.map((m) => ({ ...m, volgnummer: ++volgnummer }) as Verzuimmelding);
      return ingestPage(
        { store, config, gemeente: config.gemeenten[0]!, log, now: () => NOW, cycleId: null, forwardMail: true },
        { items: items.map((value) => ({ value, raw: JSON.stringify(value) })), volgnummerTot: volgnummer },
        vanaf,
      );
    },
  };
}

describe('ingestPage', () => {
  it('logs mail.queued and mutation.quarantined after the page committed, one line each', () => {
    const r = rig();
    const malformed = { ...r.gen.nieuweMelding(), postcode: undefined, leerling: { voornamen: 'Anna' } } as unknown as Verzuimmelding;
    const counts = r.page([r.gen.nieuweMelding(), malformed, r.gen.nieuweMelding()]);
    expect(counts).toMatchObject({ processed: 2, quarantined: 1, queued: 2 });
    const queued = r.lines.filter((l) => l.event === 'mail.queued');
    expect(queued).toHaveLength(2);
    expect(r.lines.filter((l) => l.event === 'mutation.quarantined')).toHaveLength(1);
    expect(r.lines.every((l) => !l.inTransaction)).toBe(true);
    // What the lines name is there to be read by whoever follows them.
    for (const line of queued) expect(r.store.outbox.get(line.fields.outboxId as number)?.state).toBe('pending');
  });

  it('logs nothing of a page that rolled back, and stores nothing of it', () => {
    const r = rig();
    r.page([r.gen.nieuweMelding()]);
    r.lines.length = 0;
    const before = { outbox: r.store.outbox.lastId(), cursor: r.store.cursor.get().volgnummer };
    // A database failure at the end of the page, after its mails were queued: the disk filled up.
    r.store.db.exec(`CREATE TRIGGER full BEFORE UPDATE ON feed_cursor BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    expect(() => r.page([r.gen.nieuweMelding(), r.gen.nieuweMelding()])).toThrow(/disk is full/);
    expect(r.lines).toEqual([]);
    expect({ outbox: r.store.outbox.lastId(), cursor: r.store.cursor.get().volgnummer }).toEqual(before);

    // The next page chains its audit rows on the last committed one.
    r.store.db.exec('DROP TRIGGER full');
    expect(r.page([r.gen.nieuweMelding(), r.gen.nieuweMelding()])).toMatchObject({ processed: 2, queued: 2 });
    expect(r.lines.filter((l) => l.event === 'mail.queued')).toHaveLength(2);
    expect(r.store.audit.verify()).toEqual({ rows: expect.any(Number), brokenAt: null });
  });

  it("writes a committed page's lines to the log's destination in one write, after the commit", () => {
    const writes: { text: string; inTransaction: boolean }[] = [];
    let store: Store | undefined;
    const log = createLogger({
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          writes.push({ text: chunk.toString(), inTransaction: store?.db.inTransaction ?? false });
          done();
        },
      }),
    }).child({ cycleId: 7 });
    const r = rig(log);
    store = r.store;
    const malformed = { ...r.gen.nieuweMelding(), leerling: { voornamen: 'Anna' } } as unknown as Verzuimmelding;
    expect(r.page([r.gen.nieuweMelding(), malformed, r.gen.nieuweMelding()])).toMatchObject({ processed: 2, quarantined: 1, queued: 2 });
    expect(writes).toHaveLength(1);
    expect(writes[0]!.inTransaction).toBe(false);
    const lines = writes[0]!.text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => l.event)).toEqual(['mail.queued', 'mutation.quarantined', 'mail.queued']);
    expect(lines.every((l) => l.cycleId === 7 && l.service === 'verzuim-relay')).toBe(true);

    // A page that rolls back writes nothing at all.
    r.store.db.exec(`CREATE TRIGGER full BEFORE UPDATE ON feed_cursor BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    expect(() => r.page([r.gen.nieuweMelding()])).toThrow(/disk is full/);
    expect(writes).toHaveLength(1);
  });
});
