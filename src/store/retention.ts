/**
 * Retention: the personal data of meldingen closed longer than retention.days
 * ago is removed. What remains is what the audit log and `status` need: the
 * meldingsnummer, volgnummer, verzuimsoort, status and dates, and the mail
 * records without their content. Quarantined records about another
 * gemeente's pupils were never ours to keep: they go after
 * retention.quarantineDays.
 *
 * Removed must mean gone from the disk too: secure_delete overwrites the
 * freed cells and pages, and a TRUNCATE checkpoint moves the purge into the
 * database file and empties the WAL, which still held the old page images.
 */
import type { Db } from './database.js';

export interface PurgeResult {
  meldingen: number;
  mutations: number;
  quarantine: number;
  /** False when a reader kept the WAL from being emptied; the next purge tries again. */
  walTruncated?: boolean;
}

export interface QuarantineRetention {
  /** retention.quarantineDays */
  quarantineDays: number;
}

/** Closed before the cutoff and not purged yet: through the partial index meldingen_to_purge (migration 9), as every cycle asks. */
export const EXPIRED_MELDINGEN = `SELECT gemeentecode, meldingsnummer FROM meldingen WHERE closed_at IS NOT NULL AND closed_at < ? AND purged_at IS NULL`;

export function purgeExpired(db: Db, retentionDays: number, now: Date, quarantine?: QuarantineRetention): PurgeResult {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
  db.pragma('secure_delete = ON');
  const result = db.transaction((): PurgeResult => {
    const nummers = db.prepare(EXPIRED_MELDINGEN).all(cutoff) as { gemeentecode: string; meldingsnummer: string }[];
    let mutations = 0;
    // Per gemeente: the same meldingsnummer may still be open in the feed of the gemeente a pupil moved to.
    // The copy of the feed's reading (melding_json) is the same personal data as the payload: both go.
    const clearMutations = db.prepare(`UPDATE mutations SET payload = NULL, melding_json = NULL
      WHERE gemeentecode = ? AND meldingsnummer = ? AND (payload IS NOT NULL OR melding_json IS NOT NULL)`);
    const clearChanges = db.prepare(`UPDATE outbox SET changes = NULL WHERE gemeentecode = ? AND meldingsnummer = ? AND state IN ('sent', 'dead')`);
    const mark = db.prepare(`UPDATE meldingen SET purged_at = ? WHERE gemeentecode = ? AND meldingsnummer = ?`);
    for (const { gemeentecode, meldingsnummer } of nummers) {
      mutations += clearMutations.run(gemeentecode, meldingsnummer).changes;
      clearChanges.run(gemeentecode, meldingsnummer);
      mark.run(now.toISOString(), gemeentecode, meldingsnummer);
    }
    // Quarantined records hold whole feed items; once handled or old enough, their content goes too.
    let cleared = db
      .prepare(`UPDATE quarantine SET payload = 'null' WHERE payload <> 'null' AND received_at < ?`)
      .run(cutoff).changes;
    if (quarantine) {
      const foreignCutoff = new Date(now.getTime() - quarantine.quarantineDays * 86_400_000).toISOString();
      cleared += db
        // Another gemeente's pupil than the feed that brought it: not ours to keep.
        .prepare(`UPDATE quarantine SET payload = 'null' WHERE payload <> 'null' AND gemeentecode IS NOT NULL AND feed_gemeentecode IS NOT NULL
          AND gemeentecode <> feed_gemeentecode AND received_at < ?`)
        .run(foreignCutoff).changes;
    }
    return { meldingen: nummers.length, mutations, quarantine: cleared };
  }).immediate();
  if (result.meldingen === 0 && result.mutations === 0 && result.quarantine === 0) return result;
  const [checkpoint] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
  return { ...result, walTruncated: checkpoint !== undefined && checkpoint.busy === 0 };
}
