/** The lease row: who holds it, when it is stale, and that only its holder refreshes or releases it. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/store/database.js';
import { LeaseHeldError, WriterLease } from '../../../src/store/lease.js';

const fresh = () => openDatabase(path.join(mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-lease-')), 'relay.db'));
const alive = () => true;

describe('WriterLease', () => {
  it('refuses a second holder while the first is alive and heartbeating, naming it', () => {
    const db = fresh();
    let t = Date.parse('2026-11-29T10:00:00Z');
    const now = () => new Date(t);
    WriterLease.acquire(db, 'relay.db', { command: 'run', now, isAlive: alive });
    db.prepare("UPDATE writer_lease SET pid = 4242, host = 'other-host'").run();
    t += 50_000;
    expect(() => WriterLease.acquire(db, 'relay.db', { command: 'once', now, isAlive: alive })).toThrow(LeaseHeldError);
    try {
      WriterLease.acquire(db, 'relay.db', { command: 'once', now, isAlive: alive });
    } catch (err) {
      expect((err as LeaseHeldError).holder).toMatchObject({ pid: 4242, host: 'other-host', command: 'run' });
      expect((err as Error).message).toContain('pid 4242 on host other-host');
    }
  });

  it('takes over a lease whose heartbeat is older than staleAfterSeconds, wherever its holder ran', () => {
    const db = fresh();
    let t = Date.parse('2026-11-29T10:00:00Z');
    const now = () => new Date(t);
    const first = WriterLease.acquire(db, 'relay.db', { command: 'run', now, staleAfterSeconds: 60 });
    db.prepare("UPDATE writer_lease SET pid = 4242, host = 'other-host'").run();
    t += 61_000;
    const second = WriterLease.acquire(db, 'relay.db', { command: 'once', now, staleAfterSeconds: 60 });
    expect(first.heartbeat()).toBe(false);
    expect(second.heartbeat()).toBe(true);
    first.release();
    expect(db.prepare('SELECT count(*) FROM writer_lease').pluck().get()).toBe(1);
    second.release();
    expect(db.prepare('SELECT count(*) FROM writer_lease').pluck().get()).toBe(0);
  });

  it('takes over at once from a holder on this host whose process is gone', () => {
    const db = fresh();
    WriterLease.acquire(db, 'relay.db', { command: 'run' });
    db.prepare('UPDATE writer_lease SET pid = 4242').run();
    expect(() => WriterLease.acquire(db, 'relay.db', { command: 'once', isAlive: (pid) => pid !== 4242 })).not.toThrow();
  });
});
