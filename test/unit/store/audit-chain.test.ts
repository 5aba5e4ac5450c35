/**
 * The audit log holds against someone with the database file: the table
 * refuses UPDATE and DELETE, ids are never handed out twice, and the head
 * file beside the database catches a log cut short or rewritten with its
 * hashes recomputed (which the chain alone cannot see).
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditHash, type AuditRow } from '../../../src/audit/audit-log.js';
import { MIGRATIONS } from '../../../src/store/migrations.js';
import { Store, auditHeadFile } from '../../../src/store/store.js';

const NOW = new Date('2026-11-28T09:00:00Z');
let stores: Store[] = [];
afterEach(() => {
  for (const store of stores) if (store.db.open) store.close();
  stores = [];
});

function openStore(file = path.join(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-audit-')), 'relay.db')): Store {
  const store = Store.open(file, '0344', () => NOW);
  stores.push(store);
  return store;
}

function withRows(n: number): { store: Store; file: string } {
  const store = openStore();
  for (let i = 0; i < n; i++) store.audit.append({ event: 'cycle.started', outcome: 'info', cycleId: i + 1 });
  return { store, file: store.db.name };
}

/** What someone with the file does: drop the guards, then edit. */
function tamper(file: string, sql: string): void {
  const db = new Database(file);
  db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
  db.exec(sql);
  db.close();
}

