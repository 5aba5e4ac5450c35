/**
 * The single-writer lease: at most one relay (`run` or `once`) writes a
 * database at a time, so two relays pointed at one file cannot claim and send
 * the same mail twice. SQLite's own locks last one transaction; the lease
 * lasts a whole process.
 *
 * It is a row, not a lock file, so that it lives and dies with the database
 * (a copied or restored file carries no lock of another machine's) and is
 * taken in one BEGIN IMMEDIATE transaction, which two starting relays cannot
 * both win. A holder that was SIGKILLed or lost its machine cannot release
 * it, so a lease is stale, and taken over, when
 *  - its heartbeat is older than `staleAfterSeconds` (a holder on another
 *    host, or a hung one), or
 *  - its holder ran on this host and that process is gone, or is this very
 *    process id (a container restarted after a kill is pid 1 again).
 * The holder refreshes the heartbeat on a timer; a refresh that finds the
 * row no longer ours means another relay took over, and the holder must stop.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Db } from './database.js';

export interface LeaseHolder {
  pid: number;
  host: string;
  command: string;
  acquiredAt: string;
  heartbeatAt: string;
}

/** Another relay holds the database: the CLI says who, and exits with ExitCode.TEMPFAIL. */
export class LeaseHeldError extends Error {
  constructor(
    readonly file: string,
    readonly holder: LeaseHolder,
  ) {
    super(
      `another verzuim-relay holds the database ${file}: pid ${holder.pid} on host ${holder.host} ("${holder.command}" since ${holder.acquiredAt}, last heartbeat ${holder.heartbeatAt}); ` +
        `stop that one first, or try again later`,
    );
  }
}

export interface LeaseOptions {
  /** What the holder is doing, for the message the next one sees ("run", "once"). */
  command: string;
  now?: () => Date;
  /** A heartbeat older than this is a dead holder's, whatever host it ran on. */
  staleAfterSeconds?: number;
  /** Whether a process of this host is alive; replaceable for tests. */
  isAlive?: (pid: number) => boolean;
}

export const LEASE_STALE_AFTER_SECONDS = 60;

interface LeaseRow {
  token: string;
  pid: number;
  host: string;
  command: string;
  acquired_at: string;
  heartbeat_at: string;
}

export class WriterLease {
  private constructor(
    private readonly db: Db,
    private readonly token: string,
    private readonly now: () => Date,
  ) {}

  /** Takes the lease or throws LeaseHeldError naming the live holder. */
  static acquire(db: Db, file: string, options: LeaseOptions): WriterLease {
    const now = options.now ?? (() => new Date());
    const staleAfterMs = (options.staleAfterSeconds ?? LEASE_STALE_AFTER_SECONDS) * 1000;
    const isAlive = options.isAlive ?? processAlive;
    const host = os.hostname();
    const token = randomUUID();
    db.transaction(() => {
      const row = db.prepare('SELECT token, pid, host, command, acquired_at, heartbeat_at FROM writer_lease WHERE id = 1').get() as LeaseRow | undefined;
      if (row) {
        const age = now().getTime() - Date.parse(row.heartbeat_at);
        const goneHere = row.host === host && (row.pid === process.pid || !isAlive(row.pid));
        if (!(age > staleAfterMs || goneHere)) {
          throw new LeaseHeldError(file, { pid: row.pid, host: row.host, command: row.command, acquiredAt: row.acquired_at, heartbeatAt: row.heartbeat_at });
        }
      }
      const at = now().toISOString();
      db.prepare(
        `INSERT INTO writer_lease (id, token, pid, host, command, acquired_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET token = excluded.token, pid = excluded.pid, host = excluded.host,
           command = excluded.command, acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at`,
      ).run(token, process.pid, host, options.command, at, at);
    }).immediate();
    return new WriterLease(db, token, now);
  }

  /** Refreshes the heartbeat; false when the lease is no longer ours (another relay took it over). */
  heartbeat(): boolean {
    if (!this.db.open) return false;
    return this.db.prepare('UPDATE writer_lease SET heartbeat_at = ? WHERE id = 1 AND token = ?').run(this.now().toISOString(), this.token).changes === 1;
  }

  /** On a clean stop: the next relay need not wait for anything. */
  release(): void {
    if (!this.db.open) return;
    this.db.prepare('DELETE FROM writer_lease WHERE id = 1 AND token = ?').run(this.token);
  }
}

/** Signal 0 tests for existence only; EPERM means it exists under another user. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
