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
