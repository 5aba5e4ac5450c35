/**
 * The audit log: one row per thing the relay did, append-only and hash-chained
 * so that `audit verify` can tell whether rows were altered or removed. It
 * holds ids and outcomes, never personal data.
 */
import { hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
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
  /** The gemeente the row is about; none for what concerns the whole relay (a cycle, the certificate). */
  gemeentecode?: string | null;
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
  /** Null in rows written before several gemeenten (see legacy_gemeente) and in relay-wide rows. */
  gemeentecode?: string | null;
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
    // Only when there is one, so rows written before the column existed keep their hashes.
    ...(row.gemeentecode !== null && row.gemeentecode !== undefined ? [row.gemeentecode] : []),
  ]);
  // One-shot: the same bytes as hashing prevHash, '\n' and canonical in turn, without a Hash object per row.
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}

/** The last row the relay knows it wrote, kept outside the table. */
export interface AuditHead {
  id: number;
  hash: string;
}

export interface AuditVerification {
  rows: number;
  /** The first row that does not fit, the row the head names when the log was cut short; null when intact. */
  brokenAt: number | null;
  truncated?: boolean;
  reason?: string;
}

export interface AuditLogOptions {
  /**
   * The head file (`<db>.audit-head`): the id and hash of the last row,
   * rewritten (atomically, 0600) after each commit that appended. Without it a
   * chain can be cut short, or rewritten and rehashed, and still walk cleanly;
   * with it, that is found unless the head file is rewritten too. Whoever can
   * write both files can still forge the log: keep backups of the head file
   * elsewhere if that matters.
   */
  headFile?: string;
  /** Called when the head file could not be written; the relay goes on. */
  onHeadError?: (err: Error) => void;
}

/** The event of the row that records the head file was first written: from then on its absence is a break. */
export const ANCHORED_EVENT = 'audit.anchored';
/** The event of the row that records a break found at start. */
export const BROKEN_EVENT = 'audit.broken';