describe('audit log', () => {
  it('refuses UPDATE and DELETE on its rows', () => {
    const { store } = withRows(3);
    expect(() => store.db.prepare(`UPDATE audit_log SET outcome = 'ok' WHERE id = 2`).run()).toThrow(/append-only: its rows are never changed/);
    expect(() => store.db.prepare('DELETE FROM audit_log WHERE id = 3').run()).toThrow(/append-only: its rows are never removed/);
    expect(store.audit.verify()).toEqual({ rows: 3, brokenAt: null });
  });

  it('never hands out an id twice, even after the last rows were removed', () => {
    const { store, file } = withRows(5);
    store.close();
    tamper(file, 'DELETE FROM audit_log WHERE id > 3');
    const again = openStore(file);
    again.audit.append({ event: 'cycle.started', outcome: 'info' });
    expect(again.db.prepare('SELECT MAX(id) FROM audit_log').pluck().get()).toBe(6);
  });

  it('keeps the head (last id and hash) beside the database, private', () => {
    const { store, file } = withRows(4);
    const last = store.db.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as { id: number; hash: string };
    // Appends inside a transaction reach the head once it committed.
    store.transaction(() => store.audit.append({ event: 'cycle.finished', outcome: 'ok' }));
    store.close();
    const head = JSON.parse(readFileSync(auditHeadFile(file), 'utf8')) as { id: number; hash: string };
    expect(head.id).toBe(last.id + 1);
    expect(statSync(auditHeadFile(file)).mode & 0o777).toBe(0o600);
  });

  it('does not move the head for a transaction that rolled back', async () => {
    const { store, file } = withRows(2);
    expect(() =>
      store.transaction(() => {
        store.audit.append({ event: 'cycle.finished', outcome: 'ok' });
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    await new Promise((resolve) => setImmediate(resolve));
    expect((JSON.parse(readFileSync(auditHeadFile(file), 'utf8')) as { id: number }).id).toBe(2);
    expect(store.audit.verify().brokenAt).toBeNull();
  });

  it('hashes a row as it always did, so that databases written before still verify', () => {
    const row = { at: NOW.toISOString(), event: 'mail.queued', outcome: 'ok', meldingsnummer: '2026004711', volgnummer: 57, instance: 'leerplicht', kind: 'Nieuw', outbox_id: 3, cycle_id: 2, detail: '{"reden":"ß é"}', gemeentecode: '0344' };
    // sha256 over prev_hash, '\n' and the JSON array of the fields, worked out once by hand.
    expect(auditHash('0'.repeat(64), row)).toBe('119b4d475cd4ef547b18fc6f491cbdf33ca359b0d3dec7aee0266afc8f7c00cf');
    // A row from before several gemeenten has no gemeentecode in its hash.
    const old = { at: NOW.toISOString(), event: 'cycle.started', outcome: 'info', meldingsnummer: null, volgnummer: null, instance: null, kind: null, outbox_id: null, cycle_id: 1, detail: null, gemeentecode: null };
    expect(auditHash('0'.repeat(64), old)).toBe('317ef3a1f49276b7b227d9dd459848eecdfc6d020a3b822d9503e354a2ca7053');
  });

  it('chains rows appended with the last hash kept in memory, across a transaction that rolled back', () => {
    const { store } = withRows(2);
    expect(() =>
      store.transaction(() =>
        store.audit.chained(() => {
          store.audit.append({ event: 'mutation.stored', outcome: 'ok' });
          store.audit.append({ event: 'mail.queued', outcome: 'ok' });
          throw new Error('disk full');
        }),
      ),
    ).toThrow('disk full');
    store.transaction(() =>
      store.audit.chained(() => {
        for (let i = 0; i < 3; i++) store.audit.append({ event: 'mutation.stored', outcome: 'ok', volgnummer: i + 1 });
      }),
    );
    store.audit.append({ event: 'cycle.finished', outcome: 'ok' });
    expect(store.audit.verify()).toEqual({ rows: 6, brokenAt: null });
    expect(() => store.audit.chained(() => undefined)).toThrow(/inside a transaction only/);
  });

  it('finds a log whose last rows were deleted: truncated', () => {
    const { store, file } = withRows(6);
    store.close();
    tamper(file, 'DELETE FROM audit_log WHERE id > 4');
    const again = openStore(file);
    const result = again.audit.verify();
    expect(result).toMatchObject({ truncated: true, brokenAt: 6 });
    expect(result.reason).toMatch(/^truncated: the log ends at row 4 but relay\.db\.audit-head records row 6/);
    expect(again.audit.verify({ tail: true }).truncated).toBe(true);
  });

  it('finds a log cut short and then appended to (the ids go on, the head row is gone)', () => {
    const { store, file } = withRows(6);
    store.close();
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id > 4');
    // Appending the way the relay would: on the last remaining row.
    const log = new Store(db, '0344', () => NOW);
    log.audit.append({ event: 'cycle.started', outcome: 'info' });
    db.close();
    const result = openStore(file).audit.verify();
    expect(result.reason).toMatch(/truncated: row 6, which relay\.db\.audit-head records as the last written, is gone/);
  });

  it('finds a row changed and the chain recomputed after it', () => {
    const { store, file } = withRows(5);
    store.close();
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_log_no_update');
    let prev = (db.prepare('SELECT hash FROM audit_log WHERE id = 2').pluck().get() as string);
    for (const row of db.prepare('SELECT * FROM audit_log WHERE id >= 3 ORDER BY id').all() as AuditRow[]) {
      const changed = { ...row, outcome: row.id === 3 ? 'failed' : row.outcome };
      const hash = auditHash(prev, changed);
      db.prepare('UPDATE audit_log SET outcome = ?, prev_hash = ?, hash = ? WHERE id = ?').run(changed.outcome, prev, hash, row.id);
      prev = hash;
    }
    db.close();
    const result = openStore(file).audit.verify();
    expect(result.brokenAt).toBe(5);
    expect(result.reason).toMatch(/row 5 does not match relay\.db\.audit-head \(the log was rewritten and its hashes recomputed\)/);
  });

  it('upgrades a log of schema version 1 keeping its rows, ids and hashes', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-audit-')), 'relay.db');
    const v1 = new Database(file);
    v1.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    v1.exec(MIGRATIONS.find((m) => m.version === 1)!.sql as string);
    v1.prepare(`INSERT INTO schema_migrations VALUES (1, 'initial', ?)`).run(NOW.toISOString());
    const old = new Store(v1, '0344', () => NOW);
    for (let i = 0; i < 3; i++) old.audit.append({ event: 'cycle.started', outcome: 'info', cycleId: i });
    const before = v1.prepare('SELECT * FROM audit_log ORDER BY id').all();
    v1.close();
    expect(existsSync(auditHeadFile(file))).toBe(false);

    const store = openStore(file);
    // Migration 6 adds a gemeentecode column; the rows written before it keep none (and their hashes).
    const after = store.db.prepare('SELECT * FROM audit_log ORDER BY id').all() as { gemeentecode: string | null }[];
    expect(after.map(({ gemeentecode: _code, ...row }) => row)).toEqual(before);
    expect(after.every((row) => row.gemeentecode === null)).toBe(true);
    expect(store.audit.verify()).toEqual({ rows: 3, brokenAt: null });
    expect(() => store.db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
  });
});
