/**
 * The outbox: every mail the relay owes someone, with its delivery state.
 * Nothing about delivery lives only in memory.
 */
import type { Db } from './database.js';

export type MailState = 'pending' | 'sending' | 'sent' | 'deferred' | 'dead';
export type OutboxKind = 'Nieuw' | 'Gewijzigd' | 'Ingetrokken' | 'alert';

export interface OutboxRow {
  id: number;
  message_id: string;
  kind: OutboxKind;
  meldingsnummer: string | null;
  volgnummer: number | null;
  mutation_id: number | null;
  instance: string | null;
  recipient: string;
  changes: string | null;
  alert: string | null;
  state: MailState;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  last_error: string | null;
  sent_at: string | null;
  smtp_response: string | null;
}

export interface NewMail {
  messageId: string;
  kind: OutboxKind;
  meldingsnummer?: string;
  volgnummer?: number;
  mutationId?: number;
  instance?: string;
  recipient: string;
  changes?: unknown;
  alert?: unknown;
  createdAt: Date;
}

export class Outbox {
  constructor(private readonly db: Db) {}

  /** Queues a mail; a mail with the same Message-ID (the same melding, volgnummer, instance and kind) is queued once. */
  enqueue(mail: NewMail): number | null {
    const at = mail.createdAt.toISOString();
    const result = this.db
      .prepare(`INSERT OR IGNORE INTO outbox
        (message_id, kind, meldingsnummer, volgnummer, mutation_id, instance, recipient, changes, alert, state, created_at, next_attempt_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`)
      .run(
        mail.messageId,
        mail.kind,
        mail.meldingsnummer ?? null,
        mail.volgnummer ?? null,
        mail.mutationId ?? null,
        mail.instance ?? null,
        mail.recipient,
        mail.changes === undefined ? null : JSON.stringify(mail.changes),
        mail.alert === undefined ? null : JSON.stringify(mail.alert),
        at,
        at,
      );
    return result.changes === 1 ? Number(result.lastInsertRowid) : null;
  }

  /** A mail left in `sending` by a crash may or may not have left: send it again (same Message-ID). */
  resetInterrupted(): number {
    return this.db.prepare(`UPDATE outbox SET state = 'pending' WHERE state = 'sending'`).run().changes;
  }

  /**
   * Mails due now, oldest first. A mail waits while an earlier mutation's mail
   * about the same melding is still on its way, so an Ingetrokken never
   * overtakes the Nieuw it withdraws.
   */
  due(now: Date, limit = 500): OutboxRow[] {
    return this.db
      .prepare(`SELECT * FROM outbox o
        WHERE o.state IN ('pending', 'deferred') AND o.next_attempt_at <= ?
          AND NOT EXISTS (
            SELECT 1 FROM outbox e
            WHERE o.meldingsnummer IS NOT NULL AND e.meldingsnummer = o.meldingsnummer
              AND e.volgnummer < o.volgnummer AND e.state IN ('pending', 'sending', 'deferred'))
        ORDER BY o.id LIMIT ?`)
      .all(now.toISOString(), limit) as OutboxRow[];
  }

  get(id: number): OutboxRow | undefined {
    return this.db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxRow | undefined;
  }

  markSending(id: number): void {
    this.db.prepare(`UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?`).run(id);
  }

  markSent(id: number, response: string, at: Date): void {
    this.db
      .prepare(`UPDATE outbox SET state = 'sent', sent_at = ?, smtp_response = ?, last_error = NULL WHERE id = ?`)
      .run(at.toISOString(), response, id);
  }

  markDeferred(id: number, error: string, nextAttempt: Date): void {
    this.db
      .prepare(`UPDATE outbox SET state = 'deferred', last_error = ?, next_attempt_at = ? WHERE id = ?`)
      .run(error, nextAttempt.toISOString(), id);
  }

  markDead(id: number, error: string): void {
    this.db.prepare(`UPDATE outbox SET state = 'dead', last_error = ? WHERE id = ?`).run(error, id);
  }

  /** Puts dead mails back in the queue, due now, with a fresh age (so maxAgeHours counts from the retry). */
  requeue(ids: number[] | 'all-dead', now: Date): number[] {
    const rows = (ids === 'all-dead'
      ? this.db.prepare(`SELECT id FROM outbox WHERE state = 'dead' ORDER BY id`).pluck().all()
      : ids.filter((id) => this.db.prepare(`SELECT 1 FROM outbox WHERE id = ? AND state IN ('dead', 'deferred')`).get(id) !== undefined)) as number[];
    const update = this.db.prepare(`UPDATE outbox SET state = 'pending', next_attempt_at = ?, created_at = ?, attempts = 0 WHERE id = ?`);
    for (const id of rows) update.run(now.toISOString(), now.toISOString(), id);
    return rows;
  }

  list(filter: { state?: MailState; meldingsnummer?: string } = {}): OutboxRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) {
      where.push('state = ?');
      args.push(filter.state);
    }
    if (filter.meldingsnummer) {
      where.push('meldingsnummer = ?');
      args.push(filter.meldingsnummer);
    }
    return this.db
      .prepare(`SELECT * FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`)
      .all(...args) as OutboxRow[];
  }

  countByState(): Record<MailState, number> {
    const counts: Record<MailState, number> = { pending: 0, sending: 0, sent: 0, deferred: 0, dead: 0 };
    for (const row of this.db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all() as { state: MailState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }
}
