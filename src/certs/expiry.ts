/**
 * The daemon's daily look at the client certificate's expiry. Renewal takes weeks (TSP, then DUO's
 * registration), so warnings start early and repeat at fixed thresholds, each threshold once per
 * certificate: a new certificate (new SHA-256) starts with a clean slate.
 */
import type { CertificateReport } from './inspect.js';

/** Days before expiry at which the administrator hears about it, besides tls.expiryWarningDays. */
export const EXPIRY_THRESHOLDS = [30, 14, 7, 1];

/** Every threshold (tls.expiryWarningDays and the fixed ones) that `daysLeft` has reached, highest first. */
export function crossedThresholds(daysLeft: number, expiryWarningDays: number): number[] {
  const all = [...new Set([expiryWarningDays, ...EXPIRY_THRESHOLDS])].sort((a, b) => b - a);
  return all.filter((t) => daysLeft <= t);
}

/** Which thresholds already fired, per certificate; the daemon keeps this in SQLite. */
export interface ExpiryAlertStore {
  firedThresholds(certSha256: string): number[];
  recordThreshold(certSha256: string, threshold: number, at: Date): void;
}

export interface ExpiryWatcherDeps {
  store: ExpiryAlertStore;
  now: () => Date;
  /** The daemon logs, audits and mails. */
  warn: (threshold: number, report: CertificateReport) => void | Promise<void>;
  expiryWarningDays: number;
}

export class ExpiryWatcher {
  constructor(private readonly deps: ExpiryWatcherDeps) {}

  /**
   * Warns about the thresholds newly crossed since the last check and returns those warned about.
   *
   * When several are crossed at once (the relay was down for a while, or it first starts with a
   * certificate that has 5 days left), only the lowest one fires: one mail saying "5 days left" tells
   * the administrator everything, four mails at once would not tell more. All of them are recorded,
   * so none fires later. They are recorded only after `warn` succeeded: a warning that could not be
   * given is tried again at the next check (and `check` rejects with warn's error).
   */
  async check(report: CertificateReport): Promise<number[]> {
    const sha256 = report.leaf?.sha256;
    if (sha256 === undefined || report.daysLeft === undefined) return [];
    const fired = new Set(this.deps.store.firedThresholds(sha256));
    const fresh = crossedThresholds(effectiveDaysLeft(report)!, this.deps.expiryWarningDays).filter((t) => !fired.has(t));
    if (fresh.length === 0) return [];
    const lowest = fresh[fresh.length - 1]!;
    await this.deps.warn(lowest, report);
    const at = this.deps.now();
    for (const t of fresh) this.deps.store.recordThreshold(sha256, t, at);
    return [lowest];
  }
}

/** Days until the certificate stops working: its own notAfter, or earlier when a CA in its chain ends first. */
export function effectiveDaysLeft(report: Pick<CertificateReport, 'daysLeft' | 'chainEndsAt'>): number | undefined {
  if (report.daysLeft === undefined) return undefined;
  return report.chainEndsAt ? Math.min(report.daysLeft, report.chainEndsAt.daysLeft) : report.daysLeft;
}
