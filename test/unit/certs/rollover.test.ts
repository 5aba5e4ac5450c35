/**
 * The rollover decision, one test per row of its table (src/certs/rollover.ts).
 */
import { describe, expect, it } from 'vitest';
import { decideRollover, onlyExpired, renewalStep, type RolloverCertificate } from '../../../src/certs/rollover.js';

const current: RolloverCertificate = { sha256: 'aa'.repeat(32), usable: true, expired: false };
const next: RolloverCertificate = { sha256: 'bb'.repeat(32), usable: true, expired: false };
const expired = (c: RolloverCertificate): RolloverCertificate => ({ ...c, usable: false, expired: true });
const broken = (c: RolloverCertificate): RolloverCertificate => ({ ...c, usable: false, expired: false });

describe('decideRollover', () => {
  it('1: without tls.next the current certificate is used, nothing probed', () => {
    expect(decideRollover({ current })).toEqual({ use: 'current', probe: false, tryNext: false });
    // A tls.next that is the same certificate (promoted, old lines left) is no next.
    expect(decideRollover({ current, next: { ...current } })).toEqual({ use: 'current', probe: false, tryNext: false });
    // Promoted: the stored switch names what is now tls.
    expect(decideRollover({ current: { ...next }, stored: next.sha256 })).toEqual({ use: 'current', probe: false, tryNext: false });
  });

  it('2: a stored switch to tls.next holds across restarts', () => {
    expect(decideRollover({ current, next, stored: next.sha256 })).toEqual({ use: 'next', probe: false, tryNext: false });
    // Even when the old one has expired since.
    expect(decideRollover({ current: expired(current), next, stored: next.sha256 })).toEqual({ use: 'next', probe: false, tryNext: false });
  });

  it('3: a stored switch to a tls.next that is no longer usable falls back to the current one, with a warning', () => {
    expect(decideRollover({ current, next: broken(next), stored: next.sha256 })).toEqual({ use: 'current', probe: false, tryNext: false, notice: 'next-unusable' });
  });

  it('4: an unusable or expired tls.next changes nothing and is warned about', () => {
    expect(decideRollover({ current, next: broken(next) })).toEqual({ use: 'current', probe: false, tryNext: false, notice: 'next-unusable' });
    expect(decideRollover({ current, next: expired(next) })).toEqual({ use: 'current', probe: false, tryNext: false, notice: 'next-unusable' });
  });

  it('5: the current certificate expired first: switch to tls.next rather than stop', () => {
    expect(decideRollover({ current: expired(current), next })).toEqual({ use: 'next', switch: 'current-expired', probe: false, tryNext: false });
  });

  it('6: both usable, not switched: use the current one and probe tls.next', () => {
    expect(decideRollover({ current, next })).toEqual({ use: 'current', probe: true, tryNext: false });
    // A stored switch to some other certificate (replaced since) is no switch to this tls.next.
    expect(decideRollover({ current, next, stored: 'cc'.repeat(32) })).toEqual({ use: 'current', probe: true, tryNext: false });
  });

  it('7: the current certificate accepted: no change', () => {
    expect(decideRollover({ current, next, answer: { by: 'current', result: 'accepted' } })).toEqual({ use: 'current', probe: false, tryNext: false });
  });

  it('8: the current certificate refused as unregistered with a usable tls.next: try tls.next at once', () => {
    expect(decideRollover({ current, next, answer: { by: 'current', result: 'unregistered' } })).toEqual({ use: 'current', probe: false, tryNext: true });
  });

  it('9: the current certificate refused as unregistered without a usable tls.next: no change', () => {
    expect(decideRollover({ current, answer: { by: 'current', result: 'unregistered' } })).toEqual({ use: 'current', probe: false, tryNext: false });
    expect(decideRollover({ current, next: broken(next), answer: { by: 'current', result: 'unregistered' } })).toEqual({ use: 'current', probe: false, tryNext: false });
  });

  it('10: the current certificate failed otherwise (network, 5xx): no change', () => {
    expect(decideRollover({ current, next, answer: { by: 'current', result: 'failed' } })).toEqual({ use: 'current', probe: false, tryNext: false });
  });

  it('11: tls.next accepted while the current one is in use: switch, saying why', () => {
    expect(decideRollover({ current, next, answer: { by: 'next', result: 'accepted', trigger: 'probe' } })).toEqual({ use: 'next', switch: 'next-accepted', probe: false, tryNext: false });
    expect(decideRollover({ current, next, answer: { by: 'next', result: 'accepted', trigger: 'current-refused' } })).toEqual({ use: 'next', switch: 'current-refused', probe: false, tryNext: false });
  });

  it('12: tls.next accepted while already in use: no second switch', () => {
    expect(decideRollover({ current, next, stored: next.sha256, answer: { by: 'next', result: 'accepted', trigger: 'probe' } })).toEqual({ use: 'next', probe: false, tryNext: false });
  });

  it('13: tls.next refused as unregistered: not yet, the current one stays', () => {
    expect(decideRollover({ current, next, answer: { by: 'next', result: 'unregistered', trigger: 'probe' } })).toEqual({ use: 'current', probe: false, tryNext: false, notice: 'next-not-registered' });
  });

  it('14: the probe failed otherwise: the current one stays, with a warning', () => {
    expect(decideRollover({ current, next, answer: { by: 'next', result: 'failed', trigger: 'probe' } })).toEqual({ use: 'current', probe: false, tryNext: false, notice: 'probe-failed' });
  });
});

describe('onlyExpired', () => {
  it('is true only when every problem is an expiry', () => {
    expect(onlyExpired(['CERT_EXPIRED'])).toBe(true);
    expect(onlyExpired(['CERT_EXPIRED', 'CERT_EXPIRED'])).toBe(true);
    expect(onlyExpired(['CERT_EXPIRED', 'KEY_MISMATCH'])).toBe(false);
    expect(onlyExpired([])).toBe(false);
  });
});

describe('renewalStep', () => {
  it('request: no tls.next yet', () => expect(renewalStep(undefined)).toBe('request'));
  it('fix-next: tls.next is not usable', () => expect(renewalStep(broken(next))).toBe('fix-next'));
  it('bundle-and-wait: tls.next is usable but not accepted yet', () => expect(renewalStep(next)).toBe('bundle-and-wait'));
});
