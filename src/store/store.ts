/** Everything the relay keeps, behind one handle. */
import { AuditLog } from '../audit/audit-log.js';
import { FeedCursor } from './cursor.js';
import { Cycles } from './cycles.js';
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
  readonly statusReports: StatusReports;

  constructor(
    readonly db: Db,
    gemeentecode: string,
    now: () => Date = () => new Date(),
  ) {
    this.cursor = new FeedCursor(db, gemeentecode);
    this.meldingen = new Meldingen(db);
    this.audit = new AuditLog(db, now);
    this.outbox = new Outbox(db, this.audit);
    this.quarantine = new Quarantine(db);
    this.cycles = new Cycles(db);
    this.statusReports = new StatusReports(db);
  }

  static open(file: string, gemeentecode: string, now?: () => Date): Store {
    return new Store(openDatabase(file), gemeentecode, now);
  }

  /** Runs fn in one transaction: all of it is durable, or none of it. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }
}
