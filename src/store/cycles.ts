/** One row per cycle: what `status` and `healthcheck` report. */
import type { Db } from './database.js';

export interface CycleCounts {
  pages: number;
  fetched: number;
  processed: number;
  stale: number;
  quarantined: number;
  queued: number;
  sent: number;
  deferred: number;
  dead: number;
}

export interface CycleRow extends CycleCounts {
  id: number;
  started_at: string;
  finished_at: string | null;
  outcome: 'ok' | 'failed' | null;
  error: string | null;
}

export class Cycles {
  constructor(private readonly db: Db) {}

  start(at: Date): number {
    return Number(this.db.prepare('INSERT INTO cycles (started_at) VALUES (?)').run(at.toISOString()).lastInsertRowid);
  }

  finish(id: number, at: Date, outcome: 'ok' | 'failed', counts: CycleCounts, error?: string): void {
    this.db
      .prepare(`UPDATE cycles SET finished_at = @at, outcome = @outcome, pages = @pages, fetched = @fetched, processed = @processed,
        stale = @stale, quarantined = @quarantined, queued = @queued, sent = @sent, deferred = @deferred, dead = @dead, error = @error
        WHERE id = @id`)
      .run({ id, at: at.toISOString(), outcome, error: error ?? null, ...counts });
  }

  last(): CycleRow | undefined {
    return this.db.prepare('SELECT * FROM cycles WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1').get() as CycleRow | undefined;
  }

  lastSuccessful(): CycleRow | undefined {
    return this.db.prepare(`SELECT * FROM cycles WHERE outcome = 'ok' ORDER BY id DESC LIMIT 1`).get() as CycleRow | undefined;
  }
}

/** How one gemeente's feed was read in one cycle. */
export interface GemeenteReadRow {
  cycle_id: number;
  gemeentecode: string;
  finished_at: string;
  outcome: 'ok' | 'failed' | 'refused' | 'interrupted';
  pages: number;
  fetched: number;
  error: string | null;
}

/** Per gemeente: whether its feed was read to its end in each cycle (`status` shows a row per gemeente). */
export class GemeenteReads {
  constructor(private readonly db: Db) {}

  record(row: GemeenteReadRow): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO gemeente_reads (cycle_id, gemeentecode, finished_at, outcome, pages, fetched, error)
        VALUES (@cycle_id, @gemeentecode, @finished_at, @outcome, @pages, @fetched, @error)`)
      .run(row);
  }

  last(gemeentecode: string): GemeenteReadRow | undefined {
    return this.db.prepare('SELECT * FROM gemeente_reads WHERE gemeentecode = ? ORDER BY cycle_id DESC LIMIT 1').get(gemeentecode) as GemeenteReadRow | undefined;
  }

  lastSuccessful(gemeentecode: string): GemeenteReadRow | undefined {
    return this.db.prepare(`SELECT * FROM gemeente_reads WHERE gemeentecode = ? AND outcome = 'ok' ORDER BY cycle_id DESC LIMIT 1`).get(gemeentecode) as GemeenteReadRow | undefined;
  }
}
