/**
 * The relay's look at its own certificate, at every start and then daily: an
 * unusable certificate is logged and audited; crossing tls.expiryWarningDays,
 * 30, 14, 7 or 1 days before expiry is logged, audited and mailed to the alert
 * address, once per threshold per certificate (kept in SQLite, so a restart
 * does not repeat it). Each warning says which step of the renewal is next. With tls.next
 * configured it also probes ROD with it (app/certificate-rollover.ts).
 */
import { certificateOin, type Config } from '../config/schema.js';
import { ExpiryWatcher, effectiveDaysLeft } from '../certs/expiry.js';
import { RENEWAL_STEPS, renewalStep } from '../certs/rollover.js';
import type { CertificateRolloverControl } from './certificate-rollover.js';
import { inspectClientCertificate } from '../certs/inspect.js';
import { certificateExpiringAlert, queueAlert } from '../mail/alert.js';
import type { Logger } from '../observability/log.js';
import { CertAlerts } from '../store/cert-alerts.js';
import type { Store } from '../store/store.js';

export function createCertificateWatch(
  config: Config,
  store: Store,
  log: Logger,
  now: () => Date = () => new Date(),
  /** The relay's rollover control: probes tls.next, and names the certificate in use. */
  rollover?: CertificateRolloverControl,
): () => Promise<void> {
  const watcher = new ExpiryWatcher({
    store: new CertAlerts(store.db),
    now,
    expiryWarningDays: config.tls.expiryWarningDays,
    warn: (threshold, report) => {
      const daysLeft = effectiveDaysLeft(report);
      // A certificate already switched to needs a newer one; otherwise the step depends on tls.next.
      const next = rollover?.inUseKey === 'tls.next' ? undefined : rollover?.nextCertificate;
      const step = RENEWAL_STEPS[renewalStep(next && { sha256: next.report.leaf?.sha256 ?? '', usable: next.credentials !== undefined, expired: false })];
      const chainFirst = report.chainEndsAt && report.chainEndsAt.daysLeft < (report.daysLeft ?? Infinity) ? report.chainEndsAt : undefined;
      const fields = { threshold, daysLeft, notAfter: chainFirst?.notAfter ?? report.notAfter, sha256: report.leaf?.sha256, hierarchy: report.hierarchy, ...(chainFirst ? { chainEndsFirst: chainFirst.certificate } : {}) };
      const why = chainFirst ? `'${chainFirst.certificate}' in its chain expires before it does` : 'it expires';
      log.warn('cert.expiring', fields, `the client certificate stops working in ${daysLeft} day(s) (${why}); ${step.log}`);
      store.transaction(() => {
        store.audit.append({ event: 'cert.expiring', outcome: 'warning', detail: fields });
        const certificate = { subject: report.leaf?.subject, sha256: report.leaf?.sha256, hierarchy: report.hierarchy, notAfter: fields.notAfter, daysLeft };
        queueAlert({ store, config, now }, certificateExpiringAlert(threshold, certificate, step.mail));
      });
    },
  });

  return async () => {
    await rollover?.check();
    const report = rollover ? rollover.inUseReport : inspectClientCertificate(config.tls, certificateOin(config), now());
    if (!report.usable) {
      for (const p of report.problems) log.error('cert.unusable', { code: p.code, message: p.message, advice: p.advice });
      store.audit.append({ event: 'cert.unusable', outcome: 'failed', detail: { problems: report.problems.map((p) => p.code) } });
    }
    await watcher.check(report);
  };
}
