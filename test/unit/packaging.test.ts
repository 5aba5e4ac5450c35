/**
 * A municipality's own configuration (config/verzuim-relay.yaml, the default
 * path) names its instances' addresses and may hold secrets: it must never
 * be committed nor shipped in the npm package, even when it lies in the
 * checkout the package is made from. The example configuration is shipped.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const temp = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-pack-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('packaging', () => {
  it('keeps config/verzuim-relay.yaml out of git', () => {
    // check-ignore exits 0 when the path is ignored (the file need not exist).
    expect(() => execFileSync('git', ['check-ignore', '-q', 'config/verzuim-relay.yaml'], { cwd: root })).not.toThrow();
    expect(() => execFileSync('git', ['check-ignore', '-q', 'config/verzuim-relay.example.yaml'], { cwd: root })).toThrow();
  });

  it('leaves a real config/verzuim-relay.yaml out of the npm package and ships the example', () => {
    // A copy of what npm reads to pick the files, with a real configuration beside the example.
    for (const entry of ['package.json', '.gitignore', 'README.md', 'config', 'certs.example']) {
      cpSync(path.join(root, entry), path.join(temp, entry), { recursive: true });
    }
    writeFileSync(path.join(temp, 'config/verzuim-relay.yaml'), 'smtp:\n  password: not-for-the-package\n');
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: temp, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'silent' } });
    const [pack] = JSON.parse(out) as [{ files: { path: string }[] }];
    const files = pack.files.map((f) => f.path);
    expect(files).toContain('config/verzuim-relay.example.yaml');
    expect(files).not.toContain('config/verzuim-relay.yaml');
    expect(files.filter((f) => f.startsWith('config/'))).toEqual(['config/verzuim-relay.example.yaml']);
  });
});
