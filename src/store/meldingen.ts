/**
 * Mutations as received, and the current state per melding. A melding is
 * (gemeentecode, meldingsnummer): the gemeente whose feed served it, because a
 * pupil who moves appears under one meldingsnummer in two gemeenten's feeds.
 */
import type { Verzuimmelding } from '../domain/melding.js';
import { isOpenStatus } from '../domain/melding.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

export interface StoredMelding {
  gemeentecode: string;
  meldingsnummer: string;
  volgnummer: number;
  verzuimsoort: string;
  status: string;
  /**
   * The latest mutation exactly as ROD sent it; null once retention purged the
   * melding's personal data. The store keeps bytes, not meaning: the feed
   * reads it back through its contract (feed/contract.ts readStoredMutation).
   */
  payload: string | null;
  /**
   * The feed's validated reading of that mutation as JSON (feed/contract.ts
   * storedCopy), so that it is not parsed again for every comparison and
   * mail; null for rows from before the copy (migration 8), for stale
   * mutations, for JSON payloads (read as cheaply as a copy would be) and
   * once retention purged the melding.
   */
  copy: string | null;
  knownBy: string[];
  mutationId: number;
  firstSeenAt: string;
  updatedAt: string;
}

interface MeldingRow {
  gemeentecode: string;
  meldingsnummer: string;
  volgnummer: number;
  verzuimsoort: string;
  status: string;
  mutation_id: number;
  known_by: string;
  first_seen_at: string;
  updated_at: string;
  payload: string | null;
  melding_json: string | null;
}

/** A mutation as stored: what ROD sent, and the feed's reading of it when one was kept. */
export interface StoredMutation {
  payload: string;
  copy: string | null;
}

export class Meldingen {
  /** Each statement runs once per mutation or mail: prepared once, not for every call. */
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  /**
   * Keeps the feed item exactly as ROD sent it (fields this version does not
   * know included) and, in the same row and so the same transaction, `copy`:
   * the feed's reading of it, which retention removes with it.
   * A replay of a melding that retention already purged is recorded without
   * its content: it brings nothing new, and keeping it would bring back
   * exactly what the purge removed, with nothing left to purge it again.
   */
  recordMutation(gemeentecode: string, m: Verzuimmelding, received: string, outcome: 'processed' | 'stale', policyRow: number | null, receivedAt: Date, copy?: string): number {
    const purged =
      outcome === 'stale' &&
      this.prepare('SELECT purged_at FROM meldingen WHERE gemeentecode = ? AND meldingsnummer = ?').pluck().get(gemeentecode, m.meldingsnummer) != null;
    const result = this
      .prepare(`INSERT INTO mutations (gemeentecode, meldingsnummer, volgnummer, received_at, outcome, policy_row, payload, melding_json)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(gemeentecode, m.meldingsnummer, m.volgnummer, receivedAt.toISOString(), outcome, policyRow, purged ? null : received, purged ? null : (copy ?? null));
    return Number(result.lastInsertRowid);
  }

  get(gemeentecode: string, meldingsnummer: string): StoredMelding | undefined {
    const row = this
      .prepare(`SELECT m.*, u.payload, u.melding_json FROM meldingen m JOIN mutations u ON u.id = m.mutation_id WHERE m.gemeentecode = ? AND m.meldingsnummer = ?`)
      .get(gemeentecode, meldingsnummer) as MeldingRow | undefined;
    return row ? toStored(row) : undefined;
  }

  /** A mutation exactly as received, or undefined once it was purged. */
  mutationPayload(mutationId: number): string | undefined {
    return this.mutation(mutationId)?.payload;
  }

  /** A mutation as received with the feed's reading of it (when kept), or undefined once it was purged. */
  mutation(mutationId: number): StoredMutation | undefined {
    const row = this.prepare('SELECT payload, melding_json FROM mutations WHERE id = ?').get(mutationId) as Pick<MeldingRow, 'payload' | 'melding_json'> | undefined;
    return row?.payload == null ? undefined : { payload: row.payload, copy: row.melding_json };
  }

  /**
   * A processed mutation brings personal data again: a purged melding that
   * comes back is no longer purged, and its retention starts from when it
   * closes (again).
   */
  save(gemeentecode: string, m: Verzuimmelding, mutationId: number, knownBy: readonly string[], now: Date): void {
    const closedAt = isOpenStatus(m.status) ? null : now.toISOString();
    this
      .prepare(`INSERT INTO meldingen (gemeentecode, meldingsnummer, volgnummer, verzuimsoort, status, mutation_id, known_by, first_seen_at, updated_at, closed_at)
        VALUES (@gemeentecode, @nr, @volgnummer, @soort, @status, @mutationId, @knownBy, @now, @now, @closedAt)
        ON CONFLICT (gemeentecode, meldingsnummer) DO UPDATE SET volgnummer = excluded.volgnummer, verzuimsoort = excluded.verzuimsoort,
          status = excluded.status, mutation_id = excluded.mutation_id, known_by = excluded.known_by,
          updated_at = excluded.updated_at,
          closed_at = CASE WHEN excluded.closed_at IS NULL THEN NULL WHEN meldingen.purged_at IS NOT NULL THEN excluded.closed_at
            ELSE COALESCE(meldingen.closed_at, excluded.closed_at) END,
          purged_at = NULL`)
      .run({
        gemeentecode,
        nr: m.meldingsnummer,
        volgnummer: m.volgnummer,
        soort: m.verzuimsoort,
        status: m.status,
        mutationId,
        knownBy: JSON.stringify([...new Set(knownBy)].sort()),
        now: now.toISOString(),
        closedAt,
      });
  }

  countByStatus(gemeentecode?: string): Record<string, number> {
    const rows = (gemeentecode === undefined
      ? this.prepare('SELECT status, COUNT(*) AS n FROM meldingen GROUP BY status ORDER BY status').all()
      : this.prepare('SELECT status, COUNT(*) AS n FROM meldingen WHERE gemeentecode = ? GROUP BY status ORDER BY status').all(gemeentecode)) as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}

function toStored(row: MeldingRow): StoredMelding {
  return {
    gemeentecode: row.gemeentecode,
    meldingsnummer: row.meldingsnummer,
    volgnummer: row.volgnummer,
    verzuimsoort: row.verzuimsoort,
    status: row.status,
    payload: row.payload,
    copy: row.melding_json,
    knownBy: JSON.parse(row.known_by) as string[],
    mutationId: row.mutation_id,
    firstSeenAt: row.first_seen_at,
    updatedAt: row.updated_at,
  };
}
