/**
 * `backup --out FILE`: a consistent copy of the live database, taken with
 * SQLite's online backup API while the daemon goes on writing (a plain `cp`
 * of a WAL database can catch it half-way). The copy is checked before it is
 * called a backup: SQLite's integrity check, and its audit chain verified
 * against a head file written for the copy (`FILE.audit-head`), so that a
 * restored database verifies and anchors like the original.
 *
 * It takes no writer lease: it only reads the database and writes new files.
 */
import { chmodSync, existsSync, rmSync, statSync } from 'node:fs';
import type { Config } from '../../config/schema.js';
import { openDatabase } from '../../store/database.js';
import { Store, auditHeadFile } from '../../store/store.js';
import { ExitCode } from '../exit-codes.js';
import type { Out } from './output.js';

const copyFiles = (file: string) => [file, `${file}-wal`, `${file}-shm`, auditHeadFile(file)];

export async function backupCommand(config: Config, opts: { out: string; force: boolean; print: Out }): Promise<number> {
  const source = config.storage.path;
  if (!existsSync(source)) throw new Error(`no database at storage.path (${source}): nothing to back up`);
  if (existsSync(opts.out) && !opts.force) throw new Error(`${opts.out} exists; choose another file, or give --force to replace it`);
  for (const f of copyFiles(opts.out)) rmSync(f, { force: true });

  // Read-only: a backup never migrates or writes the live file.
  const live = openDatabase(source, { readonly: true });
  const umask = process.umask(0o077);
  try {
    await live.backup(opts.out);
    chmodSync(opts.out, 0o600);
  } catch (err) {
    for (const f of copyFiles(opts.out)) rmSync(f, { force: true });
    throw new Error(`the backup to ${opts.out} failed: ${(err as Error).message}`);
  } finally {
    process.umask(umask);
    live.close();
  }

  const checked = checkCopy(opts.out, config.gemeenten[0]!.municipality.code);
  if ('problem' in checked) {
    for (const f of copyFiles(opts.out)) rmSync(f, { force: true });
    throw new Error(`the backup copy failed its check and was removed: ${checked.problem}`);
  }
  opts.print(`backup written to ${opts.out} (${statSync(opts.out).size} bytes, integrity ok, audit log intact: ${checked.rows} rows; head file ${auditHeadFile(opts.out)})`);
  return ExitCode.OK;
}

/**
 * The copy on its own: drop the live relay's writer lease (a restored file
 * must not look held), write its audit head, then check it as `audit verify`
 * would.
 */
function checkCopy(file: string, gemeentecode: string): { rows: number } | { problem: string } {
  const umask = process.umask(0o077);
  let store: Store | undefined;
  try {
    store = new Store(openDatabase(file), gemeentecode, undefined, { headFile: auditHeadFile(file) });
    const integrity = store.db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') return { problem: `PRAGMA integrity_check: ${String(integrity)}` };
    store.db.prepare('DELETE FROM writer_lease').run();
    store.audit.flushHead();
    const audit = store.audit.verify();
    if (audit.brokenAt !== null || audit.truncated) return { problem: `the audit log's chain is broken: ${audit.reason ?? 'see audit verify'}` };
    return { rows: audit.rows };
  } finally {
    store?.close();
    process.umask(umask);
  }
}
