/**
 * The bench's --store-time probe (tools/bench/store-time.ts), loaded with
 * --import into a real node process as the bench loads it into `once`: it
 * must count the statements and commits from the cycle's start to the commit
 * that moved the cursor last, and nothing when it is not asked for.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../../support/relay-process.js';

const PROBE = path.join(REPO, 'build', 'tools', 'bench', 'store-time.js');
const dir = mkdtempSync(path.join(tmpdir(), 'bench-store-time-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A cycle in miniature: a statement before the cycle starts, the cycle's row, two pages that move the
// cursor (three statements each), then a transaction of delivery that does not.
const CYCLE = `
import Database from 'better-sqlite3';
const db = new Database(process.argv[1]);
db.exec('CREATE TABLE cycles (id INTEGER PRIMARY KEY, started_at TEXT); CREATE TABLE feed_cursor (gemeentecode TEXT PRIMARY KEY, volgnummer INTEGER); CREATE TABLE rows (v INTEGER)');
const row = db.prepare('INSERT INTO rows (v) VALUES (?)');
row.run(0);
db.prepare('INSERT INTO cycles (started_at) VALUES (?)').run('now');
const cursor = db.prepare('INSERT INTO feed_cursor (gemeentecode, volgnummer) VALUES (?, ?) ON CONFLICT (gemeentecode) DO UPDATE SET volgnummer = excluded.volgnummer');
for (const page of [1, 2]) db.transaction(() => { row.run(page); db.prepare('SELECT COUNT(*) FROM rows').get(); cursor.run('0344', page); })();
db.transaction(() => { row.run(9); row.run(10); })();
db.close();
`;

// Whether a statement's run is still better-sqlite3's own (native) function.
const NATIVE = `
import Database from 'better-sqlite3';
const db = new Database(':memory:');
process.stdout.write(String(Object.getPrototypeOf(db.prepare('SELECT 1')).run.toString().includes('[native code]')));
`;

function withProbe(script: string, env: Record<string, string | undefined>): string {
  const database = path.join(dir, `${Date.now()}-${Math.random()}.db`);
  const result = spawnSync(process.execPath, [`--import=${PROBE}`, '--input-type=module', '-e', script, database], { cwd: REPO, env: { ...process.env, ...env }, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('bench --store-time probe', () => {
  it('counts from the cycle row to the commit of the last page that moved the cursor', () => {
    const out = path.join(dir, 'measured.json');
    withProbe(CYCLE, { VERZUIM_BENCH_STORE_TIME: out });
    const measured = JSON.parse(readFileSync(out, 'utf8')) as Record<string, number>;
    // Two pages of three statements; the delivery transaction after them is outside the window.
    expect(measured.statements).toBe(6);
    expect(measured.commits).toBe(2);
    expect(measured.statementsMs).toBeGreaterThan(0);
    expect(measured.commitsMs).toBeGreaterThan(0);
    expect(measured.windowMs).toBeGreaterThanOrEqual(measured.statementsMs! + measured.commitsMs!);
    expect(measured.cpuMs).toBeGreaterThanOrEqual(0);
  });

  it('leaves the statements alone without VERZUIM_BENCH_STORE_TIME', () => {
    expect(withProbe(NATIVE, { VERZUIM_BENCH_STORE_TIME: undefined })).toBe('true');
    expect(withProbe(NATIVE, { VERZUIM_BENCH_STORE_TIME: path.join(dir, 'unused.json') })).toBe('false');
  });
});
