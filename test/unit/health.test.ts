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
  // A week ahead, not fixed dates: readiness also judges the certificate, and the test PKI is valid
  // from a day before the suite started, so a fixed Saturday became "not yet valid" the day after.
  // A week in winter time (UTC+1), so that the local hours below mean what they say.
  const week = nextWinterWeek();
  const friday = `${week.friday}T16:50:20Z`;

  it('is ready on Saturday when Friday\'s last cycle succeeded', () => {
    const report = readiness(config, friday, new Date(`${week.saturday}T11:00:00Z`));
    expect(report.problems).toEqual([]);
    expect(report.healthy).toBe(true);
  });

  it('is ready on Monday at 07:05 while the first cycle of the week has not succeeded yet', () => {
    expect(readiness(config, friday, new Date(`${week.monday}T06:05:00Z`)).healthy).toBe(true);
  });

  it('is not ready on Monday at 07:45 when no cycle has succeeded since Friday', () => {
    const report = readiness(config, friday, new Date(`${week.monday}T06:45:00Z`));
    expect(report.healthy).toBe(false);
    expect(report.problems.join()).toContain(`last successful cycle at ${friday}, longer ago than 35 minutes`);
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

/** The next Friday, Saturday and Monday (yyyy-mm-dd) after tomorrow on which Amsterdam is at UTC+1. */
function nextWinterWeek(): { friday: string; saturday: string; monday: string } {
  const DAY = 86_400_000;
  const hourIn = (d: Date) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Amsterdam', hour: '2-digit', hourCycle: 'h23' }).format(d);
  const ymd = (d: Date) => d.toISOString().slice(0, 10);
  let saturday = new Date(Math.floor(Date.now() / DAY) * DAY + 2 * DAY + 11 * 3600_000);
  while (saturday.getUTCDay() !== 6) saturday = new Date(saturday.getTime() + DAY);
  for (;;) {
    const friday = new Date(saturday.getTime() - DAY);
    const monday = new Date(saturday.getTime() + 2 * DAY);
    if ([friday, saturday, monday].every((d) => hourIn(d) === '12')) return { friday: ymd(friday), saturday: ymd(saturday), monday: ymd(monday) };
    saturday = new Date(saturday.getTime() + 7 * DAY);
  }
}
