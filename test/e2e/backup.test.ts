/** `backup --out FILE` while the daemon runs: the copy is private, intact, and its audit chain verifies on its own. */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { writeTestConfig } from '../support/config.js';
import { runCli, killDaemon, startDaemon, type Daemon } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');

describe('verzuim-relay backup', () => {
  let world: World | undefined;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await killDaemon(daemon);
    daemon = undefined;
    await world?.close();
    world = undefined;
  });

  it('copies a live database: 0600, integrity ok, its own head file, audit verify passes on the copy; no overwrite without --force', async () => {
    world = await createWorld({ pki, config: { schedule: { cron: '*/2 * * * * *', timezone: 'Europe/Amsterdam' } } });
    for (let i = 0; i < 5; i++) world.feed.append(world.generator.nieuweMelding());
    daemon = startDaemon(['run', '--config', world.configFile]);
    await daemon.waitForLog((l) => l.event === 'cycle.finished');
    world.feed.append(world.generator.nieuweMelding());

    const out = path.join(world.dir, 'backups', 'relay-backup.db');
    mkdirSync(path.dirname(out));
    const result = await world.cli('backup', '--out', out);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^backup written to .*relay-backup\.db \(\d+ bytes, integrity ok, audit log intact: \d+ rows; head file .*relay-backup\.db\.audit-head\)$/);

    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(statSync(`${out}.audit-head`).mode & 0o777).toBe(0o600);
    const copy = new Database(out, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.prepare('SELECT count(*) FROM meldingen').pluck().get()).toBeGreaterThanOrEqual(5);
      // The live relay's lease does not travel with the copy.
      expect(copy.prepare('SELECT count(*) FROM writer_lease').pluck().get()).toBe(0);
    } finally {
      copy.close();
    }
    const head = JSON.parse(readFileSync(`${out}.audit-head`, 'utf8')) as { id: number; hash: string };
    expect(head.hash).toMatch(/^[0-9a-f]{64}$/);

    // The copy as a restored database: audit verify passes against it and its head file.
    const restoredConfig = writeTestConfig({ pki, dir: path.dirname(out), overrides: { storage: { path: out } } });
    const verify = await runCli(['audit', 'verify', '--config', restoredConfig]);
    expect(verify.stdout + verify.stderr).toMatch(/audit log intact/);
    expect(verify.code).toBe(0);

    // No overwrite without --force.
    const again = await world.cli('backup', '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/relay-backup\.db exists; choose another file, or give --force to replace it$/);
    const forced = await world.cli('backup', '--out', out, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);

    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  });
});
