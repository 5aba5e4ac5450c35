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

/**
 * Which step of the renewal is next, for the expiry warnings: a warning that says what to do now
 * rather than only how many days are left. Pure; the relay knows tls.next and the last probe.
 *
 * | step            | when                                                   |
 * | --------------- | ------------------------------------------------------ |
 * | request         | no tls.next configured                                 |
 * | fix-next        | tls.next configured but not usable                     |
 * | bundle-and-wait | tls.next usable, not (yet) accepted by ROD             |
 */
export type RenewalStep = 'request' | 'fix-next' | 'bundle-and-wait';

export function renewalStep(next: RolloverCertificate | undefined): RenewalStep {
  if (!next) return 'request';
  return next.usable ? 'bundle-and-wait' : 'fix-next';
}

/** The step in words: English for the log, Dutch for the mail to the alert address. */
export const RENEWAL_STEPS: Record<RenewalStep, { log: string; mail: { title: string; advice: string[] } }> = {
  request: {
    log: 'next step: request the new certificate (`verzuim-relay cert request --out DIR`, send DIR/client.csr to your TSP for a G4 Private G-TLS certificate); then configure it as tls.next and send `verzuim-relay cert bundle --next --out DIR` to DUO',
    mail: {
      title: 'een nieuw certificaat aanvragen',
      advice: [
        'Maak een sleutel en aanvraag: verzuim-relay cert request --out MAP (met --kvk en --cn), en stuur MAP/client.csr naar uw TSP voor een PKIoverheid G4 Private G-TLS-certificaat.',
        'Zodra de TSP het certificaat levert: zet het met de sleutel onder tls.next in de configuratie en controleer met: verzuim-relay cert check',
        'Stuur het daarna naar DUO: verzuim-relay cert bundle --next --out MAP. De relay stapt zelf over zodra DUO het geregistreerd heeft.',
      ],
    },
  },
  'fix-next': {
    log: 'next step: tls.next is configured but not usable; `verzuim-relay cert check` says why',
    mail: {
      title: 'het nieuwe certificaat (tls.next) in orde maken',
      advice: ['Het nieuwe certificaat onder tls.next is niet bruikbaar. verzuim-relay cert check zegt waarom en wat te doen.'],
    },
  },
  'bundle-and-wait': {
    log: 'next step: send the certificate in tls.next to DUO (`verzuim-relay cert bundle --next --out DIR`) if not done yet, then wait for DUO: the relay switches by itself once ROD accepts it',
    mail: {
      title: 'het nieuwe certificaat bij DUO laten registreren en wachten',
      advice: [
        'Het nieuwe certificaat staat onder tls.next, maar ROD accepteert het nog niet.',
        'Nog niet naar DUO gestuurd? Maak de zip met: verzuim-relay cert bundle --next --out MAP en mail die naar DUO.',
        'Daarna hoeft u niets te doen: de relay vraagt ROD dagelijks met het nieuwe certificaat en stapt zelf over zodra DUO het geregistreerd heeft. Duurt het te lang, neem dan contact op met DUO.',
      ],
    },
  },
};
