/** Which certificate expiry thresholds have already been warned about: once each, across restarts. */
import type { Db } from './database.js';

export class CertAlerts {
  constructor(private readonly db: Db) {}

  firedThresholds(certSha256: string): number[] {
    return this.db.prepare('SELECT threshold FROM cert_alerts WHERE cert_sha256 = ? ORDER BY threshold DESC').pluck().all(certSha256) as number[];
  }

  recordThreshold(certSha256: string, threshold: number, at: Date): void {
    this.db
      .prepare('INSERT OR IGNORE INTO cert_alerts (cert_sha256, threshold, fired_at) VALUES (?, ?, ?)')
      .run(certSha256, threshold, at.toISOString());
  }
}
