/** Where the relay is in ROD's feed: the exclusive `vanaf` for the next request. */
import type { Db } from './database.js';

export interface CursorState {
  volgnummer: number;
  /** True once the first run read the feed to its end (the backlog setting applies only before that). */
  backlogDone: boolean;
}

export class FeedCursor {
  constructor(
    private readonly db: Db,
    private readonly gemeentecode: string,
  ) {}

  get(): CursorState {
    const row = this.db
      .prepare('SELECT volgnummer, backlog_done FROM feed_cursor WHERE gemeentecode = ?')
      .get(this.gemeentecode) as { volgnummer: number; backlog_done: number } | undefined;
    return { volgnummer: row?.volgnummer ?? 0, backlogDone: row?.backlog_done === 1 };
  }

  /** Only ever called inside the transaction that stores the page the cursor moves past. */
  set(volgnummer: number, now: Date): void {
    this.db
      .prepare(`INSERT INTO feed_cursor (gemeentecode, volgnummer, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (gemeentecode) DO UPDATE SET volgnummer = excluded.volgnummer, updated_at = excluded.updated_at`)
      .run(this.gemeentecode, volgnummer, now.toISOString());
  }

  markBacklogDone(now: Date): void {
    this.db
      .prepare(`INSERT INTO feed_cursor (gemeentecode, volgnummer, backlog_done, updated_at) VALUES (?, 0, 1, ?)
        ON CONFLICT (gemeentecode) DO UPDATE SET backlog_done = 1, updated_at = excluded.updated_at`)
      .run(this.gemeentecode, now.toISOString());
  }
}
