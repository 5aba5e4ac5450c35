/**
 * The daily expiry check: thresholds, each fired once per certificate, with a clock the test controls.
 */
import { describe, expect, inject, it } from 'vitest';
import { EXPIRY_THRESHOLDS, ExpiryWatcher, crossedThresholds, type ExpiryAlertStore } from '../../../src/certs/expiry.js';
import { inspectClientCertificate, type CertificateReport } from '../../../src/certs/inspect.js';
import { TEST_OIN, pkiTls } from '../../support/certs.js';

const DAY = 86_400_000;

class MemoryStore implements ExpiryAlertStore {
  readonly records: { sha256: string; threshold: number; at: Date }[] = [];
  firedThresholds(sha256: string): number[] {
    return this.records.filter((r) => r.sha256 === sha256).map((r) => r.threshold);
  }
  recordThreshold(sha256: string, threshold: number, at: Date): void {
    this.records.push({ sha256, threshold, at });
  }
}

/** A report as inspection makes it, reduced to what the watcher reads. */
function report(sha256: string, notAfter: Date, now: Date): CertificateReport {
  return {
    usable: true,
    files: { trustAnchors: '/certs/roots.pem' },
    leaf: {
      subject: 'CN=test',
      issuer: 'CN=ca',
      serialNumber: '01',
      validFrom: '2026-01-01T00:00:00.000Z',
      validTo: notAfter.toISOString(),
      signatureAlgorithm: 'RSASSA-PSS (SHA-512)',
      publicKey: 'RSA 3072',
      sha256,
      role: 'leaf',
    },
    chain: [],
    hierarchy: 'G4',
    rootKnown: true,
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY),
    notAfter: notAfter.toISOString(),
    problems: [],
    warnings: [],
  };
}

function setup(expiryWarningDays = 60) {
  let clock = new Date('2027-01-01T06:00:00Z');
  const store = new MemoryStore();
  const warned: { threshold: number; daysLeft: number | undefined }[] = [];
  const watcher = new ExpiryWatcher({
    store,
    now: () => clock,
    warn: (threshold, r) => {
      warned.push({ threshold, daysLeft: r.daysLeft });
    },
    expiryWarningDays,
  });
  return {
    store,
    warned,
    watcher,
    now: () => clock,
    advance: (days: number) => {
      clock = new Date(clock.getTime() + days * DAY);
    },
  };
}

describe('crossedThresholds', () => {
  it.each([
    [100, 60, []],
    [61, 60, []],
    [60, 60, [60]],
    [31, 60, [60]],
    [30, 60, [60, 30]],
    [14, 60, [60, 30, 14]],
    [5, 60, [60, 30, 14, 7]],
    [1, 60, [60, 30, 14, 7, 1]],
    [0, 60, [60, 30, 14, 7, 1]],
    [-3, 60, [60, 30, 14, 7, 1]],
    [20, 30, [30]], // expiryWarningDays equal to a fixed threshold: once
    [10, 90, [90, 30, 14]],
    [20, 14, [30]],
  ])('%i days left, warning from %i days: %j', (daysLeft, warningDays, expected) => {
    expect(crossedThresholds(daysLeft, warningDays)).toEqual(expected);
  });

  it('has the fixed thresholds 30, 14, 7, 1', () => {
    expect(EXPIRY_THRESHOLDS).toEqual([30, 14, 7, 1]);
  });
});

describe('ExpiryWatcher', () => {
  it('warns once per threshold as the days pass, checking daily (and twice some days)', async () => {
    const t = setup();
    const notAfter = new Date(t.now().getTime() + 75 * DAY);
    const fired: number[] = [];
    for (let day = 0; day <= 80; day++) {
      fired.push(...(await t.watcher.check(report('aa', notAfter, t.now()))));
      if (day % 3 === 0) expect(await t.watcher.check(report('aa', notAfter, t.now()))).toEqual([]);
      t.advance(1);
    }
    expect(fired).toEqual([60, 30, 14, 7, 1]);
    expect(t.warned.map((w) => [w.threshold, w.daysLeft])).toEqual([
      [60, 60],
      [30, 30],
      [14, 14],
      [7, 7],
      [1, 1],
    ]);
    expect(t.store.records.map((r) => r.threshold)).toEqual([60, 30, 14, 7, 1]);
  });

  it('fires only the lowest of several thresholds crossed at once, and records them all', async () => {
    const t = setup();
    const notAfter = new Date(t.now().getTime() + 5 * DAY);
    expect(await t.watcher.check(report('bb', notAfter, t.now()))).toEqual([7]);
    expect(t.store.firedThresholds('bb').sort((a, b) => a - b)).toEqual([7, 14, 30, 60]);
    t.advance(2);
    expect(await t.watcher.check(report('bb', notAfter, t.now()))).toEqual([]);
    t.advance(2);
    expect(await t.watcher.check(report('bb', notAfter, t.now()))).toEqual([1]);
    expect(t.warned.map((w) => w.threshold)).toEqual([7, 1]);
  });

  it('starts afresh for a new certificate', async () => {
    const t = setup();
    const old = new Date(t.now().getTime() + 10 * DAY);
    expect(await t.watcher.check(report('old', old, t.now()))).toEqual([14]);
    const renewed = new Date(t.now().getTime() + 365 * DAY);
    expect(await t.watcher.check(report('new', renewed, t.now()))).toEqual([]);
    t.advance(305);
    expect(await t.watcher.check(report('new', renewed, t.now()))).toEqual([60]);
  });

  it('records nothing when the warning could not be given, so it is tried again', async () => {
    const store = new MemoryStore();
    let fail = true;
    const warned: number[] = [];
    const now = new Date('2027-01-01T00:00:00Z');
    const watcher = new ExpiryWatcher({
      store,
      now: () => now,
      warn: async (threshold) => {
        if (fail) throw new Error('mail server down');
        warned.push(threshold);
      },
      expiryWarningDays: 60,
    });
    const r = report('cc', new Date(now.getTime() + 20 * DAY), now);
    await expect(watcher.check(r)).rejects.toThrow('mail server down');
    expect(store.records).toEqual([]);
    fail = false;
    expect(await watcher.check(r)).toEqual([30]);
    expect(warned).toEqual([30]);
  });

  it('ignores a report without a certificate', async () => {
    const t = setup();
    const r = { ...report('dd', new Date(), t.now()), leaf: undefined, daysLeft: undefined };
    expect(await t.watcher.check(r)).toEqual([]);
  });

  it('works on a real inspection report of the test PKI', async () => {
    const pki = inject('pkiG4');
    const tls = pkiTls(pki);
    const t = setup();
    const now = new Date(Date.now() + 320 * DAY);
    const real = inspectClientCertificate(tls, TEST_OIN, now);
    expect(real.daysLeft).toBeLessThanOrEqual(45);
    expect(await t.watcher.check(real)).toEqual([60]);
    expect(t.store.firedThresholds(real.leaf!.sha256)).toEqual([60]);
  });
});
