/** The quick start's second command, as a new user runs it. */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, runNode } from '../support/relay-process.js';

describe('npm run demo', () => {
  it('exits 0, mails all four instances, and says where the files are', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-demo-'));
    // What `npm run demo -- --dir DIR` runs.
    const result = await runNode([path.join(REPO, 'build', 'tools', 'demo', 'main.js'), '--dir', dir], { timeoutMs: 120_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const instance of ['leerplicht', 'rmc', 'handhaving', 'zorg']) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${instance} \\(.*\\)\\s+Nieuw \\d+`, 'm'));
    }
    expect(result.stdout).toContain('audit log intact');
    const mails = readdirSync(path.join(dir, 'mail')).filter((f) => f.endsWith('.eml'));
    expect(mails.length).toBeGreaterThan(10);
    expect(result.stdout).toContain(`${mails.length} .eml files`);
  }, 150_000);

  it('runs as the demo command of the CLI in a checkout', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verzuim-relay-demo-'));
    const result = await runCli(['demo', '--dir', dir], { timeoutMs: 120_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('audit log intact');
  }, 150_000);
});
