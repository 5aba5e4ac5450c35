/**
 * The audit log: one row per thing the relay did, append-only and hash-chained
 * so that `audit verify` can tell whether rows were altered or removed. It
 * holds ids and outcomes, never personal data.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../store/database.js';

export interface AuditEntry {
  event: string;
  outcome: 'ok' | 'failed' | 'ignored' | 'warning' | 'info';
  meldingsnummer?: string | null;
  volgnummer?: number | null;
  instance?: string | null;
  kind?: string | null;
  outboxId?: number | null;
  cycleId?: number | null;
  detail?: Record<string, unknown> | null;
}

export interface AuditRow {
  id: number;
  at: string;
  event: string;
  outcome: string;
  meldingsnummer: string | null;
  volgnummer: number | null;
  instance: string | null;
  kind: string | null;
  outbox_id: number | null;
  cycle_id: number | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export function auditHash(prevHash: string, row: Omit<AuditRow, 'id' | 'prev_hash' | 'hash'>): string {
  const canonical = JSON.stringify([
    row.at,
    row.event,
    row.outcome,
    row.meldingsnummer,
    row.volgnummer,
    row.instance,
    row.kind,
    row.outbox_id,
    row.cycle_id,
    row.detail,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

export class AuditLog {
  private readonly lastHash;
  private readonly insert;

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.lastHash = db.prepare('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1').pluck();
    this.insert = db.prepare(`INSERT INTO audit_log
      (at, event, outcome, meldingsnummer, volgnummer, instance, kind, outbox_id, cycle_id, detail, prev_hash, hash)
      VALUES (@at, @event, @outcome, @meldingsnummer, @volgnummer, @instance, @kind, @outbox_id, @cycle_id, @detail, @prev_hash, @hash)`);
  }

  /** Appends inside the caller's transaction when there is one, else in its own (immediate, so two processes cannot fork the chain). */
  append(entry: AuditEntry): void {
    const write = () => {
      const row = {
        at: this.now().toISOString(),
        event: entry.event,
        outcome: entry.outcome,
        meldingsnummer: entry.meldingsnummer ?? null,
        volgnummer: entry.volgnummer ?? null,
        instance: entry.instance ?? null,
        kind: entry.kind ?? null,
        outbox_id: entry.outboxId ?? null,
        cycle_id: entry.cycleId ?? null,
        detail: entry.detail ? JSON.stringify(entry.detail) : null,
      };
      const prev_hash = (this.lastHash.get() as string | undefined) ?? GENESIS_HASH;
      this.insert.run({ ...row, prev_hash, hash: auditHash(prev_hash, row) });
    };
    if (this.db.inTransaction) write();
    else this.db.transaction(write).immediate();
  }

  /** Walks the chain; returns the first row that does not fit, or null when intact. */
  verify(): { rows: number; brokenAt: number | null; reason?: string } {
    let prev = GENESIS_HASH;
    let rows = 0;
    let lastId = 0;
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as IterableIterator<AuditRow>) {
      rows++;
      if (row.prev_hash !== prev) return { rows, brokenAt: row.id, reason: `row ${row.id} does not follow row ${lastId} (a row was removed or changed)` };
      if (auditHash(row.prev_hash, row) !== row.hash) return { rows, brokenAt: row.id, reason: `row ${row.id} was altered after it was written` };
      prev = row.hash;
      lastId = row.id;
    }
    return { rows, brokenAt: null };
  }

  since(isoDate: string | undefined): IterableIterator<AuditRow> {
    return (isoDate
      ? this.db.prepare('SELECT * FROM audit_log WHERE at >= ? ORDER BY id').iterate(isoDate)
      : this.db.prepare('SELECT * FROM audit_log ORDER BY id').iterate()) as IterableIterator<AuditRow>;
  }

  forMelding(meldingsnummer: string): AuditRow[] {
    return this.db.prepare('SELECT * FROM audit_log WHERE meldingsnummer = ? ORDER BY id').all(meldingsnummer) as AuditRow[];
  }
}
