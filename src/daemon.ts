/**
 * `run`: a cycle at start, then on the cron schedule in the configured time
 * zone. Never two cycles at once: a tick that finds a cycle still running is
 * skipped, not queued. SIGTERM/SIGINT stop the schedule, let the running cycle
 * finish its page and its mail, and close the database.
 */
import { Cron } from 'croner';
import type { Config } from './config/schema.js';
import { runCycle } from './cycle.js';
import type { Logger } from './log.js';
import { openRelay } from './runtime.js';
import { ExpiryWatcher } from './certs/expiry.js';
import { inspectClientCertificate } from './certs/inspect.js';
import { queueAlert } from './ingest.js';
import { CertAlerts } from './store/cert-alerts.js';

export async function runDaemon(config: Config, log: Logger, options: { signals?: boolean } = {}): Promise<number> {
  const relay = openRelay(config, log);
  const { store } = relay;
  log.info('relay.started', { gemeentecode: config.municipality.code, cron: config.schedule.cron, timezone: config.schedule.timezone, pid: process.pid });
  store.audit.append({ event: 'relay.started', outcome: 'info', detail: { cron: config.schedule.cron, timezone: config.schedule.timezone } });

  let running: Promise<unknown> | undefined;
  let stopping = false;

  const cycle = () => {
    if (stopping) return;
    if (running) {
      log.warn('cycle.skipped', {}, 'the previous cycle is still running');
      return;
    }
    running = runCycle({ config, store, rod: relay.rod, sender: relay.sender, log })
      .catch((err: Error) => log.error('cycle.crashed', { error: err.message }))
      .finally(() => {
        running = undefined;
      });
  };

  const watcher = new ExpiryWatcher({
    store: new CertAlerts(store.db),
    now: () => new Date(),
    expiryWarningDays: config.tls.expiryWarningDays,
    warn: (threshold, report) => {
      const fields = { threshold, daysLeft: report.daysLeft, notAfter: report.notAfter, sha256: report.leaf?.sha256 };
      log.warn('cert.expiring', fields);
      store.audit.append({ event: 'cert.expiring', outcome: 'warning', detail: fields });
      queueAlert({ store, config, log, now: () => new Date() }, `cert.${report.leaf?.sha256 ?? 'leaf'}.${threshold}`, {
        topic: 'certificate',
        title: `Certificaat verloopt over ${report.daysLeft} dag(en)`,
        facts: [
          ['Certificaat', report.leaf?.subject ?? '-'],
          ['Geldig tot', report.notAfter ?? '-'],
          ['Dagen over', String(report.daysLeft)],
          ['SHA-256', report.leaf?.sha256 ?? '-'],
        ],
        advice: [
          'Vraag tijdig een nieuw PKIoverheid-certificaat aan (G4 Private G-TLS).',
          'Stuur het nieuwe certificaat naar DUO vóór het oude verloopt: verzuim-relay cert bundle --out DIR',
        ],
      });
    },
  });
  const certCheck = async () => {
    const report = inspectClientCertificate(config.tls, config.municipality.oin);
    if (!report.usable) {
      for (const p of report.problems) log.error('cert.unusable', { code: p.code, message: p.message, advice: p.advice });
      store.audit.append({ event: 'cert.unusable', outcome: 'failed', detail: { problems: report.problems.map((p) => p.code) } });
    }
    await watcher.check(report);
  };

  await certCheck().catch((err: Error) => log.error('cert.check-failed', { error: err.message }));
  const schedule = new Cron(config.schedule.cron, { timezone: config.schedule.timezone }, cycle);
  const daily = new Cron('0 7 * * *', { timezone: config.schedule.timezone }, () => {
    certCheck().catch((err: Error) => log.error('cert.check-failed', { error: err.message }));
  });
  cycle();

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('relay.stopping', { signal });
      schedule.stop();
      daily.stop();
      resolve();
    };
    if (options.signals !== false) {
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    }
  });
  await running;
  store.audit.append({ event: 'relay.stopped', outcome: 'info' });
  await relay.close();
  log.info('relay.stopped', {});
  return 0;
}
