/**
 * Versioned schema. A migration is never edited once released: add a new one.
 * The outbox's states come from mail-states.ts (see there); adding a state
 * means a new migration that rebuilds the table with the longer CHECK.
 */
import { MAIL_STATES, sqlList } from './mail-states.js';

/** What a migration may need to know about the configuration that opens the file. */
export interface MigrationContext {
  /** The first configured gemeente: the owner of rows from before several gemeenten, when the file does not say. */
  gemeentecode?: string;
}

export interface Migration {
  version: number;
  name: string;
  sql: string | ((ctx: MigrationContext) => string);
}

/**
 * The gemeente every row of a single-gemeente file belongs to: the one its
 * cursor names (what the file itself says), else the configured first one.
 * Only four digits ever reach the SQL text.
 */
function ownerOfOldRows(ctx: MigrationContext): string {
  const configured = ctx.gemeentecode !== undefined && /^[0-9]{4}$/.test(ctx.gemeentecode) ? `'${ctx.gemeentecode}'` : 'NULL';
  return `COALESCE((SELECT gemeentecode FROM feed_cursor ORDER BY updated_at DESC LIMIT 1), ${configured})`;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE feed_cursor (
        gemeentecode TEXT PRIMARY KEY,
        volgnummer INTEGER NOT NULL,
        backlog_done INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
      );

      -- Every feed item as received, also the stale ones (replays), for the record.
      CREATE TABLE mutations (
        id INTEGER PRIMARY KEY,
        meldingsnummer TEXT NOT NULL,
        volgnummer INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('processed', 'stale')),
        policy_row INTEGER,
        payload TEXT
      );
      CREATE INDEX mutations_melding ON mutations (meldingsnummer, volgnummer);

      -- The current state per melding: the last mutation processed, and which instances know it.
      CREATE TABLE meldingen (
        meldingsnummer TEXT PRIMARY KEY,
        volgnummer INTEGER NOT NULL,
        verzuimsoort TEXT NOT NULL,
        status TEXT NOT NULL,
        mutation_id INTEGER NOT NULL REFERENCES mutations (id),
        known_by TEXT NOT NULL DEFAULT '[]',
        first_seen_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        closed_at TEXT,
        purged_at TEXT
      );
      CREATE INDEX meldingen_status ON meldingen (status);

      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('Nieuw', 'Gewijzigd', 'Ingetrokken', 'alert')),
        meldingsnummer TEXT,
        volgnummer INTEGER,
        mutation_id INTEGER REFERENCES mutations (id),
        instance TEXT,
        recipient TEXT NOT NULL,
        changes TEXT,
        alert TEXT,
        state TEXT NOT NULL CHECK (state IN (${sqlList(MAIL_STATES)})),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        sent_at TEXT,
        smtp_response TEXT
      );
      CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
      CREATE INDEX outbox_melding ON outbox (meldingsnummer, volgnummer);

      CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL,
        meldingsnummer TEXT,
        volgnummer INTEGER,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open', 'processed')) DEFAULT 'open',
        processed_at TEXT
      );

      -- Append-only, hash-chained: each row's hash covers the previous row's hash.
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        outcome TEXT NOT NULL,
        meldingsnummer TEXT,
        volgnummer INTEGER,
        instance TEXT,
        kind TEXT,
        outbox_id INTEGER,
        cycle_id INTEGER,
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_melding ON audit_log (meldingsnummer);
      CREATE INDEX audit_at ON audit_log (at);

      CREATE TABLE cycles (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT,
        pages INTEGER NOT NULL DEFAULT 0,
        fetched INTEGER NOT NULL DEFAULT 0,
        processed INTEGER NOT NULL DEFAULT 0,
        stale INTEGER NOT NULL DEFAULT 0,
        quarantined INTEGER NOT NULL DEFAULT 0,
        queued INTEGER NOT NULL DEFAULT 0,
        sent INTEGER NOT NULL DEFAULT 0,
        deferred INTEGER NOT NULL DEFAULT 0,
        dead INTEGER NOT NULL DEFAULT 0,
        error TEXT
      );

      CREATE TABLE cert_alerts (
        cert_sha256 TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        fired_at TEXT NOT NULL,
        PRIMARY KEY (cert_sha256, threshold)
      );

      CREATE TABLE status_reports (
        meldingsnummer TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'conflict')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_error TEXT
      );
    `,
  },
  {
    version: 2,
    name: 'audit-log-append-only',
    // AUTOINCREMENT so that an id is never handed out twice, even after the
    // last rows were removed; the triggers make removing or changing a row a
    // deliberate act (dropping them) rather than an UPDATE anyone can type.
    // The rows, ids and hashes are copied as they are: the chain stays valid.
    sql: `
      CREATE TABLE audit_log_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        outcome TEXT NOT NULL,
        meldingsnummer TEXT,
        volgnummer INTEGER,
        instance TEXT,
        kind TEXT,
        outbox_id INTEGER,
        cycle_id INTEGER,
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      INSERT INTO audit_log_new (id, at, event, outcome, meldingsnummer, volgnummer, instance, kind, outbox_id, cycle_id, detail, prev_hash, hash)
        SELECT id, at, event, outcome, meldingsnummer, volgnummer, instance, kind, outbox_id, cycle_id, detail, prev_hash, hash FROM audit_log ORDER BY id;
      DROP TABLE audit_log;
      ALTER TABLE audit_log_new RENAME TO audit_log;
      CREATE INDEX audit_melding ON audit_log (meldingsnummer);
      CREATE INDEX audit_at ON audit_log (at);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: its rows are never changed'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: its rows are never removed'); END;
    `,
  },
  {
    version: 3,
    name: 'quarantine-gemeentecode',
    // Whose pupil a quarantined record is about: records of another gemeente
    // are purged after retention.quarantineDays, not kept for retention.days.
    // Older JSON records are filled in from their payload; XML ones stay
    // unknown and follow retention.days as before.
    sql: `
      ALTER TABLE quarantine ADD COLUMN gemeentecode TEXT;
      UPDATE quarantine SET gemeentecode = json_extract(payload, '$.gemeentecode')
        WHERE json_valid(payload) AND json_type(payload, '$.gemeentecode') = 'text';
    `,
  },
  {
    version: 4,
    name: 'quarantine-attempts',
    // A retry that fails again updates its record (how often, when, the reason now) instead of
    // quarantining the same item once more as a new record with a new alert.
    sql: `
      ALTER TABLE quarantine ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE quarantine ADD COLUMN last_attempt_at TEXT;
    `,
  },
  {
    version: 5,
    name: 'writer-lease',
    // Which relay writes this database now (store/lease.ts): at most one row.
    sql: `
      CREATE TABLE writer_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        token TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        command TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'gemeenten',
    // One store for several gemeenten (a regional bureau): every melding,
    // mutation, mail, status report and quarantined record names the gemeente
    // whose feed it came from, and a melding is keyed by (gemeentecode,
    // meldingsnummer), because a pupil who moves appears under one
    // meldingsnummer in two gemeenten's feeds. Rows of a single-gemeente file
    // get that gemeente's code. Audit rows are hashed and never changed: the
    // old ones keep no code in their column and legacy_gemeente says whose they
    // are (audit export shows them with that code).
    sql: (ctx) => {
      const owner = ownerOfOldRows(ctx);
      return `
      CREATE TABLE legacy_gemeente (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        gemeentecode TEXT,
        last_audit_id INTEGER NOT NULL
      );
      INSERT INTO legacy_gemeente (id, gemeentecode, last_audit_id) VALUES (1, ${owner}, (SELECT COALESCE(MAX(id), 0) FROM audit_log));

      CREATE TABLE meldingen_new (
        gemeentecode TEXT NOT NULL,
        meldingsnummer TEXT NOT NULL,
        volgnummer INTEGER NOT NULL,
        verzuimsoort TEXT NOT NULL,
        status TEXT NOT NULL,
        mutation_id INTEGER NOT NULL REFERENCES mutations (id),
        known_by TEXT NOT NULL DEFAULT '[]',
        first_seen_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        closed_at TEXT,
        purged_at TEXT,
        PRIMARY KEY (gemeentecode, meldingsnummer)
      );
      INSERT INTO meldingen_new (gemeentecode, meldingsnummer, volgnummer, verzuimsoort, status, mutation_id, known_by, first_seen_at, updated_at, closed_at, purged_at)
        SELECT (SELECT gemeentecode FROM legacy_gemeente), meldingsnummer, volgnummer, verzuimsoort, status, mutation_id, known_by, first_seen_at, updated_at, closed_at, purged_at FROM meldingen;
      DROP TABLE meldingen;
      ALTER TABLE meldingen_new RENAME TO meldingen;
      CREATE INDEX meldingen_status ON meldingen (gemeentecode, status);

      ALTER TABLE mutations ADD COLUMN gemeentecode TEXT;
      UPDATE mutations SET gemeentecode = (SELECT gemeentecode FROM legacy_gemeente);
      DROP INDEX mutations_melding;
      CREATE INDEX mutations_melding ON mutations (gemeentecode, meldingsnummer, volgnummer);

      -- Alerts stay without a code: those went to the one alert address there was.
      ALTER TABLE outbox ADD COLUMN gemeentecode TEXT;
      UPDATE outbox SET gemeentecode = (SELECT gemeentecode FROM legacy_gemeente) WHERE kind <> 'alert';

      -- quarantine.gemeentecode is whose pupil the record names; feed_gemeentecode is whose feed brought it.
      ALTER TABLE quarantine ADD COLUMN feed_gemeentecode TEXT;
      UPDATE quarantine SET feed_gemeentecode = (SELECT gemeentecode FROM legacy_gemeente);

      CREATE TABLE status_reports_new (
        gemeentecode TEXT NOT NULL,
        meldingsnummer TEXT NOT NULL,
        status TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'conflict')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_error TEXT,
        PRIMARY KEY (gemeentecode, meldingsnummer)
      );
      INSERT INTO status_reports_new (gemeentecode, meldingsnummer, status, state, attempts, created_at, updated_at, last_error)
        SELECT (SELECT gemeentecode FROM legacy_gemeente), meldingsnummer, status, state, attempts, created_at, updated_at, last_error FROM status_reports;
      DROP TABLE status_reports;
      ALTER TABLE status_reports_new RENAME TO status_reports;

      -- How each gemeente's feed was read in each cycle: status per gemeente.
      CREATE TABLE gemeente_reads (
        cycle_id INTEGER NOT NULL,
        gemeentecode TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused', 'interrupted')),
        pages INTEGER NOT NULL DEFAULT 0,
        fetched INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        PRIMARY KEY (cycle_id, gemeentecode)
      );

      ALTER TABLE audit_log ADD COLUMN gemeentecode TEXT;
      CREATE INDEX audit_gemeente ON audit_log (gemeentecode);
    `;
    },
  },
  {
    version: 7,
    name: 'certificate-rollover',
    // Which client certificate the relay uses, by the SHA-256 of its DER, once it switched to tls.next
    // (store/certificate-rollover.ts): stored so that the switch holds across restarts and for
    // `once`, and by fingerprint so that promoting tls.next to tls later is recognised. At most one
    // row; also the last probe of tls.next, for status.
    sql: `
      CREATE TABLE certificate_rollover (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        in_use_sha256 TEXT,
        switched_at TEXT,
        switch_reason TEXT,
        probed_sha256 TEXT,
        probed_at TEXT,
        probe_outcome TEXT
      );
    `,
  },
  {
    version: 8,
    name: 'mutation-copy',
    // The feed's validated reading of a mutation as JSON, beside the payload
    // as ROD sent it (feed/contract.ts storedCopy): reading an Edukoppeling
    // payload back for every mail parsed its XML again. Nullable: rows from
    // before have no copy and are read from the payload, as before. Personal
    // data like the payload, so retention clears it with the payload.
    sql: `ALTER TABLE mutations ADD COLUMN melding_json TEXT;`,
  },
  {
    version: 9,
    name: 'meldingen-to-purge',
    // Retention looks for closed meldingen not yet purged at the end of every
    // cycle (store/retention.ts). Without an index that was a scan of every
    // melding: 21 ms of an idle cycle's 40 with 150,000 meldingen. Partial:
    // only the rows retention still has to look at.
    sql: `CREATE INDEX meldingen_to_purge ON meldingen (closed_at) WHERE closed_at IS NOT NULL AND purged_at IS NULL;`,
  },
  {
    version: 10,
    name: 'meldingen-without-status-index',
    // Only `status` read this index (meldingen per status, an administrator's
    // command), and every mutation that changed a melding's status paid for
    // it: the entry moves to another place in the index, one or two more
    // random pages written to the WAL and, at the checkpoint, to the file. A
    // page of 500 changes wrote about 3,300 pages; counting per status scans
    // the gemeente's meldingen instead (about 30 ms for 150,000).
    sql: `DROP INDEX IF EXISTS meldingen_status;`,
  },
];
