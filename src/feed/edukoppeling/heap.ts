/**
 * A full garbage collection once a large page's items are read.
 *
 * A page of 500 meldingen is about 820 KB of XML, and was about 20 MB as an
 * xmldom DOM. The relay parses a page once (verify.ts), reads its items out
 * as text, and the DOM is then garbage; V8 would collect it only after the
 * next page's DOM had grown the heap beside it, and that overlap, page after
 * page, was the relay's peak RSS over Edukoppeling (when a page was parsed
 * three times, at each hand-over). A full collection once the items are read
 * costs some milliseconds against the second a large page takes, and keeps
 * one DOM alive at a time. Small messages (a status report, an idle cycle's
 * empty page) skip it.
 *
 * The DOM is now the light one (dom.ts), about 4 MB a page. Without this
 * collection the window of 5,000 meldingen was some 7 % shorter at a peak
 * RSS 1–2 MiB higher, within the noise of six alternating runs: kept, as the
 * cheap guard of the memory target at national scale (docs/performance.md).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A message this long (some 150 meldingen) leaves enough garbage to collect it at once. */
export const LARGE_MESSAGE_CHARS = 256 * 1024;
/** The same size of page, counted in meldingen. */
export const LARGE_PAGE_ITEMS = 150;

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
