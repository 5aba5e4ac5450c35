/**
 * Weak settings, as an administrator meets them: check-config names each one
 * on standard error and still exits 0 for a valid file; `once` (like `run`)
 * logs a config.warning line per setting at start. Never the secret itself.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { writeTestConfig } from '../support/config.js';
import { runCli } from '../support/relay-process.js';

const pki = inject('pkiG4');
const SECRET = 'Zomer2026-letterlijk';

function weakConfig(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vr-weak-'));
  return writeTestConfig({ pki, dir, overrides: { smtp: { user: 'relay', password: SECRET, requireTLS: false, allowPlaintext: true } } });
}

describe('warnings about weak settings', () => {
  it('check-config names a literal smtp.password and plain-text SMTP on stderr, and exits 0', async () => {
    const file = weakConfig();
    const result = await runCli(['check-config', '--config', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('configuration valid');
    expect(result.stderr).toContain(`${file}: warning: smtp.password: a literal secret in the configuration file`);
    expect(result.stderr).toContain(`${file}: warning: smtp.allowPlaintext: true with smtp.requireTLS: false`);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('once logs a config.warning line per weak setting at start, with the key path', async () => {
    const file = weakConfig();
    const result = await runCli(['once', '--config', file], { timeoutMs: 60_000 });
    const warnings = result.logs.filter((l) => l.event === 'config.warning');
    expect(warnings.map((l) => [l.level, l.key])).toEqual([
      ['warn', 'smtp.password'],
      ['warn', 'smtp.allowPlaintext'],
    ]);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});
