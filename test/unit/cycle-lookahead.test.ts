/**
 * Reading a feed page by page: the next page is asked for as soon as the
 * current page's answer arrives (the transport's onAnswer, before it is
 * verified), never more than one request ahead; an early answer is used only
 * when the committed page moved the cursor to where it asked from. An empty
 * page that leaves the cursor where it was is not committed.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Verzuimmelding } from '../../src/domain/melding.js';
import { fetchGemeente, type RodClient } from '../../src/app/cycle.js';
import { unverifiedHint } from '../../src/feed/edukoppeling/client.js';
import { emptyIngestCounts } from '../../src/feed/ingest.js';
import type { FeedPage, FetchOptions } from '../../src/feed/transport.js';
import { silentLogger } from '../../src/observability/log.js';
import { MeldingGenerator } from '../../src/simulator/generate.js';
import { Store } from '../../src/store/store.js';
import { testConfig } from '../support/config.js';
import { GEMEENTECODE } from '../support/fixtures.js';

const pki = inject('pkiG4');
const NOW = new Date('2026-11-28T09:00:00Z');

let stores: Store[] = [];
afterEach(() => {
  for (const store of stores) if (store.db.open) store.close();
  stores = [];
});

/** A feed of `pages` pages of two mutations each; every call is recorded with what had happened before it. */
function feed(pages: number, options: { hint?: (vanaf: number) => { volgnummerTot: number; meer: boolean } | undefined } = {}) {
  const gen = new MeldingGenerator({ seed: 5, gemeentecode: GEMEENTECODE, now: () => NOW });
  const all = Array.from({ length: pages * 2 }, (_, i) => ({ ...gen.nieuweMelding(), volgnummer: i + 1 }) as Verzuimmelding);
  const events: string[] = [];
  const rod: RodClient = {
    async fetchPage(vanaf: number, limit: number, fetch: FetchOptions = {}): Promise<FeedPage> {
      events.push(`ask ${vanaf}`);
      const items = all.filter((m) => m.volgnummer > vanaf).slice(0, Math.min(limit, 2));
      const volgnummerTot = items.at(-1)?.volgnummer ?? vanaf;
      const meer = volgnummerTot < all.length;
      await new Promise((resolve) => setTimeout(resolve, 5));
      // The answer is in: the transport tells what it says, then takes its time to verify.
      const hint = options.hint ? options.hint(vanaf) : { volgnummerTot, meer };
      if (hint) fetch.onAnswer?.(hint);
      await new Promise((resolve) => setTimeout(resolve, 20));
      events.push(`verified ${vanaf}`);
      return { items: items.map((value) => ({ value, raw: JSON.stringify(value) })), volgnummerTot, meer, requestId: `r${vanaf}` };
    },
    setStatus: async () => 'ok',
  };
  return { rod, events, total: all.length };
}

function read(rod: RodClient) {
  const config = testConfig({ pki });
  const store = Store.open(config.storage.path, GEMEENTECODE, () => NOW);
  stores.push(store);
  const ingest = emptyIngestCounts();
  const deps = { config: { ...config, rod: { ...config.rod, pageSize: 2 } }, store, rod, sender: { send: async () => ({ response: '250' }), close: () => {} }, log: silentLogger };
  return { store, run: () => fetchGemeente(deps, config.gemeenten[0]!, 1, () => NOW, ingest), ingest };
}

describe('reading a feed', () => {
  it('asks for the next page when the answer arrives, before the page is verified, one page ahead at most', async () => {
    const { rod, events, total } = feed(3);
    const { store, run, ingest } = read(rod);
    const result = await run();
    expect(result).toMatchObject({ outcome: 'ok', pages: 3, fetched: total });
    expect(ingest.processed).toBe(total);
    expect(store.cursor.get().volgnummer).toBe(total);
    // Page 2 is asked for before page 1 verified, page 3 before page 2 verified; never two asks in a row.
    expect(events).toEqual(['ask 0', 'ask 2', 'verified 0', 'ask 4', 'verified 2', 'verified 4']);
  });

  it('drops an early answer when the hint was wrong, and asks again from where the committed page put the cursor', async () => {
    // The unverified text claims the feed goes on from 3; the verified page says 2.
    const { rod, events, total } = feed(2, { hint: (vanaf) => (vanaf === 0 ? { volgnummerTot: 3, meer: true } : undefined) });
    const { store, run } = read(rod);
    expect(await run()).toMatchObject({ outcome: 'ok', pages: 2, fetched: total });
    expect(store.cursor.get().volgnummer).toBe(total);
    expect(events.slice(0, 4)).toEqual(['ask 0', 'ask 3', 'verified 0', 'ask 2']);
    expect(events).toContain('verified 2');
  });

  it('commits nothing for an empty page that leaves the cursor where it was', async () => {
    const { rod, total } = feed(1);
    const { store, run } = read(rod);
    await run();
    const rows = () => store.db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get() as number;
    const before = rows();
    expect(await run()).toMatchObject({ outcome: 'ok', pages: 1, fetched: 0 });
    expect(rows()).toBe(before);
    expect(store.cursor.get().volgnummer).toBe(total);
  });
});

describe('unverifiedHint', () => {
  it('reads volgnummerTot and meerMutaties whatever their prefix, absent meerMutaties as false', () => {
    expect(unverifiedHint('<a:volgnummerTot>88120</a:volgnummerTot><a:meerMutaties>true</a:meerMutaties>')).toEqual({ volgnummerTot: 88120, meer: true });
    expect(unverifiedHint('<volgnummerTot> 7 </volgnummerTot>')).toEqual({ volgnummerTot: 7, meer: false });
    expect(unverifiedHint('<x:meerMutaties>true</x:meerMutaties>')).toBeUndefined();
  });
});
