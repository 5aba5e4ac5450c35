/**
 * Retention: the personal data of meldingen closed longer than retention.days
 * ago is removed. What remains is what the audit log and `status` need: the
 * meldingsnummer, volgnummer, verzuimsoort, status and dates, and the mail
 * records without their content.
 */
import type { Db } from './database.js';

export interface PurgeResult {
  meldingen: number;
  mutations: number;
  quarantine: number;
}

export function purgeExpired(db: Db, retentionDays: number, now: Date): PurgeResult {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
  return db.transaction((): PurgeResult => {
    const nummers = db
      .prepare(`SELECT meldingsnummer FROM meldingen WHERE closed_at IS NOT NULL AND closed_at < ? AND purged_at IS NULL`)
      .pluck()
      .all(cutoff) as string[];
    let mutations = 0;
    const clearMutations = db.prepare(`UPDATE mutations SET payload = NULL WHERE meldingsnummer = ? AND payload IS NOT NULL`);
    const clearChanges = db.prepare(`UPDATE outbox SET changes = NULL WHERE meldingsnummer = ? AND state IN ('sent', 'dead')`);
    const mark = db.prepare(`UPDATE meldingen SET purged_at = ? WHERE meldingsnummer = ?`);
    for (const nr of nummers) {
      mutations += clearMutations.run(nr).changes;
      clearChanges.run(nr);
      mark.run(now.toISOString(), nr);
    }
    // Quarantined records hold whole feed items; once handled or old enough, their content goes too.
    const quarantine = db
      .prepare(`UPDATE quarantine SET payload = 'null' WHERE payload <> 'null' AND received_at < ?`)
      .run(cutoff).changes;
    return { meldingen: nummers.length, mutations, quarantine };
  }).immediate();
}