export class AuditLog {
  private readonly lastHash;
  private readonly insert;
  private readonly withGemeente: boolean;
  private headPending = false;
  /** The hash of the row last appended, while a caller's `chained` block runs; read from the table otherwise. */
  private tip: string | undefined;
  private chaining = false;

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
    private readonly options: AuditLogOptions = {},
  ) {
    this.lastHash = db.prepare('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1').pluck();
    // A file not yet migrated to several gemeenten (a test writing as an older version did) has no gemeentecode column.
    const withGemeente = (this.withGemeente = db.prepare(`SELECT 1 FROM pragma_table_info('audit_log') WHERE name = 'gemeentecode'`).get() !== undefined);
    // Positional parameters: binding by name looks every name up in an object, for a row appended twice per mutation.
    this.insert = db.prepare(`INSERT INTO audit_log
      (at, event, outcome, meldingsnummer, volgnummer, instance, kind, outbox_id, cycle_id, detail, ${withGemeente ? 'gemeentecode, ' : ''}prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${withGemeente ? '?, ' : ''}?, ?)`);
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
        gemeentecode: entry.gemeentecode ?? null,
      };
      const prev_hash = (this.chaining ? this.tip : undefined) ?? (this.lastHash.get() as string | undefined) ?? GENESIS_HASH;
      const rowHash = auditHash(prev_hash, row);
      const { at, event, outcome, meldingsnummer, volgnummer, instance, kind, outbox_id, cycle_id, detail, gemeentecode } = row;
      if (this.withGemeente) this.insert.run(at, event, outcome, meldingsnummer, volgnummer, instance, kind, outbox_id, cycle_id, detail, gemeentecode, prev_hash, rowHash);
      else this.insert.run(at, event, outcome, meldingsnummer, volgnummer, instance, kind, outbox_id, cycle_id, detail, prev_hash, rowHash);
      if (this.chaining) this.tip = rowHash;
    };
    if (this.db.inTransaction) {
      // The head may only name a row that is committed: better-sqlite3's
      // transactions are synchronous, so by the next microtask the caller's
      // transaction has committed (or rolled back, and the head stays put).
      if (this.options.headFile && !this.headPending) {
        this.headPending = true;
        queueMicrotask(() => this.flushHead());
      }
    } else {
      this.db.transaction(write).immediate();
      this.flushHead();
      return;
    }
    write();
  }

  /**
   * Runs fn, which must be inside the caller's transaction, keeping the hash of
   * the last row in memory between its appends instead of reading it back for
   * each row (a page of 500 mutations appends about a thousand). Only this
   * process writes within the transaction, so the kept hash is the table's
   * last one for as long as fn runs, unless fn rolls back part of its work: fn
   * must not catch the failure of a nested transaction (a savepoint) and go on
   * appending. The kept hash is forgotten when fn ends, however it ends, so a
   * rollback of the whole transaction leaves nothing behind.
   */
  chained<T>(fn: () => T): T {
    if (!this.db.inTransaction) throw new Error('AuditLog.chained runs inside a transaction only');
    if (this.chaining) return fn();
    this.chaining = true;
    try {
      return fn();
    } finally {
      this.chaining = false;
      this.tip = undefined;
    }
  }

  /** Writes the head file from the last committed row. Also called on close. */
  flushHead(): void {
    this.headPending = false;
    const file = this.options.headFile;
    if (!file || !this.db.open || this.db.readonly) return;
    if (this.db.inTransaction) {
      this.headPending = true;
      setImmediate(() => this.flushHead());
      return;
    }
    try {
      const last = this.db.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as AuditHead | undefined;
      if (last) writeHeadFile(file, last);
    } catch (err) {
      this.options.onHeadError?.(err as Error);
    }
  }

  /** The head file's record; 'missing' when there is none, an error text when it cannot be read. */
  readHead(): AuditHead | 'missing' | 'none' | { unreadable: string } {
    const file = this.options.headFile;
    if (!file) return 'none';
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      return { unreadable: (err as Error).message };
    }
    try {
      const head = JSON.parse(text) as Partial<AuditHead>;
      if (Number.isSafeInteger(head.id) && typeof head.hash === 'string' && /^[0-9a-f]{64}$/.test(head.hash)) return { id: head.id!, hash: head.hash };
    } catch {
      // falls through to the same answer as a wrong shape
    }
    return { unreadable: 'it does not hold {"id", "hash"}' };
  }

  /** Whether the head file was ever anchored (an audit.anchored row exists). */
  wasAnchored(): boolean {
    return this.db.prepare('SELECT 1 FROM audit_log WHERE event = ? LIMIT 1').get(ANCHORED_EVENT) !== undefined;
  }

  /**
   * Walks the chain and compares its end with the head file; returns the
   * first row that does not fit, or null when intact. `tail`: only from the
   * row the head names on (what the relay checks at every start).
   */
  verify(options: { tail?: boolean } = {}): AuditVerification {
    const head = this.readHead();
    const headName = this.options.headFile ? path.basename(this.options.headFile) : 'the head file';
    if (typeof head === 'object' && 'unreadable' in head) {
      return { rows: 0, brokenAt: null, truncated: true, reason: `the head file ${this.options.headFile} cannot be read (${head.unreadable}): the end of the log cannot be checked` };
    }
    if (head === 'missing' && this.wasAnchored()) {
      return { rows: 0, brokenAt: null, truncated: true, reason: `the head file ${this.options.headFile} is missing although the log was anchored: the log may have been truncated or replaced` };
    }
    const anchor = typeof head === 'object' ? head : undefined;

    let prev = GENESIS_HASH;
    let lastId = 0;
    let rows = 0;
    let anchorSeen = false;
    let iterate: IterableIterator<AuditRow>;
    if (options.tail && anchor) {
      const at = this.db.prepare('SELECT * FROM audit_log WHERE id = ?').get(anchor.id) as AuditRow | undefined;
      if (!at) return this.missingAnchor(anchor, headName, rows);
      if (at.hash !== anchor.hash || auditHash(at.prev_hash, at) !== at.hash) {
        return { rows: 1, brokenAt: at.id, reason: `row ${at.id} does not match ${headName} (the log was rewritten up to there)` };
      }
      prev = at.hash;
      lastId = at.id;
      rows = 1;
      anchorSeen = true;
      iterate = this.db.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id').iterate(anchor.id) as IterableIterator<AuditRow>;
    } else {
      iterate = this.db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as IterableIterator<AuditRow>;
    }
    let recordedBreak: AuditRow | undefined;
    for (const row of iterate) {
      rows++;
      if (row.prev_hash !== prev) return { rows, brokenAt: row.id, reason: `row ${row.id} does not follow row ${lastId} (a row was removed or changed)` };
      if (auditHash(row.prev_hash, row) !== row.hash) return { rows, brokenAt: row.id, reason: `row ${row.id} was altered after it was written` };
      if (anchor && row.id === anchor.id) {
        anchorSeen = true;
        if (row.hash !== anchor.hash) return { rows, brokenAt: row.id, reason: `row ${row.id} does not match ${headName} (the log was rewritten and its hashes recomputed)` };
      }
      if (row.event === BROKEN_EVENT) recordedBreak ??= row;
      prev = row.hash;
      lastId = row.id;
    }
    if (anchor && !anchorSeen) return this.missingAnchor(anchor, headName, rows);
    if (recordedBreak && !options.tail) {
      // The chain was mended by appending to what was left; the row that says so stays.
      return { rows, brokenAt: recordedBreak.id, reason: `row ${recordedBreak.id} records a break found on ${recordedBreak.at}: ${breakReason(recordedBreak)}` };
    }
    return { rows, brokenAt: null };
  }

  private missingAnchor(anchor: AuditHead, headName: string, rows: number): AuditVerification {
    const maxId = (this.db.prepare('SELECT MAX(id) FROM audit_log').pluck().get() as number | null) ?? 0;
    return maxId < anchor.id
      ? { rows, brokenAt: anchor.id, truncated: true, reason: `truncated: the log ends at row ${maxId} but ${headName} records row ${anchor.id} as written` }
      : { rows, brokenAt: anchor.id, truncated: true, reason: `truncated: row ${anchor.id}, which ${headName} records as the last written, is gone` };
  }

  /**
   * The rows from a date on, optionally of one gemeente. Each row shows its
   * gemeentecode; a row written before the store knew several gemeenten shows
   * the code the migration found for it (legacy_gemeente), the row itself
   * unchanged.
   */
  since(isoDate: string | undefined, gemeentecode?: string): IterableIterator<AuditRow> {
    const where: string[] = [];
    const args: string[] = [];
    if (isoDate) {
      where.push('at >= ?');
      args.push(isoDate);
    }
    if (gemeentecode !== undefined) {
      where.push('gemeentecode = ?');
      args.push(gemeentecode);
    }
    return this.db
      .prepare(`SELECT * FROM (SELECT a.id, a.at, a.event, a.outcome, a.meldingsnummer, a.volgnummer, a.instance, a.kind, a.outbox_id, a.cycle_id, a.detail,
          COALESCE(a.gemeentecode, CASE WHEN a.id <= l.last_audit_id THEN l.gemeentecode END) AS gemeentecode, a.prev_hash, a.hash
        FROM audit_log a LEFT JOIN legacy_gemeente l ON l.id = 1) ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`)
      .iterate(...args) as IterableIterator<AuditRow>;
  }

  forMelding(meldingsnummer: string): AuditRow[] {
    return this.db.prepare('SELECT * FROM audit_log WHERE meldingsnummer = ? ORDER BY id').all(meldingsnummer) as AuditRow[];
  }
}

function breakReason(row: AuditRow): string {
  try {
    const detail = JSON.parse(row.detail ?? '{}') as { reason?: unknown };
    return typeof detail.reason === 'string' ? detail.reason : 'see audit export';
  } catch {
    return 'see audit export';
  }
}

/** Write, fsync, rename: a crash leaves the old head or the new one, never half of one. */
function writeHeadFile(file: string, head: AuditHead): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ id: head.id, hash: head.hash })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
