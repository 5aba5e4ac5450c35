/** Status changes the relay owes ROD (rod.reportStatus), kept until ROD has answered. */
import type { Db } from './database.js';

export interface StatusReportRow {
  meldingsnummer: string;
  status: string;
  state: 'pending' | 'done' | 'conflict';
  attempts: number;
  last_error: string | null;
}

export class StatusReports {
  constructor(private readonly db: Db) {}

  request(meldingsnummer: string, status: string, now: Date): boolean {
    return (
      this.db
        .prepare(`INSERT OR IGNORE INTO status_reports (meldingsnummer, status, state, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`)
        .run(meldingsnummer, status, now.toISOString(), now.toISOString()).changes === 1
    );
  }

  pending(): StatusReportRow[] {
    return this.db.prepare(`SELECT * FROM status_reports WHERE state = 'pending' ORDER BY created_at`).all() as StatusReportRow[];
  }

  settle(meldingsnummer: string, state: 'done' | 'conflict', now: Date): void {
    this.db
      .prepare(`UPDATE status_reports SET state = ?, attempts = attempts + 1, updated_at = ?, last_error = NULL WHERE meldingsnummer = ?`)
      .run(state, now.toISOString(), meldingsnummer);
  }

  failed(meldingsnummer: string, error: string, now: Date): void {
    this.db
      .prepare(`UPDATE status_reports SET attempts = attempts + 1, updated_at = ?, last_error = ? WHERE meldingsnummer = ?`)
      .run(now.toISOString(), error, meldingsnummer);
  }
}
