/**
 * What scripts and packagers read from the built CLI: the version from
 * package.json, and the --json verdicts of check-config and audit verify with
 * the same exit statuses as their text.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeTestConfig } from '../support/config.js';
import { REPO, runCli } from '../support/relay-process.js';
import { createWorld, type World } from '../support/world.js';

const pki = inject('pkiG4');
const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };

describe('--version', () => {
  it.each([['--version'], ['-V']])('%s prints the version in package.json', async (flag) => {
    const result = await runCli([flag]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`verzuim-relay ${version}`);
  });
});

describe('check-config --json', () => {
  it('valid: one object with valid true, the warnings by key, exit 0', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vr-json-'));
    const file = writeTestConfig({ pki, dir, overrides: { smtp: { user: 'relay', password: 'letterlijk-geheim' } } });
    const result = await runCli(['check-config', '--json', '--config', file]);
    expect(result.code, result.stderr).toBe(0);
    const verdict = JSON.parse(result.stdout) as { file: string; valid: boolean; problems: string[]; warnings: { key: string }[] };
    expect(verdict).toMatchObject({ file, valid: true, problems: [] });
    expect(verdict.warnings.map((w) => w.key)).toContain('smtp.password');
    expect(result.stdout).not.toContain('letterlijk-geheim');
  });

  it('invalid: valid false with every problem naming its key, exit 78', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vr-json-'));
    const file = writeTestConfig({ pki, dir, overrides: { municipality: { code: 344 }, rod: { pagesize: 10 } } });
    const result = await runCli(['check-config', '--json', '--config', file]);
    expect(result.code).toBe(78);
    const verdict = JSON.parse(result.stdout) as { file: string; valid: boolean; problems: string[] };
    expect(verdict.file).toBe(file);
    expect(verdict.valid).toBe(false);
    expect(verdict.problems.some((p) => p.startsWith('municipality.code:'))).toBe(true);
    expect(verdict.problems.some((p) => p.startsWith('rod.pagesize: unknown key'))).toBe(true);
  });

  it('a file that names a missing certificate: valid false, exit 78', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vr-json-'));
    const file = writeTestConfig({ pki, dir, overrides: { tls: { cert: path.join(dir, 'absent.crt') } } });
    const result = await runCli(['check-config', '--json', '--config', file]);
    expect(result.code).toBe(78);
    const verdict = JSON.parse(result.stdout) as { valid: boolean; problems: string[] };
    expect(verdict.valid).toBe(false);
    expect(verdict.problems.join('\n')).toContain('absent.crt');
  });
});

describe('audit verify --json', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld({ pki });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('intact with the row count (exit 0), then broken naming the row and the reason (exit 3)', async () => {
    world.feed.append(world.generator.nieuweMelding({ verzuimsoort: 'OVERIG' }));
    const cycle = await world.once();
    expect(cycle.code, cycle.stderr).toBe(0);

    const intact = await world.cli('audit', 'verify', '--json');
    expect(intact.code, intact.stderr).toBe(0);
    const ok = JSON.parse(intact.stdout) as { status: string; rows: number };
    expect(ok.status).toBe('intact');
    expect(ok.rows).toBeGreaterThan(0);

    const db = new Database(path.join(world.dir, 'relay.db'));
    db.exec('DROP TRIGGER audit_log_no_update');
    const altered = (db.prepare(`SELECT id FROM audit_log WHERE event = 'mail.sent' LIMIT 1`).pluck().get() as number | undefined) ?? 1;
    db.prepare(`UPDATE audit_log SET outcome = 'changed' WHERE id = ?`).run(altered);
    db.close();

    const broken = await world.cli('audit', 'verify', '--json');
    expect(broken.code).toBe(3);
    expect(JSON.parse(broken.stdout)).toMatchObject({ status: 'broken', brokenAt: altered, truncated: false, reason: `row ${altered} was altered after it was written` });
  });
});
