/**
 * validateItem checks items through zod's compiled fast path (z.compile): it
 * must judge every item exactly as the schema's own parser does, with the same
 * result and, for a refused item, the same reason.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Verzuimmelding } from '../../src/domain/melding.js';
import { validateItem, verzuimmeldingSchema } from '../../src/feed/contract.js';
import { SimulatedFeed } from '../../src/simulator/feed.js';
import { MeldingGenerator, advanceFeed } from '../../src/simulator/generate.js';

const NOW = new Date('2026-11-24T10:00:00+01:00');

/** What the schema's own (runtime) parser says, in validateItem's terms. */
function byRuntimeParser(item: unknown): ReturnType<typeof validateItem> {
  const result = verzuimmeldingSchema.safeParse(item);
  if (result.success) return { ok: true, melding: result.data as Verzuimmelding };
  return { ok: false, reason: result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(item)'}: ${issue.message}`).join('; ') };
}

function expectSameJudgement(item: unknown): void {
  const fast = validateItem(item);
  const runtime = byRuntimeParser(item);
  expect(fast).toEqual(runtime);
  // The same fields in the same order: what is compared and mailed later must not depend on the path taken.
  if (fast.ok && runtime.ok) expect(JSON.stringify(fast.melding)).toBe(JSON.stringify(runtime.melding));
}

const gen = new MeldingGenerator({ seed: 41, gemeentecode: '0344', now: () => NOW });
const feed = new SimulatedFeed({ seed: 41 });
advanceFeed(feed, gen, { nieuw: 200, wijzigingen: 60, intrekkingen: 25 });
const items = feed.page('0344', 0, 10_000).verzuimmeldingen as Record<string, unknown>[];

/** Every path to a leaf (string, number, null) or object in an item. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([key, inner]) => paths(inner, [...prefix, key]))].filter((p) => p.length > 0);
}

function withAt(item: unknown, at: string[], change: (value: unknown) => unknown): unknown {
  const copy = structuredClone(item) as Record<string, unknown>;
  let parent = copy;
  for (const key of at.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  const last = at[at.length - 1]!;
  const next = change(parent[last]);
  if (next === REMOVE) delete parent[last];
  else parent[last] = next;
  return copy;
}

const REMOVE = Symbol('remove');
/** Ways to break (or nearly break) a field: other types, empty, absent, at and past length limits, astral characters. */
const CHANGES: ((value: unknown) => unknown)[] = [
  () => REMOVE,
  () => null,
  () => undefined,
  () => '',
  () => 0,
  () => -1,
  () => 1.5,
  () => 1e300,
  () => true,
  () => [],
  () => ({}),
  () => 'X',
  () => 'ABC_1',
  () => 'abc',
  () => '2026-02-29',
  () => '2024-02-29',
  () => '2026-11-24T10:00:00Z',
  () => '2026-11-24T10:00:00',
  () => 'a@b.example',
  (v) => (typeof v === 'string' ? `${v} ` : v),
  (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  (v) => (typeof v === 'string' ? v.repeat(30) : v),
  (v) => (typeof v === 'string' ? '😀'.repeat(Math.max(1, v.length)) : v),
  (v) => (typeof v === 'string' ? `${v}😀`.slice(0, Math.max(1, v.length)) : v),
  (v) => (typeof v === 'number' ? v + 1 : v),
  (v) => (typeof v === 'number' ? String(v) : v),
  (v) => (typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v),
];

describe('the contract through the compiled fast path', () => {
  it('is compiled by zod (no construct in the schema falls back to the runtime parser for every item)', () => {
    expect(() => z.compile(verzuimmeldingSchema, { strict: true })).not.toThrow();
  });

  it('judges generated items exactly as the runtime parser does', () => {
    expect(items.length).toBeGreaterThan(250);
    for (const item of items) expectSameJudgement(item);
  });

  it('judges every field broken in every way exactly as the runtime parser does, reasons included', () => {
    let refused = 0;
    for (const item of items.slice(0, 25)) {
      for (const at of paths(item)) {
        for (const change of CHANGES) {
          const changed = withAt(item, at, change);
          expectSameJudgement(changed);
          if (!validateItem(changed).ok) refused++;
        }
      }
    }
    // The changes do break items (the comparison is not only of accepted ones).
    expect(refused).toBeGreaterThan(5_000);
  });

  it('keeps only the fields it knows, as the runtime parser does, and refuses what is no item', () => {
    const item = items[0]!;
    expectSameJudgement({ ...item, nieuwVeld: 1, leerling: { ...(item.leerling as object), extra: 'x' } });
    for (const notAnItem of [undefined, null, 'kapot', 42, [], [item], {}]) expectSameJudgement(notAnItem);
  });
});
