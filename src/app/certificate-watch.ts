/**
 * The relay's look at its own certificate, at every start and then daily: an
 * unusable certificate is logged and audited; crossing tls.expiryWarningDays,
 * 30, 14, 7 or 1 days before expiry is logged, audited and mailed to the alert
 * address, once per threshold per certificate (kept in SQLite, so a restart
 * does not repeat it).
 */
import type { Config } from '../config/schema.js';
import { ExpiryWatcher } from '../certs/expiry.js';
import { inspectClientCertificate } from '../certs/inspect.js';
import { queueAlert } from '../feed/ingest.js';
import type { Logger } from '../observability/log.js';
import { CertAlerts } from '../store/cert-alerts.js';
import type { Store } from '../store/store.js';

export function createCertificateWatch(config: Config, store: Store, log: Logger, now: () => Date = () => new Date()): () => Promise<void> {
  const watcher = new ExpiryWatcher({
    store: new CertAlerts(store.db),
    now,
    expiryWarningDays: config.tls.expiryWarningDays,
    warn: (threshold, report) => {
      const fields = { threshold, daysLeft: report.daysLeft, notAfter: report.notAfter, sha256: report.leaf?.sha256, hierarchy: report.hierarchy };
      log.warn('cert.expiring', fields, `the client certificate expires in ${report.daysLeft} day(s): renew it and register the new one with DUO`);
      store.transaction(() => {
        store.audit.append({ event: 'cert.expiring', outcome: 'warning', detail: fields });
        queueAlert({ store, config, log, now }, `cert.${report.leaf?.sha256 ?? 'leaf'}.${threshold}`, {
          topic: 'certificate',
          title: `Certificaat verloopt over ${report.daysLeft} dag(en)`,
          facts: [
            ['Certificaat', report.leaf?.subject ?? '-'],
            ['Hiërarchie', report.hierarchy],
            ['Geldig tot', report.notAfter ?? '-'],
            ['Dagen over', String(report.daysLeft)],
            ['SHA-256', report.leaf?.sha256 ?? '-'],
          ],
          advice: [
            'Vraag tijdig een nieuw PKIoverheid-certificaat aan (G4 Private G-TLS); de TSP en de registratie bij DUO kosten weken.',
            'Stuur het nieuwe certificaat naar DUO vóór het oude verloopt: verzuim-relay cert bundle --out MAP',
            'Controleer het nieuwe certificaat met: verzuim-relay cert check',
          ],
        });
      });
    },
  });

  return async () => {
    const report = inspectClientCertificate(config.tls, config.municipality.oin, now());
    if (!report.usable) {
      for (const p of report.problems) log.error('cert.unusable', { code: p.code, message: p.message, advice: p.advice });
      store.audit.append({ event: 'cert.unusable', outcome: 'failed', detail: { problems: report.problems.map((p) => p.code) } });
    }
    await watcher.check(report);
  };
}
