import { describe, expect, it } from 'vitest';
import { collectGarbage, collectGarbageAbove } from '../../../src/feed/edukoppeling/heap.js';

/** An object nothing holds any more, seen through a WeakRef. */
async function garbagePage(): Promise<WeakRef<object>> {
  let ref: WeakRef<object> | undefined;
  (() => {
    ref = new WeakRef({ page: new Array(10_000).fill('dom') });
  })();
  // A WeakRef's target is kept for the rest of the job that made it: collect in a later one.
  await new Promise((resolve) => setTimeout(resolve, 0));
  return ref!;
}

describe('collectGarbage', () => {
  it('runs a real full collection, without node started with --expose-gc', async () => {
    const ref = await garbagePage();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
    // Taking gc once is enough; a second call must work as well.
    expect(() => collectGarbage()).not.toThrow();
  });
});

describe('collectGarbageAbove', () => {
  it('collects only when the heap in use is above the bound', async () => {
    const ref = await garbagePage();
    expect(collectGarbageAbove(Number.POSITIVE_INFINITY)).toBe(false);
    expect(collectGarbageAbove(0)).toBe(true);
    expect(ref.deref()).toBeUndefined();
  });
});
