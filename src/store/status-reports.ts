/** Status changes the relay owes ROD (rod.reportStatus), kept until ROD has answered. */
import type { Db } from './database.js';

export interface StatusReportRow {
  gemeentecode: string;
  meldingsnummer: string;
  status: string;
  state: 'pending' | 'done' | 'conflict';
  attempts: number;
  last_error: string | null;
}

export class StatusReports {
  constructor(private readonly db: Db) {}

  request(gemeentecode: string, meldingsnummer: string, status: string, now: Date): boolean {
    return (
      this.db
        .prepare(`INSERT OR IGNORE INTO status_reports (gemeentecode, meldingsnummer, status, state, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?)`)
        .run(gemeentecode, meldingsnummer, status, now.toISOString(), now.toISOString()).changes === 1
    );
  }

  /** Pending reports, of one gemeente when given (each is reported with that gemeente's OIN). */
  pending(gemeentecode?: string): StatusReportRow[] {
    return (gemeentecode === undefined
      ? this.db.prepare(`SELECT * FROM status_reports WHERE state = 'pending' ORDER BY created_at`).all()
      : this.db.prepare(`SELECT * FROM status_reports WHERE state = 'pending' AND gemeentecode = ? ORDER BY created_at`).all(gemeentecode)) as StatusReportRow[];
  }

  settle(gemeentecode: string, meldingsnummer: string, state: 'done' | 'conflict', now: Date): void {
    this.db
      .prepare(`UPDATE status_reports SET state = ?, attempts = attempts + 1, updated_at = ?, last_error = NULL WHERE gemeentecode = ? AND meldingsnummer = ?`)
      .run(state, now.toISOString(), gemeentecode, meldingsnummer);
  }

  failed(gemeentecode: string, meldingsnummer: string, error: string, now: Date): void {
    this.db
      .prepare(`UPDATE status_reports SET attempts = attempts + 1, updated_at = ?, last_error = ? WHERE gemeentecode = ? AND meldingsnummer = ?`)
      .run(now.toISOString(), error, gemeentecode, meldingsnummer);
  }
}
