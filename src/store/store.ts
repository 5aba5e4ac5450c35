/** Everything the relay keeps, behind one handle. */
import { AuditLog, type AuditLogOptions } from '../audit/audit-log.js';
import { CertificateRollover } from './certificate-rollover.js';
import { FeedCursor } from './cursor.js';
import { Cycles, GemeenteReads } from './cycles.js';
import { openDatabase, type Db } from './database.js';
import { Meldingen } from './meldingen.js';
import { Outbox } from './outbox.js';
import { Quarantine } from './quarantine.js';
import { StatusReports } from './status-reports.js';

export class Store {
  readonly cursor: FeedCursor;
  readonly meldingen: Meldingen;
  readonly outbox: Outbox;
  readonly quarantine: Quarantine;
  readonly audit: AuditLog;
  readonly cycles: Cycles;
  readonly gemeenteReads: GemeenteReads;
  readonly statusReports: StatusReports;
  readonly certificateRollover: CertificateRollover;

  /**
   * `gemeentecode`: the first configured gemeente, whose cursor `cursor` is
   * and who owns the rows of a file from before several gemeenten; the
   * cursor of any gemeente is `cursorOf(code)`.
   */
  constructor(
    readonly db: Db,
    gemeentecode: string,
    now: () => Date = () => new Date(),
    audit: AuditLogOptions = {},
  ) {
    this.cursor = new FeedCursor(db, gemeentecode);
    this.gemeenteReads = new GemeenteReads(db);
    this.meldingen = new Meldingen(db);
    this.audit = new AuditLog(db, now, audit);
    this.outbox = new Outbox(db, this.audit);
    this.quarantine = new Quarantine(db);
    this.cycles = new Cycles(db);
    this.statusReports = new StatusReports(db);
    this.certificateRollover = new CertificateRollover(db);
  }

  /**
   * `readonly`: for the commands that only look; never writes, never migrates.
   * The audit log's head file lives beside the database (`<file>.audit-head`).
   */
  static open(file: string, gemeentecode: string, now?: () => Date, options: { readonly?: boolean; onAuditHeadError?: (err: Error) => void } = {}): Store {
    return new Store(openDatabase(file, { readonly: options.readonly, migration: { gemeentecode } }), gemeentecode, now, { headFile: auditHeadFile(file), onHeadError: options.onAuditHeadError });
  }

  /** Where the relay is in this gemeente's feed. */
  cursorOf(gemeentecode: string): FeedCursor {
    return new FeedCursor(this.db, gemeentecode);
  }

  /** Runs fn in one transaction: all of it is durable, or none of it. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.audit.flushHead();
    this.db.close();
  }
}

/** Where the audit log's head is kept: beside the database, on the same volume (so rename is atomic). */
export const auditHeadFile = (databaseFile: string): string => `${databaseFile}.audit-head`;
