/**
 * Which client certificate the relay uses while a renewal is under way: `tls` (the current one) or
 * `tls.next` (the renewed one DUO is registering). A pure function of the two certificates as
 * inspected, the stored switch and what ROD just answered; app/certificate-rollover.ts does the
 * probing, switching, logging and mailing. One test per row (test/unit/certs/rollover.test.ts).
 *
 * | # | answer                     | situation                                           | decision                                  |
 * | - | -------------------------- | --------------------------------------------------- | ----------------------------------------- |
 * | 1 | (check: start, daily)      | no tls.next (or the same certificate as tls)       | use current                               |
 * | 2 | check                      | stored switch to tls.next, tls.next usable         | use next (the switch holds)               |
 * | 3 | check                      | stored switch to tls.next, tls.next unusable       | use current, warn next-unusable           |
 * | 4 | check                      | tls.next unusable, not switched                    | use current, warn next-unusable           |
 * | 5 | check                      | current expired, tls.next usable                   | switch: current-expired                   |
 * | 6 | check                      | both usable, not switched                          | use current, probe tls.next               |
 * | 7 | current accepted           | any                                                 | no change                                 |
 * | 8 | current unregistered       | tls.next usable, not in use                        | try tls.next now (same cycle)             |
 * | 9 | current unregistered       | no usable tls.next                                  | no change (the cycle fails as before)     |
 * |10 | current failed otherwise   | any                                                 | no change                                 |
 * |11 | next accepted              | current in use                                      | switch: next-accepted / current-refused  |
 * |12 | next accepted              | next already in use                                 | no change                                 |
 * |13 | next unregistered          | current in use                                      | no change, note next-not-registered       |
 * |14 | next failed otherwise      | current in use                                      | no change, warn probe-failed              |
 *
 * The stored switch names a certificate by its SHA-256, so a tls.next later promoted to tls (the same
 * fingerprint now in tls) simply is the current certificate: row 1, nothing to undo.
 */

/** One configured certificate as inspected now. */
export interface RolloverCertificate {
  /** SHA-256 of the leaf's DER, hex. */
  sha256: string;
  usable: boolean;
  /** Unusable only because it, or a CA in its chain, is past its notAfter. */
  expired: boolean;
}

/** What ROD answered to a request made with one of the two certificates. */
export interface RolloverAnswer {
  by: 'current' | 'next';
  /** unregistered: 403 / Client.EK0030 / V403, DUO does not (yet) know this certificate. */
  result: 'accepted' | 'unregistered' | 'failed';
  /** What made the relay ask with tls.next: its daily probe, or the current one's refusal. */
  trigger?: 'probe' | 'current-refused';
}

export interface RolloverInput {
  current: RolloverCertificate;
  next?: RolloverCertificate;
  /** The SHA-256 the relay last switched to (stored); undefined when it never switched. */
  stored?: string;
  /** Undefined for a check (at start and daily). */
  answer?: RolloverAnswer;
}

export type SwitchReason = 'next-accepted' | 'current-refused' | 'current-expired';

export type RolloverNotice = 'next-unusable' | 'next-not-registered' | 'probe-failed';

export interface RolloverDecision {
  /** The certificate to use from now on. */
  use: 'current' | 'next';
  /** Set when this decision is a switch to tls.next, to be stored, logged, audited and mailed. */
  switch?: SwitchReason;
  /** Make the harmless request with tls.next now (the daily probe). */
  probe: boolean;
  /** The current certificate was refused as unregistered: ask with tls.next at once, in this cycle. */
  tryNext: boolean;
  notice?: RolloverNotice;
}

const keep = (use: 'current' | 'next', notice?: RolloverNotice): RolloverDecision => ({ use, probe: false, tryNext: false, ...(notice ? { notice } : {}) });

export function decideRollover(input: RolloverInput): RolloverDecision {
  const { current, stored, answer } = input;
  // A tls.next that is the certificate already in tls (promoted, the old lines left in) is no next.
  const next = input.next && input.next.sha256 !== current.sha256 ? input.next : undefined;
  const switched = next !== undefined && stored === next.sha256;
  const inUse: 'current' | 'next' = switched && next.usable ? 'next' : 'current';

  if (!answer) {
    if (!next) return keep('current'); // 1
    if (switched) return next.usable ? keep('next') : keep('current', 'next-unusable'); // 2, 3
    if (!next.usable) return keep('current', 'next-unusable'); // 4
    if (current.expired) return { use: 'next', switch: 'current-expired', probe: false, tryNext: false }; // 5
    return { use: 'current', probe: true, tryNext: false }; // 6
  }

  if (answer.by === 'current') {
    if (answer.result === 'unregistered' && inUse === 'current' && next?.usable) return { use: 'current', probe: false, tryNext: true }; // 8
    return keep(inUse); // 7, 9, 10
  }

  if (!next || !next.usable) return keep(inUse);
  if (answer.result === 'accepted') {
    if (inUse === 'next') return keep('next'); // 12
    return { use: 'next', switch: answer.trigger === 'current-refused' ? 'current-refused' : 'next-accepted', probe: false, tryNext: false }; // 11
  }
  return keep(inUse, answer.result === 'unregistered' ? 'next-not-registered' : 'probe-failed'); // 13, 14
}

/** The problem codes that mean "past its date" and nothing else. */
export function onlyExpired(problemCodes: readonly string[]): boolean {
  return problemCodes.length > 0 && problemCodes.every((code) => code === 'CERT_EXPIRED');
}
