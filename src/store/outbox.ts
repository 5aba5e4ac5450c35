/**
 * The outbox: every mail the relay owes someone, with its delivery state.
 * Nothing about delivery lives only in memory.
 */
import type { AuditEntry, AuditLog } from '../audit/audit-log.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';
import { MAIL_STATES, sqlList, TRANSITIONS, type MailState, type TransitionName } from './mail-states.js';

export type { MailState } from './mail-states.js';
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
  /** The gemeente whose mail it is (its instances, its name); null for an alert about the whole relay. */
  gemeentecode: string | null;
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
  gemeentecode?: string | null;
}

/** A mail on its way: a later mail about the same melding waits for it. */
const UNFINISHED: readonly MailState[] = ['pending', 'sending', 'deferred'];

/**
 * Every change of a mail's state goes through a named transition (see
 * mail-states.ts) that applies only from the states it leaves, so a mail
 * another process or an earlier step already moved is never moved twice, and
 * reports whether it applied.
 */
export class Outbox {
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  /** Queues a mail; a mail with the same Message-ID (the same melding, volgnummer, instance and kind) is queued once. */
  enqueue(mail: NewMail): number | null {
    const at = mail.createdAt.toISOString();
    const result = this
      .cached(`INSERT OR IGNORE INTO outbox
        (message_id, kind, meldingsnummer, volgnummer, mutation_id, instance, recipient, changes, alert, state, created_at, next_attempt_at, gemeentecode)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`)
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
        mail.gemeentecode ?? null,
      );
    return result.changes === 1 ? Number(result.lastInsertRowid) : null;
  }

  /**
   * Mails due now, oldest first, with an id above `after` (the delivery
   * worker walks the outbox in batches). A mail waits while an earlier
   * mutation's mail about the same melding is still on its way, so an
   * Ingetrokken never overtakes the Nieuw it withdraws, and a list never
   * holds two volgnummers of one melding.
   */
  due(now: Date, limit = 500, after = 0, upTo = Number.MAX_SAFE_INTEGER): OutboxRow[] {
    // NOT INDEXED: walk the table in id order from `after` and stop at the
    // limit. Through the state index SQLite listed every due mail and sorted
    // them for each batch: over a backlog of 190,000 mails, a second a batch.
    return this.cached(`SELECT * FROM outbox o NOT INDEXED
        WHERE o.id > ? AND o.id <= ? AND o.state IN (${sqlList(TRANSITIONS.claim.from)}) AND o.next_attempt_at <= ?
          AND NOT EXISTS (
            SELECT 1 FROM outbox e
            WHERE o.meldingsnummer IS NOT NULL AND e.meldingsnummer = o.meldingsnummer AND e.gemeentecode IS o.gemeentecode
              AND e.volgnummer < o.volgnummer AND e.state IN (${sqlList(UNFINISHED)}))
        ORDER BY o.id LIMIT ?`).all(after, upTo, now.toISOString(), limit) as OutboxRow[];
  }

  /** The lowest id of a mail due now, through the state index; undefined when none is: where a delivery pass starts. */
  firstDueId(now: Date): number | undefined {
    const id = this.cached(`SELECT MIN(id) FROM outbox WHERE state IN (${sqlList(TRANSITIONS.claim.from)}) AND next_attempt_at <= ?`).pluck().get(now.toISOString()) as number | null;
    return id ?? undefined;
  }

  /** The highest id queued so far (0 when none): where a delivery pass ends. */
  lastId(): number {
    return (this.cached('SELECT MAX(id) FROM outbox').pluck().get() as number | null) ?? 0;
  }

  get(id: number): OutboxRow | undefined {
    return this.cached('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxRow | undefined;
  }

  /**
   * Takes a due mail for an attempt: pending or deferred → sending, one more
   * attempt counted. Not audited on purpose: the attempt's outcome is
   * (complete, defer, bury), and an attempt cut off by a crash is audited
   * when the next start resumes it.
   */
  claim(row: OutboxRow): boolean {
    return this.move(row.id, 'claim', {}, { countAttempt: true });
  }

  /**
   * sending → pending, the claim's attempt not counted: a mail claimed in a
   * batch that a stop kept from being offered to SMTP at all. Not audited,
   * like the claim it undoes.
   */
  release(row: OutboxRow): boolean {
    return this.move(row.id, 'release', {}, { uncountAttempt: true });
  }

  /** sending → sent, with the SMTP relay's answer and the address it went to (the configured one, which may differ from the queued one); audited as mail.sent. */
  complete(row: OutboxRow, outcome: { response: string; at: Date; cycleId: number | null; recipient?: string }): boolean {
    return this.transition(row, 'complete', { sent_at: outcome.at.toISOString(), smtp_response: outcome.response, last_error: null }, {
      event: 'mail.sent',
      outcome: 'ok',
      cycleId: outcome.cycleId,
      detail: { response: outcome.response.slice(0, 200), attempt: row.attempts + 1, recipient: outcome.recipient ?? row.recipient },
    });
  }

  /** sending → deferred until nextAttempt after a temporary failure; audited as mail.deferred. */
  defer(row: OutboxRow, failure: { error: string; nextAttempt: Date; attempts: number; responseCode?: number; cycleId: number | null }): boolean {
    return this.transition(row, 'defer', { last_error: failure.error, next_attempt_at: failure.nextAttempt.toISOString() }, {
      event: 'mail.deferred',
      outcome: 'failed',
      cycleId: failure.cycleId,
      detail: { error: failure.error, attempts: failure.attempts, nextAttemptAt: failure.nextAttempt.toISOString(), responseCode: failure.responseCode },
    });
  }

  /** → dead: given up (a permanent refusal, too old, or a mail that cannot be composed); audited as mail.dead. */
  bury(row: OutboxRow, failure: { error: string; attempts?: number; responseCode?: number; cycleId: number | null }): boolean {
    const detail = failure.attempts === undefined ? { error: failure.error } : { error: failure.error, attempts: failure.attempts, responseCode: failure.responseCode };
    return this.transition(row, 'bury', { last_error: failure.error }, { event: 'mail.dead', outcome: 'failed', cycleId: failure.cycleId, detail });
  }

  /**
   * Puts dead (or deferred) mails back in the queue, due now, with a fresh age
   * (so maxAgeHours counts from the retry); each audited as mail.requeued.
   * Returns the ids that were requeued: an id that is not dead or deferred is not.
   */
  requeue(ids: number[] | 'all-dead', now: Date): number[] {
    const candidates = ids === 'all-dead' ? (this.db.prepare(`SELECT id FROM outbox WHERE state = 'dead' ORDER BY id`).pluck().all() as number[]) : ids;
    return this.db.transaction(() =>
      candidates.filter((id) => {
        const row = this.get(id);
        if (!row) return false;
        const at = now.toISOString();
        return this.transition(row, 'requeue', { next_attempt_at: at, created_at: at, attempts: 0 }, { event: 'mail.requeued', outcome: 'ok', cycleId: null });
      }),
    )();
  }

  /**
   * At start: a mail still `sending` was handed to SMTP by a process that
   * stopped before recording the answer. It may or may not have left, so it
   * is sent again with the same Message-ID; each audited as mail.resumed.
   */
  resumeInterrupted(): number {
    const rows = this.db.prepare(`SELECT * FROM outbox WHERE state IN (${sqlList(TRANSITIONS.resume.from)}) ORDER BY id`).all() as OutboxRow[];
    return this.db.transaction(() => rows.filter((row) => this.transition(row, 'resume', {}, { event: 'mail.resumed', outcome: 'info', cycleId: null })).length)();
  }

  /** A transition and its audit row, in one transaction; false (and no audit row) when the mail was not in a state the transition leaves. */
  private transition(row: OutboxRow, name: TransitionName, set: Record<string, string | number | null>, audit: Omit<AuditEntry, 'meldingsnummer' | 'volgnummer' | 'instance' | 'kind' | 'outboxId'>): boolean {
    return this.db.transaction(() => {
      if (!this.move(row.id, name, set)) return false;
      this.audit.append({ ...audit, meldingsnummer: row.meldingsnummer, volgnummer: row.volgnummer, instance: row.instance, kind: row.kind, outboxId: row.id, gemeentecode: row.gemeentecode });
      return true;
    })();
  }

  /** The conditional UPDATE: applies only while the mail is in one of the states the transition leaves. */
  private move(id: number, name: TransitionName, set: Record<string, string | number | null>, options: { countAttempt?: boolean; uncountAttempt?: boolean } = {}): boolean {
    const { from, to } = TRANSITIONS[name];
    // Column names come from this file, never from input; values are bound.
    const assignments = ['state = @to', ...Object.keys(set).map((column) => `${column} = @${column}`)];
    if (options.countAttempt) assignments.push('attempts = attempts + 1');
    if (options.uncountAttempt) assignments.push('attempts = MAX(attempts - 1, 0)');
    const sql = `UPDATE outbox SET ${assignments.join(', ')} WHERE id = @id AND state IN (${sqlList(from)})`;
    return this.cached(sql).run({ ...set, to, id }).changes === 1;
  }

  /** A handful of distinct statements, each run once per mail or batch: prepare each once. */
  private cached(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  list(filter: { state?: MailState; meldingsnummer?: string; gemeentecode?: string } = {}): OutboxRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.gemeentecode) {
      where.push('gemeentecode = ?');
      args.push(filter.gemeentecode);
    }
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

  countByState(gemeentecode?: string): Record<MailState, number> {
    const counts = Object.fromEntries(MAIL_STATES.map((state) => [state, 0])) as Record<MailState, number>;
    const rows = gemeentecode === undefined
      ? this.db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all()
      : this.db.prepare('SELECT state, COUNT(*) AS n FROM outbox WHERE gemeentecode = ? GROUP BY state').all(gemeentecode);
    for (const row of rows as { state: MailState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }
}
