/**
 * The client certificate in use after a switch to tls.next, and the last probe of tls.next: one
 * row, kept so that a switch holds across restarts and for `once` (app/certificate-rollover.ts
 * decides; this only keeps).
 */
import type { Db } from './database.js';

export interface RolloverRow {
  /** SHA-256 (hex) of the certificate the relay switched to; undefined: never switched. */
  inUseSha256?: string;
  switchedAt?: string;
  switchReason?: string;
  probedSha256?: string;
  probedAt?: string;
  /** 'accepted' | 'unregistered' | 'failed'. */
  probeOutcome?: string;
}

interface Row {
  in_use_sha256: string | null;
  switched_at: string | null;
  switch_reason: string | null;
  probed_sha256: string | null;
  probed_at: string | null;
  probe_outcome: string | null;
}

export class CertificateRollover {
  constructor(private readonly db: Db) {}

  get(): RolloverRow {
    const row = this.db.prepare('SELECT * FROM certificate_rollover WHERE id = 1').get() as Row | undefined;
    if (!row) return {};
    const out: RolloverRow = {};
    if (row.in_use_sha256 !== null) out.inUseSha256 = row.in_use_sha256;
    if (row.switched_at !== null) out.switchedAt = row.switched_at;
    if (row.switch_reason !== null) out.switchReason = row.switch_reason;
    if (row.probed_sha256 !== null) out.probedSha256 = row.probed_sha256;
    if (row.probed_at !== null) out.probedAt = row.probed_at;
    if (row.probe_outcome !== null) out.probeOutcome = row.probe_outcome;
    return out;
  }

  recordSwitch(sha256: string, reason: string, at: Date): void {
    this.db
      .prepare(`INSERT INTO certificate_rollover (id, in_use_sha256, switched_at, switch_reason) VALUES (1, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET in_use_sha256 = excluded.in_use_sha256, switched_at = excluded.switched_at, switch_reason = excluded.switch_reason`)
      .run(sha256, at.toISOString(), reason);
  }

  recordProbe(sha256: string, outcome: string, at: Date): void {
    this.db
      .prepare(`INSERT INTO certificate_rollover (id, probed_sha256, probed_at, probe_outcome) VALUES (1, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET probed_sha256 = excluded.probed_sha256, probed_at = excluded.probed_at, probe_outcome = excluded.probe_outcome`)
      .run(sha256, at.toISOString(), outcome);
  }
}
