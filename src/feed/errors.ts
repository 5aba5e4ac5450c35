/**
 * How a conversation with ROD can fail, in the same words for every
 * transport: the cycle decides from `kind` what an administrator is told and
 * whether the next cycle simply tries again.
 */
export type RodErrorKind =
  | 'tls'
  | 'unreachable'
  | 'timeout'
  | 'throttled'
  | 'refused'
  | 'server'
  | 'invalid-response'
  /** A response whose signature, signer or addressing did not verify: not one byte of it is used. */
  | 'unverified'
  | 'stopped';

export interface RodErrorDetails {
  status?: number;
  /** ROD's own code: a REST problem code, a SOAP faultcode (Client.EK0030) or a business foutcode (V403). */
  code?: string;
  retryAfterSeconds?: number;
  /** The REST problem document, when there was one. */
  problem?: { title: string; status?: number; code?: string; detail?: string; type?: string };
}

export class RodError extends Error {
  constructor(
    readonly kind: RodErrorKind,
    message: string,
    readonly details: RodErrorDetails = {},
  ) {
    super(message);
    this.name = 'RodError';
  }
}

export function stopped(): RodError {
  return new RodError('stopped', 'the relay is stopping; the feed is read further in the next cycle');
}

/**
 * A page with more items than asked for is not a page of the contract: refused whole, so that a
 * peer cannot make one request cost unbounded work and storage.
 */
export function tooManyItems(count: number, limit: number, asked: string, requestId: string): RodError {
  return new RodError('invalid-response', `ROD sent ${count} items for a page of at most ${limit} (${asked}); nothing of the page was stored; request ${requestId}`);
}

/**
 * ROD's answer for a client certificate DUO has not registered (or no longer has): REST 403, an
 * Edukoppeling Client.EK0030 fault, or the business refusal V403. Over several gemeenten a V403 may
 * also mean one gemeente is not authorised; trying tls.next then costs one request and changes
 * nothing.
 */
export function refusedAsUnregistered(err: unknown): boolean {
  if (!(err instanceof RodError) || err.kind !== 'refused') return false;
  const { status, code } = err.details;
  return status === 403 || code === 'Client.EK0030' || code === 'V403';
}
