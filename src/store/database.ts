/**
 * The one SQLite file that holds everything the relay knows. WAL for readers
 * beside the daemon (status, outbox list); synchronous=FULL because the cursor
 * may only move after a commit that survives a power cut.
 *
 * The file holds pupils' BSNs, names and addresses, so it and its -wal and
 * -shm are private to the relay's user (0600), whatever the umask of the
 * shell or container that started it. secure_delete makes SQLite overwrite
 * what a purge removes instead of leaving it in free pages.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS, type MigrationContext } from './migrations.js';

export type Db = Database.Database;

/** The schema version this verzuim-relay creates and expects. */
export const SCHEMA_VERSION = Math.max(0, ...MIGRATIONS.map((m) => m.version));

const companions = (file: string) => [file, `${file}-wal`, `${file}-shm`];

/**
 * Read-write (the daemon, `once`, the commands that mend) migrates the file
 * to this version. Read-only (status, lists, audit) never writes and never
 * migrates: a file of another schema version is refused with the way out,
 * because reading an older schema with newer queries would mislead.
 */
export function openDatabase(file: string, options: { readonly?: boolean; migration?: MigrationContext } = {}): Db {
  if (options.readonly) return openReadOnly(file);
  // The umask covers the files SQLite creates now; chmod covers those an
  // older version (or a copy) left readable. SQLite gives a later -wal and
  // -shm the mode of the database file.
  const umask = process.umask(0o077);
  let db: Db;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    for (const f of companions(file)) makePrivate(f);
    db = new Database(file);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('secure_delete = ON');
  } finally {
    process.umask(umask);
  }
  try {
    checkPrivate(file);
    migrate(db, options.migration);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function openReadOnly(file: string): Db {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const hasTable = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get() !== undefined;
    const applied = new Set(hasTable ? (db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]) : []);
    const version = Math.max(0, ...applied);
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `the database ${file} is at schema version ${version}, newer than this verzuim-relay understands (${SCHEMA_VERSION}); run the newer version or restore a backup`,
      );
    }
    const missing = MIGRATIONS.filter((m) => !applied.has(m.version)).map((m) => m.version);
    if (missing.length > 0) {
      throw new Error(
        `the database ${file} is at schema version ${version}, older than this verzuim-relay's (${SCHEMA_VERSION}; missing ${missing.join(', ')}); this command only reads and does not upgrade it: run "verzuim-relay once" (or start the daemon) to upgrade, then try again`,
      );
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function makePrivate(file: string): void {
  if (!existsSync(file)) return;
  if ((statSync(file).mode & 0o077) === 0) return;
  try {
    chmodSync(file, 0o600);
  } catch (err) {
    throw new Error(
      `${file} is readable by other users (mode ${modeOf(file)}) and could not be made private (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): it holds pupils' personal data; run as the file's owner or "chmod 600 ${file}"`,
    );
  }
}

/** After opening: the files SQLite made must not be readable by others. */
function checkPrivate(file: string): void {
  for (const f of companions(file)) {
    if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) {
      throw new Error(`${f} is readable by other users (mode ${modeOf(f)}) after opening: it holds pupils' personal data; "chmod 600 ${f}" and check the storage volume's permissions`);
    }
  }
}

const modeOf = (file: string) => (statSync(file).mode & 0o777).toString(8).padStart(4, '0');

/** Applies the migrations this file has not seen yet, each in its own transaction. */
export function migrate(db: Db, ctx: MigrationContext = {}): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const applied = new Set(
    db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
  );
  const newest = Math.max(0, ...applied);
  if (newest > SCHEMA_VERSION) {
    throw new Error(
      `the database is at schema version ${newest}, newer than this verzuim-relay understands (${SCHEMA_VERSION}); run the newer version or restore a backup`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(typeof migration.sql === 'string' ? migration.sql : migration.sql(ctx));
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    })();
  }
}
