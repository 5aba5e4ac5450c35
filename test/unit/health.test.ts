/**
 * How old the last successful cycle may be: measured against the schedule's
 * past runs, so a weekday schedule stays ready over the weekend; and the
 * heartbeat that liveness reads.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { allowedCycleAgeMs, heartbeatFile, liveness, readiness, writeHeartbeat } from '../../src/app/health.js';
import { testConfig } from '../support/config.js';

const pki = inject('pkiG4');
const minutes = (ms: number) => ms / 60_000;
const WEEKDAYS = { cron: '*/10 7-17 * * 1-5', timezone: 'Europe/Amsterdam' };

describe('allowedCycleAgeMs', () => {
  it('every ten minutes: two runs may be missed, plus ten minutes of slack (30 to 40 minutes)', () => {
    const every10 = { cron: '*/10 * * * *', timezone: 'Europe/Amsterdam' };
    // At 10:01 the runs before are 10:00, 09:50 and 09:40; at 10:00 itself that run is only starting.
    expect(minutes(allowedCycleAgeMs(every10, new Date('2026-11-25T10:01:00Z')))).toBe(31);
    expect(minutes(allowedCycleAgeMs(every10, new Date('2026-11-25T10:00:00Z')))).toBe(40);
  });

  it('a weekday schedule on Saturday reaches back to Friday afternoon', () => {
    // Saturday 28 November 2026, 12:00 in Amsterdam; Friday's last runs were 17:30, 17:40, 17:50.
    const saturday = new Date('2026-11-28T11:00:00Z');
    const allowed = allowedCycleAgeMs(WEEKDAYS, saturday);
    expect(saturday.getTime() - allowed).toBe(Date.parse('2026-11-27T16:20:00Z')); // Friday 17:30 local, minus 10 minutes
  });

  it('health.maxCycleAgeMinutes, when set, is the allowance whatever the schedule', () => {
    expect(minutes(allowedCycleAgeMs(WEEKDAYS, new Date('2026-11-28T11:00:00Z'), 90))).toBe(90);
  });
});

describe('readiness', () => {
  const config = testConfig({ pki, overrides: { schedule: WEEKDAYS } });

  it('is ready on Saturday when Friday\'s last cycle succeeded', () => {
    const report = readiness(config, '2026-11-27T16:50:20Z', new Date('2026-11-28T11:00:00Z'));
    expect(report.problems).toEqual([]);
    expect(report.healthy).toBe(true);
  });

  it('is ready on Monday at 07:05 while the first cycle of the week has not succeeded yet', () => {
    expect(readiness(config, '2026-11-27T16:50:20Z', new Date('2026-11-30T06:05:00Z')).healthy).toBe(true);
  });

  it('is not ready on Monday at 07:45 when no cycle has succeeded since Friday', () => {
    const report = readiness(config, '2026-11-27T16:50:20Z', new Date('2026-11-30T06:45:00Z'));
    expect(report.healthy).toBe(false);
    expect(report.problems.join()).toMatch(/last successful cycle at 2026-11-27T16:50:20Z, longer ago than 35 minutes/);
  });

  it('is not ready before any cycle succeeded', () => {
    expect(readiness(config, undefined, new Date()).problems).toContain('no successful cycle yet');
  });
});

describe('liveness', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-health-'));
  const db = path.join(dir, 'relay.db');

  it('fails without a heartbeat, passes with a fresh one, fails when it is over two minutes old', () => {
    expect(liveness(db, new Date()).problems.join()).toMatch(/no heartbeat/);
    const at = new Date('2026-11-28T11:00:00Z');
    writeHeartbeat(db, at);
    expect(liveness(db, new Date(at.getTime() + 119_000)).healthy).toBe(true);
    const stale = liveness(db, new Date(at.getTime() + 121_000));
    expect(stale.healthy).toBe(false);
    expect(stale.problems.join()).toMatch(/121 s old/);
  });

  it('treats an unreadable heartbeat file as none', () => {
    writeFileSync(heartbeatFile(db), 'garbage');
    expect(liveness(db, new Date()).healthy).toBe(false);
  });
});

describe('metrics.listen', () => {
  const listen = (value: unknown) => testConfig({ pki, overrides: { metrics: { listen: value } } }).metrics.listen;

  it('is off unless set, and binds to loopback unless an address is given', () => {
    expect(testConfig({ pki }).metrics.listen).toBeUndefined();
    expect(listen('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(listen(9464)).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(listen('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(listen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
  });

  it('refuses what is not a port or host:port', () => {
    expect(() => listen('http://localhost:9464')).toThrow(/metrics\.listen/);
    expect(() => listen('127.0.0.1:99999')).toThrow(/metrics\.listen/);
  });
});
