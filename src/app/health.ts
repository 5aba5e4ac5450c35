/**
 * What `healthcheck`, /healthz and /readyz judge, in one place.
 *
 * Liveness asks "does the process work?": `run` writes a heartbeat file beside
 * the database every HEARTBEAT_SECONDS, whatever ROD and the mail server do, so
 * a ROD maintenance or an SMTP outage never makes a liveness probe restart a
 * relay that is merely waiting. Readiness asks "is it doing its job?": a
 * successful cycle recently enough for the schedule, and a usable certificate.
 *
 * "Recently enough" is measured against the schedule's past, not its future:
 * a weekday-only schedule looked at on Saturday had its last runs on Friday,
 * and a cycle that succeeded then is still as recent as the schedule allows.
 */
import { Cron } from 'croner';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { certificateInUse, inspectCertificates } from './certificate-rollover.js';

/** How often `run` writes its heartbeat. */
export const HEARTBEAT_SECONDS = 30;
/** A heartbeat older than this (four beats missed) means the process no longer works. */
export const HEARTBEAT_MAX_AGE_SECONDS = 120;
/** Scheduled runs that may go by without a successful cycle before the relay is not ready. */
export const MISSED_RUNS_ALLOWED = 2;
/** Added to the schedule's allowance: a cycle takes time, and a clock may lag. */
export const READINESS_SLACK_MINUTES = 10;

export interface HealthReport {
  check: 'liveness' | 'readiness';
  healthy: boolean;
  problems: string[];
  [detail: string]: unknown;
}

export function heartbeatFile(databasePath: string): string {
  return `${databasePath}.heartbeat`;
}

/** Written by `run` (replaced by rename, so a reader never sees half a file). Holds no personal data. */
export function writeHeartbeat(databasePath: string, at: Date): void {
  const file = heartbeatFile(databasePath);
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ at: at.toISOString(), pid: process.pid })}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function readHeartbeat(databasePath: string): { at: string; pid: number } | undefined {
  const file = heartbeatFile(databasePath);
  if (!existsSync(file)) return undefined;
  try {
    const beat = JSON.parse(readFileSync(file, 'utf8')) as { at?: unknown; pid?: unknown };
    return typeof beat.at === 'string' && !Number.isNaN(Date.parse(beat.at)) ? { at: beat.at, pid: Number(beat.pid) } : undefined;
  } catch {
    return undefined;
  }
}

export function liveness(databasePath: string, now: Date): HealthReport {
  const beat = readHeartbeat(databasePath);
  const problems: string[] = [];
  if (!beat) problems.push(`no heartbeat (${heartbeatFile(databasePath)}): "verzuim-relay run" is not running with this configuration, or has not started yet`);
  else {
    const age = Math.round((now.getTime() - Date.parse(beat.at)) / 1000);
    if (age > HEARTBEAT_MAX_AGE_SECONDS) problems.push(`the last heartbeat is ${age} s old (more than ${HEARTBEAT_MAX_AGE_SECONDS} s): the daemon has stopped or hangs`);
  }
  return { check: 'liveness', healthy: problems.length === 0, problems, heartbeat: beat?.at ?? null };
}

/**
 * How old the last successful cycle may be at `now`: health.maxCycleAgeMinutes
 * when set, else the time since the schedule's MISSED_RUNS_ALLOWED + 1'th
 * previous run, plus READINESS_SLACK_MINUTES. For `*\/10 * * * *` that is 30 to
 * 40 minutes; on a Saturday, for a weekday-only schedule, it reaches back to
 * Friday's last runs.
 */
export function allowedCycleAgeMs(schedule: Config['schedule'], now: Date, maxCycleAgeMinutes?: number): number {
  if (maxCycleAgeMinutes !== undefined) return maxCycleAgeMinutes * 60_000;
  const runs = new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }).previousRuns(MISSED_RUNS_ALLOWED + 1, now);
  const oldest = runs.at(-1);
  // A schedule with no past (a one-off date still to come): a day, rather than never ready.
  const sinceOldest = oldest ? now.getTime() - oldest.getTime() : 24 * 3_600_000;
  return sinceOldest + READINESS_SLACK_MINUTES * 60_000;
}

/** Readiness from what the store says about cycles and what the certificate files say. */
export function readiness(config: Config, lastSuccessfulAt: string | null | undefined, now: Date): HealthReport {
  const problems: string[] = [];
  const allowed = allowedCycleAgeMs(config.schedule, now, config.health.maxCycleAgeMinutes);
  if (!lastSuccessfulAt) problems.push('no successful cycle yet');
  else if (now.getTime() - Date.parse(lastSuccessfulAt) > allowed) {
    problems.push(`last successful cycle at ${lastSuccessfulAt}, longer ago than ${Math.round(allowed / 60_000)} minutes`);
  }
  // During a renewal the relay uses tls.next once tls expired (app/certificate-rollover.ts).
  const report = certificateInUse(inspectCertificates(config, now), undefined).report;
  if (!report.usable) problems.push(`certificate not usable: ${report.problems.map((p) => p.code).join(', ')}`);
  return {
    check: 'readiness',
    healthy: problems.length === 0,
    problems,
    lastSuccessfulCycle: lastSuccessfulAt ?? null,
    maxCycleAgeMinutes: Math.round(allowed / 60_000),
    certificateDaysLeft: report.daysLeft ?? null,
  };
}
