/**
 * A full garbage collection once a large page's items are read, when the
 * heap has grown large.
 *
 * A page of 500 meldingen is about 820 KB of XML, and was about 20 MB as an
 * xmldom DOM. The relay parses a page once (verify.ts), reads its items out
 * as text, and the DOM is then garbage; V8 would collect it only after the
 * next page's DOM had grown the heap beside it, and that overlap, page after
 * page, was the relay's peak RSS over Edukoppeling (when a page was parsed
 * three times, at each hand-over). A full collection after every large page
 * kept one DOM alive at a time.
 *
 * The DOM is now the light one (dom.ts), about 4 MB a page, and V8's own
 * collections keep the heap in use between 34 and 40 MB at every hand-over
 * of the default page (500), with or without this one. Collecting after
 * every page then cost some 15 ms a page (fetching and storing 5,000
 * meldingen took 13 % longer with it) for no lower peak
 * (docs/performance.md). So it runs only when the heap in use is above
 * COLLECT_ABOVE_BYTES at a hand-over: the guard of the memory target for a
 * larger rod.pageSize, or a DOM that grows again. Small messages (a status
 * report, an idle cycle's empty page) never come here.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A page this large (in meldingen) leaves enough garbage to be worth a look at the heap. */
export const LARGE_PAGE_ITEMS = 150;
/**
 * The heap in use above which a large page's garbage is collected at once: some
 * 8 MB over the most a page of 500 leaves at a hand-over (40 MB), so that the
 * default page does not pay for it and a page that left much more does.
 */
export const COLLECT_ABOVE_BYTES = 48 * 2 ** 20;

let gc: (() => void) | undefined;

/**
 * V8's full collection, without starting node with --expose-gc: the flag is
 * set at runtime and `gc` taken from a fresh context, as Node documents for
 * v8.setFlagsFromString.
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Collects when V8's heap in use is above `above` bytes; says whether it did. */
export function collectGarbageAbove(above: number = COLLECT_ABOVE_BYTES): boolean {
  if (getHeapStatistics().used_heap_size <= above) return false;
  collectGarbage();
  return true;
}
