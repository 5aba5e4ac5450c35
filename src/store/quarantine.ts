/** Feed items that failed validation: kept whole, with the reason, until reprocessed. */
import type { Db } from './database.js';

export interface QuarantinedRecord {
  id: number;
  received_at: string;
  meldingsnummer: string | null;
  volgnummer: number | null;
  reason: string;
  payload: string;
  state: 'open' | 'processed';
  processed_at: string | null;
  gemeentecode: string | null;
  /** The gemeente whose feed brought the record (gemeentecode is whose pupil it names, if it says). */
  feed_gemeentecode: string | null;
  /** 1 when quarantined, one more for each `quarantine retry` that failed again. */
  attempts: number;
  last_attempt_at: string | null;
}

export class Quarantine {
  constructor(private readonly db: Db) {}

  /** `item.raw` is kept exactly as received; `item.value` (its reading) only names it. */
  add(feedGemeentecode: string, item: { value: unknown; raw: string }, reason: string, receivedAt: Date): QuarantinedRecord {
    const { meldingsnummer, volgnummer, gemeentecode } = identify(item.value);
    const result = this.db
      .prepare('INSERT INTO quarantine (received_at, meldingsnummer, volgnummer, reason, payload, gemeentecode, feed_gemeentecode) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(receivedAt.toISOString(), meldingsnummer, volgnummer, reason, item.raw, gemeentecode, feedGemeentecode);
    return this.db.prepare('SELECT * FROM quarantine WHERE id = ?').get(result.lastInsertRowid) as QuarantinedRecord;
  }

  list(state: 'open' | 'processed' | 'all' = 'open', feedGemeentecode?: string): QuarantinedRecord[] {
    const where: string[] = [];
    const args: string[] = [];
    if (state !== 'all') {
      where.push('state = ?');
      args.push(state);
    }
    if (feedGemeentecode !== undefined) {
      where.push('feed_gemeentecode = ?');
      args.push(feedGemeentecode);
    }
    return this.db.prepare(`SELECT * FROM quarantine ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`).all(...args) as QuarantinedRecord[];
  }

  /** A retry that failed again: the same record, counted, with the reason it fails for now. */
  retryFailed(id: number, reason: string, at: Date): QuarantinedRecord {
    this.db.prepare('UPDATE quarantine SET attempts = attempts + 1, last_attempt_at = ?, reason = ? WHERE id = ?').run(at.toISOString(), reason, id);
    return this.db.prepare('SELECT * FROM quarantine WHERE id = ?').get(id) as QuarantinedRecord;
  }

  markProcessed(id: number, at: Date): void {
    this.db.prepare(`UPDATE quarantine SET state = 'processed', processed_at = ? WHERE id = ?`).run(at.toISOString(), id);
  }

  countOpen(feedGemeentecode?: string): number {
    return (feedGemeentecode === undefined
      ? this.db.prepare(`SELECT COUNT(*) FROM quarantine WHERE state = 'open'`).pluck().get()
      : this.db.prepare(`SELECT COUNT(*) FROM quarantine WHERE state = 'open' AND feed_gemeentecode = ?`).pluck().get(feedGemeentecode)) as number;
  }
}

/** The ids of a record that may be malformed: only what is there and has the right shape. */
function identify(item: unknown): { meldingsnummer: string | null; volgnummer: number | null; gemeentecode: string | null } {
  if (item === null || typeof item !== 'object') return { meldingsnummer: null, volgnummer: null, gemeentecode: null };
  const record = item as Record<string, unknown>;
  const nr = record.meldingsnummer;
  const vn = record.volgnummer;
  return {
    meldingsnummer: typeof nr === 'string' && /^[0-9]{1,12}$/.test(nr) ? nr : null,
    volgnummer: typeof vn === 'number' && Number.isSafeInteger(vn) ? vn : null,
    // Whose pupil it is decides how long the record may stay (retention.quarantineDays).
    gemeentecode: typeof record.gemeentecode === 'string' && /^[0-9]{4}$/.test(record.gemeentecode) ? record.gemeentecode : null,
  };
}
