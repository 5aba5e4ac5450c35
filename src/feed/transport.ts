/**
 * The seam between the feed's semantics and the wire. A cycle asks a
 * transport for one page after a volgnummer and reports a status; whether
 * that is a REST GET or a signed SOAP exchange is the transport's business.
 * Everything above the seam — the exclusive cursor, `meer`, stale replays,
 * quarantine of a bad item, the stop signal — is the same for every
 * transport; Retry-After is waited out below it, in the shared HTTP layer.
 */
import type { RodCredentials } from './http.js';

/** One mutation as the transport received it. */
export interface FeedItem {
  /** The item as a plain object with the feed contract's field names, for validation. */
  value: unknown;
  /**
   * The item exactly as received (JSON text, or the XML of a verified element), for the store.
   * The REST transport writes its text when it is read (rest/client.ts jsonItem): read it once.
   */
  readonly raw: string;
}

export interface FeedPage {
  items: FeedItem[];
  /** The cursor after this page: the next request asks for mutations after it. */
  volgnummerTot: number;
  meer: boolean;
  /** The X-Request-ID (and, over Edukoppeling, the MessageID) of the request that fetched it, for the log. */
  requestId: string;
}

/** Where an answer says the feed goes on, read from it before it is verified. */
export interface PageHint {
  volgnummerTot: number;
  meer: boolean;
}

export interface FetchOptions {
  /**
   * Called when the answer has arrived and before it is verified, with where it
   * says the feed goes on. Unverified, so good for one thing only: asking for
   * the next page while this one is verified and stored. What is stored, and
   * where the cursor moves, still comes from the verified page.
   */
  onAnswer?: (hint: PageHint) => void;
}

export interface RodTransport {
  /** The mutations after `vanaf` (exclusive), at most `limit`. Throws RodError; a bad item is not an error here. */
  fetchPage(vanaf: number, limit: number, options?: FetchOptions): Promise<FeedPage>;
  /** Reports the municipality's handling of a melding. A transition ROD refuses is an answer ('conflict'), not an error. */
  setStatus(meldingsnummer: string, status: 'IN_BEHANDELING'): Promise<'ok' | 'conflict'>;
  /** From the next request on, present this client certificate (and, over Edukoppeling, sign with it). */
  useCredentials(credentials: RodCredentials): void;
  close(): Promise<void>;
}
