/**
 * The database file against people who can read or write it: it is private
 * to the relay's user, the commands that only look leave it as it was, and an
 * audit log cut short is caught at the next start (logged, recorded, mailed)
 * while the relay goes on forwarding.
 */
import Database from 'better-sqlite3';
import { copyFileSync, chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { runNode } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

describe('the database file', () => {
  let world: World;
  afterEach(async () => {
    await world?.close();
  });

  const dbFile = () => path.join(world.dir, 'relay.db');
  const snapshot = () => {
    const stat = statSync(dbFile());
    return { bytes: readFileSync(dbFile()).toString('base64'), mtimeMs: stat.mtimeMs, size: stat.size };
  };
  const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

  it('is created readable by the relay only (0600), like its audit head', async () => {
    world = await createWorld({ pki });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    const run = await world.once();
    expect(run.code, run.stderr).toBe(0);
    expect(mode(dbFile())).toBe('600');
    expect(mode(`${dbFile()}.audit-head`)).toBe('600');
  });

  it('makes a database left readable by others private again', async () => {
    world = await createWorld({ pki });
    expect((await world.once()).code).toBe(0);
    chmodSync(dbFile(), 0o644);
    expect((await world.once()).code).toBe(0);
    expect(mode(dbFile())).toBe('600');
  });

  it('is not changed by status, healthcheck, outbox list, quarantine list, audit verify or audit export', async () => {
    world = await createWorld({ pki });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    world.feed.appendRaw({ ...world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }), volgnummer: undefined });
    const run = await world.once();
    expect(run.code, run.stderr).toBe(0);
    // A relay killed mid-work leaves committed pages in the WAL, not yet in
    // the file; a command that opens read-write checkpoints them on close.
    const crash = await runNode([
      '--input-type=module',
      '-e',
      `import Database from 'better-sqlite3';
       const db = new Database(${JSON.stringify(dbFile())});
       db.pragma('wal_autocheckpoint = 0');
       db.prepare("INSERT INTO cert_alerts VALUES ('x', 30, '2026-11-28')").run();
       process.kill(process.pid, 'SIGKILL');`,
    ]);
    expect(crash.signal).toBe('SIGKILL');
    expect(statSync(`${dbFile()}-wal`).size).toBeGreaterThan(0);
    const before = snapshot();
    const commands = [['status'], ['healthcheck'], ['outbox', 'list'], ['quarantine', 'list'], ['audit', 'verify'], ['audit', 'export']];
    for (const args of commands) {
      // mtime has a coarse grain on some file systems: give a write the chance to show.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const result = await world.cli(...args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(snapshot(), `${args.join(' ')} changed the database`).toEqual(before);
    }
  });

  it('is not upgraded by a command that only reads: the older schema is reported', async () => {
    world = await createWorld({ pki });
    expect((await world.once()).code).toBe(0);
    // As if an older relay had made the file: its newest migration not applied.
    const db = new Database(dbFile());
    const newest = db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number;
    db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(newest);
    db.close();
    const before = snapshot();

    for (const args of [['status'], ['audit', 'verify']]) {
      const result = await world.cli(...args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/older than this verzuim-relay's .*does not upgrade it: run "verzuim-relay once"/);
    }
    expect(snapshot()).toEqual(before);
    const after = new Database(dbFile(), { readonly: true });
    expect(after.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBeLessThan(newest);
    after.close();
  });

  it('warns at start and in cert check when the private key file is readable by others', async () => {
    world = await createWorld({ pki });
    const key = path.join(world.dir, 'client.key');
    copyFileSync(pki.clientKey, key);
    chmodSync(key, 0o644);
    const { writeTestConfig } = await import('../support/config.js');
    writeTestConfig({ pki, rodUrl: world.simulator.url, smtpPort: world.catcher.port, dir: world.dir, overrides: { tls: { key } } });

    const run = await world.once();
    expect(run.code, run.stderr).toBe(0);
    expect(run.logs.find((l) => l.event === 'cert.key-permissions')).toMatchObject({ level: 'warn', file: key });
    const check = await world.cli('cert', 'check');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('[KEY_PERMISSIONS] client.key: the private key is readable by all users (mode 0644)');
    expect(check.stdout).toContain(`chmod 600 ${key}`);
  });
});

describe('the audit log cut short', () => {
  let world: World;
  afterEach(async () => {
    await world?.close();
  });

  it('is reported by audit verify when the head file beside the database is gone (exit 3, also with --json)', async () => {
    world = await createWorld({ pki });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    expect((await world.once()).code).toBe(0);
    rmSync(path.join(world.dir, 'relay.db.audit-head'));
    const verify = await world.cli('audit', 'verify');
    expect(verify.code, verify.stdout).toBe(3);
    expect(verify.stdout).toContain('BROKEN');
    const json = await world.cli('audit', 'verify', '--json');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'broken', truncated: true });
  });

  it('is reported by audit verify (exit 3, truncated) and at the next start, which still forwards', async () => {
    world = await createWorld({ pki });
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    expect((await world.once()).code).toBe(0);
    expect((await world.cli('audit', 'verify')).code).toBe(0);

    // What someone with the file does to hide what the relay did last: drop the guard, delete the tail.
    const db = new Database(path.join(world.dir, 'relay.db'));
    expect(() => db.exec('DELETE FROM audit_log WHERE id > 3')).toThrow(/append-only/);
    db.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id > 3');
    db.close();

    const verify = await world.cli('audit', 'verify');
    expect(verify.code).toBe(3);
    expect(verify.stdout).toMatch(/audit log BROKEN: truncated: the log ends at row 3 but relay\.db\.audit-head records row \d+/);

    const mailsBefore = world.catcher.mails.length;
    const m = world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    const next = await world.once();
    expect(next.code, next.stderr).toBe(0);
    expect(next.logs.find((l) => l.event === 'audit.broken')).toMatchObject({ level: 'error', truncated: true });
    const mails = await world.parsedMails(mailsBefore);
    const alert = mails.find((mail) => mail.headers.get('x-verzuim-alert') === 'audit');
    expect(alert?.subject).toContain('Auditlog ingekort');
    expect(alert?.text).toContain('truncated');
    expect(mails.some((mail) => mail.headers.get('x-verzuim-meldingsnummer') === m.meldingsnummer)).toBe(true);

    const exported = await world.cli('audit', 'export');
    expect(exported.stdout).toContain('"event":"audit.broken"');
    // The break stays on record: verify keeps saying so.
    const again = await world.cli('audit', 'verify');
    expect(again.code).toBe(3);
    expect(again.stdout).toMatch(/BROKEN: row \d+ records a break found on .*truncated/);
  });
});
