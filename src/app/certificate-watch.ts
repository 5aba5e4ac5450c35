/**
 * The relay's look at its own certificate, at every start and then daily: an
 * unusable certificate is logged and audited; crossing tls.expiryWarningDays,
 * 30, 14, 7 or 1 days before expiry is logged, audited and mailed to the alert
 * address, once per threshold per certificate (kept in SQLite, so a restart
 * does not repeat it).
 */
import { certificateOin, type Config } from '../config/schema.js';
import { ExpiryWatcher } from '../certs/expiry.js';
import { inspectClientCertificate } from '../certs/inspect.js';
import { certificateExpiringAlert, queueAlert } from '../mail/alert.js';
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
        const certificate = { subject: report.leaf?.subject, sha256: report.leaf?.sha256, hierarchy: report.hierarchy, notAfter: report.notAfter, daysLeft: report.daysLeft };
        queueAlert({ store, config, now }, certificateExpiringAlert(threshold, certificate));
      });
    },
  });

  return async () => {
    const report = inspectClientCertificate(config.tls, certificateOin(config), now());
    if (!report.usable) {
      for (const p of report.problems) log.error('cert.unusable', { code: p.code, message: p.message, advice: p.advice });
      store.audit.append({ event: 'cert.unusable', outcome: 'failed', detail: { problems: report.problems.map((p) => p.code) } });
    }
    await watcher.check(report);
  };
}
